// @pulumi/command interop: remote.Command runs inside a pulumi-virt Container over the container's `connection`
// output: the address the container got from the bridge's DHCP server (or a static one, config `address`), reached
// with its host as the SSH proxy, pinned to the SSH host key pulumi-virt generated and installed into the container.
// Needs:
// - the pulumi-resource-command plugin (`pulumi plugin install resource command 1.2.1`);
// - a container with an SSH server. ssh-rootfs.sh (next to this file) builds a minimal rootfs tarball from the
//   host's own busybox-static and openssh-server: copy it to the host, run
//   `sh ssh-rootfs.sh /var/lib/lxc/ssh-rootfs.tar < /dev/null` there, then `pulumi config set rootfs /var/lib/lxc/ssh-rootfs.tar`;
// - without `address`: a DHCP server on the bridge.
// With config `guestImage` ({kernel, initrd, baseImage} on the host, an image that reads NoCloud and runs an SSH
// server), a KVM Guest on the same bridge gets a remote.Command too, over its own pinned `connection`.
import * as pulumi from "@pulumi/pulumi";
import { remote, types } from "@pulumi/command";
import { Container, Guest, Host, Hypervisor } from "pulumi-virt";

interface HostConfig {
  address: string;
  port?: number;
  user?: string;
  hostKey: string;
  bridge?: string;
  guestSubnet?: string;
}

const cfg = new pulumi.Config();
const hostCfg = cfg.requireObject<HostConfig>("host");
const privateKey = cfg.requireSecret("privateKey");
// A static address (e.g. "10.77.101.20/24", gateway: the subnet's first address), or none: DHCP.
const address = cfg.get("address");
const [base] = (hostCfg.guestSubnet ?? "10.77.101.0/24").split("/");
const octets = base.split(".").map(Number);
const gateway = `${octets[0]}.${octets[1]}.${octets[2]}.${octets[3] + 1}`;

const host = new Host("host", {
  connection: { host: hostCfg.address, port: hostCfg.port ?? 22, user: hostCfg.user ?? "root", privateKey, hostKey: hostCfg.hostKey },
});
const lxc = new Hypervisor("lxc", { host, kind: "lxc", bridge: hostCfg.bridge ?? "pvbr0" });
const box = new Container("box", {
  hypervisor: lxc,
  name: cfg.get("containerName") ?? "cmd-box",
  template: cfg.require("rootfs"),
  memory: "64MiB",
  network: address ? { address, gateway } : {},
  // up returns once the container answers SSH with the pinned host key: remote.Command can run right away.
  waitFor: { ssh: true, timeoutSec: 120 },
  // busybox init has no graceful halt for LXC's default signal: do not wait long for one.
  stopTimeoutSec: 2,
});

// The connection output is shaped like remote.Connection (and secret: it carries the key), but typed as a plain
// record, so it is named here as what remote.Command takes. It exists once the container has an address.
const connection = box.connection.apply((c) => {
  if (!c) throw new Error("container box has no connection: it has no address (no DHCP lease, no static network.address)");
  return c as unknown as types.input.remote.ConnectionArgs;
});
const hello = new remote.Command("hello", {
  connection,
  create: cfg.get("command") ?? "hostname",
  // Runs on destroy, inside the container, before pulumi-virt removes it.
  delete: "true",
});

export const containerName = box.name;
export const addresses = box.addresses;
export const stdout = hello.stdout;

const guestImage = cfg.getObject<{ kernel: string; initrd: string; baseImage: string }>("guestImage");
let guestStdout: pulumi.Output<string> | undefined;
let guestAddresses: pulumi.Output<unknown> | undefined;
if (guestImage) {
  const kvm = new Hypervisor("kvm", { host, kind: "kvm", bridge: hostCfg.bridge ?? "pvbr0", allowEmulation: true });
  const vm = new Guest("vm", {
    hypervisor: kvm,
    name: cfg.get("guestName") ?? "cmd-vm",
    virtualization: "full",
    vcpus: 1,
    memory: "192MiB",
    boot: { kernel: guestImage.kernel, initrd: guestImage.initrd, cmdline: "console=ttyS0 quiet" },
    rootDisk: { baseImage: guestImage.baseImage },
    nics: [{ bridge: hostCfg.bridge ?? "pvbr0" }],
    // The image reads NoCloud: pulumi-virt's seed gives it the SSH host key the connection is pinned to.
    imageCloudInit: true,
    waitFor: { ssh: true, timeoutSec: 300 },
    shutdownTimeoutSec: 5,
  });
  const inVm = new remote.Command("in-vm", {
    connection: vm.connection.apply((c) => {
      if (!c) throw new Error("guest vm has no connection: no address or no pinned host key");
      return c as unknown as types.input.remote.ConnectionArgs;
    }),
    create: cfg.get("guestCommand") ?? "hostname",
    delete: "true",
  });
  guestStdout = inVm.stdout;
  guestAddresses = vm.addresses;
}
export const vmStdout = guestStdout;
export const vmAddresses = guestAddresses;
