// Quickstart: one host, its LXC hypervisor, and a container whose CPU, memory and disk change live.
//   pulumi config set --path 'size.memory' 512MiB && pulumi preview   # shows: memory live (cgroup memory limit)
import * as pulumi from "@pulumi/pulumi";
import { Container, Host, Hypervisor } from "pulumi-virt";

interface HostConfig {
  address: string;
  port?: number;
  user?: string;
  hostKey: string;
  bridge?: string;
  guestSubnet?: string;
}
interface SizeConfig {
  cpus?: number;
  memory?: string | number;
  disk?: string | number;
}

const cfg = new pulumi.Config();
const hostCfg = cfg.requireObject<HostConfig>("host");
const size = cfg.getObject<SizeConfig>("size") ?? {};
const privateKey = cfg.requireSecret("privateKey");
const name = cfg.get("containerName") ?? "web";
// The container's static address: first usable address + 9 in the host's guest subnet (10.77.101.10 on lab h1).
const subnet = hostCfg.guestSubnet ?? "10.77.101.0/24";
const [base, prefix] = subnet.split("/");
const octets = base.split(".").map(Number);
const address = `${octets[0]}.${octets[1]}.${octets[2]}.${octets[3] + 10}/${prefix}`;
const gateway = `${octets[0]}.${octets[1]}.${octets[2]}.${octets[3] + 1}`;

const host = new Host("host", {
  connection: { host: hostCfg.address, port: hostCfg.port ?? 22, user: hostCfg.user ?? "root", privateKey, hostKey: hostCfg.hostKey },
});

const lxc = new Hypervisor("lxc", { host, kind: "lxc", bridge: hostCfg.bridge ?? "pvbr0" });

const web = new Container("web", {
  hypervisor: lxc,
  name,
  template: "busybox",
  cpus: size.cpus ?? 1,
  memory: size.memory ?? "256MiB",
  disk: { size: size.disk ?? "300MiB", fstype: "xfs" },
  network: { address, gateway },
  allowRestart: cfg.getBoolean("allowRestart") ?? false,
});

export const hostFacts = host.facts;
export const hypervisor = { version: lxc.version, capabilities: lxc.capabilities };
export const container = {
  name: web.name,
  plannedAction: web.plannedAction,
  plannedChanges: web.plannedChanges,
  lastApplied: web.lastApplied,
  observed: web.observed,
};
