// A fleet driven by stack config: every host gets an lxc Hypervisor and a container; the first host also runs a
// full-virtualization guest on kvm. On hosts without VT-x/AMD-V the kvm Hypervisor needs allowEmulation (config).
import * as pulumi from "@pulumi/pulumi";
import { Container, Guest, Host, Hypervisor } from "pulumi-virt";

interface HostConfig { name: string; address: string; port?: number; user?: string; hostKey: string; bridge?: string; guestSubnet?: string }
interface GuestImage { kernel: string; initrd: string; baseImage: string }

const cfg = new pulumi.Config();
const hosts = cfg.requireObject<HostConfig[]>("hosts");
const privateKey = cfg.requireSecret("privateKey");
const image = cfg.requireObject<GuestImage>("guestImage");
const containerMemory = cfg.get("containerMemory") ?? "256MiB";
const guestMemory = cfg.get("guestMemory") ?? "256MiB";

const addr = (h: HostConfig, n: number) => {
  const [ip, len] = (h.guestSubnet ?? "10.77.101.0/24").split("/");
  const o = ip.split(".").map(Number);
  return { address: `${o[0]}.${o[1]}.${o[2]}.${o[3] + n}/${len}`, gateway: `${o[0]}.${o[1]}.${o[2]}.${o[3] + 1}` };
};

export const containers: pulumi.Output<string>[] = [];
let first: Host | undefined;
for (const h of hosts) {
  const host = new Host(h.name, { connection: { host: h.address, port: h.port ?? 22, user: h.user ?? "root", privateKey, hostKey: h.hostKey } });
  first = first ?? host;
  const lxc = new Hypervisor(`${h.name}-lxc`, { host, kind: "lxc", bridge: h.bridge ?? "pvbr0" });
  const c = new Container(`${h.name}-app`, { hypervisor: lxc, name: `${cfg.get("prefix") ?? "fleet"}-app`, memory: containerMemory, cpus: 1, network: addr(h, 30) });
  containers.push(c.name);
}

const kvm = new Hypervisor("kvm", { host: first!, kind: "kvm", bridge: hosts[0].bridge ?? "pvbr0", allowEmulation: cfg.getBoolean("allowEmulation") ?? false });
const vm = new Guest("vm", {
  hypervisor: kvm,
  name: `${cfg.get("prefix") ?? "fleet"}-vm`,
  virtualization: "full",
  vcpus: 1,
  maxVcpus: 2,
  memory: guestMemory,
  maxMemory: "512MiB",
  boot: { kernel: image.kernel, initrd: image.initrd, cmdline: "console=ttyS0" },
  rootDisk: { baseImage: image.baseImage },
});

export const guest = { name: vm.name, emulated: vm.emulated, observed: vm.observed, plannedChanges: vm.plannedChanges };
export const kvmEmulated = kvm.emulated;
