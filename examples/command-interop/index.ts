// @pulumi/command interop: remote.Command runs inside a pulumi-virt Container over the container's `connection`
// output, which reaches the container's static address with its host as the SSH proxy.
// Needs:
// - the pulumi-resource-command plugin (`pulumi plugin install resource command 1.2.1`);
// - a container with an SSH server that accepts the host's key for root. ssh-rootfs.sh (next to this file) builds a
//   minimal rootfs tarball from the host's own busybox-static and openssh-server: copy it to the host, run
//   `sh ssh-rootfs.sh /var/lib/lxc/ssh-rootfs.tar < key.pub` there, then `pulumi config set rootfs /var/lib/lxc/ssh-rootfs.tar`.
import * as pulumi from "@pulumi/pulumi";
import { remote, types } from "@pulumi/command";
import { Container, Host, Hypervisor } from "pulumi-virt";

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
// The container's static address: the connection output exists only for a container that has one.
// Default: first usable address + 19 in the host's guest subnet (10.77.101.20 on lab host h1).
const [base, prefix] = (hostCfg.guestSubnet ?? "10.77.101.0/24").split("/");
const octets = base.split(".").map(Number);
const address = cfg.get("address") ?? `${octets[0]}.${octets[1]}.${octets[2]}.${octets[3] + 20}/${prefix}`;
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
  network: { address, gateway },
  // busybox init has no graceful halt for LXC's default signal: do not wait long for one.
  stopTimeoutSec: 2,
});

// The connection output is shaped like remote.Connection (and secret: it carries the key), but typed as a plain
// record, so it is named here as what remote.Command takes. It exists only for a container with a static address.
const connection = box.connection.apply((c) => {
  if (!c) throw new Error("container box has no connection: give it a static network.address");
  return c as unknown as types.input.remote.ConnectionArgs;
});
const hello = new remote.Command("hello", {
  connection,
  create: cfg.get("command") ?? "hostname",
  // Runs on destroy, inside the container, before pulumi-virt removes it.
  delete: "true",
});

export const containerName = box.name;
export const stdout = hello.stdout;
