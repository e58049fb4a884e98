// Paravirtualized guests on a Xen dom0. Memory and vCPUs change live up to maxMemory / maxVcpus.
import * as pulumi from "@pulumi/pulumi";
import { Guest, Host, Hypervisor } from "pulumi-virt";

interface HostConfig { address: string; port?: number; user?: string; hostKey: string }
interface GuestImage { kernel: string; initrd: string; baseImage?: string }

const cfg = new pulumi.Config();
const h = cfg.requireObject<HostConfig>("host");
const image = cfg.requireObject<GuestImage>("guestImage");
const host = new Host("dom0", { connection: { host: h.address, port: h.port ?? 22, user: h.user ?? "root", privateKey: cfg.requireSecret("privateKey"), hostKey: h.hostKey } });
// `reachable`: a disk-backed guest on dom0's bridge you can SSH into (its image reads NoCloud: pulumi-virt gives it a
// seed disk with the host key it generated, so the `connection` output is pinned, not trusted on first use).
const reachable = cfg.getBoolean("reachable") ?? false;
const xen = new Hypervisor("xen", reachable ? { host, kind: "xen", bridge: "xenbr0", storageDir: cfg.require("storageDir") } : { host, kind: "xen" });

const pv = new Guest("pv", {
  hypervisor: xen,
  name: cfg.get("guestName") ?? "pv1",
  virtualization: "para",
  vcpus: cfg.getNumber("vcpus") ?? 1,
  maxVcpus: 2,
  memory: cfg.get("memory") ?? "128MiB",
  maxMemory: cfg.get("maxMemory") ?? "256MiB",
  boot: { kernel: image.kernel, initrd: image.initrd, cmdline: "console=hvc0" },
  allowRestart: cfg.getBoolean("allowRestart") ?? false,
  ...(reachable
    ? { rootDisk: { baseImage: image.baseImage! }, nics: [{ bridge: "xenbr0" }], imageCloudInit: true, waitFor: { ssh: true, timeoutSec: 600 } }
    : {}),
});

export const xenVersion = xen.version;
export const guest = { name: pv.name, observed: pv.observed, plannedAction: pv.plannedAction, plannedChanges: pv.plannedChanges, lastApplied: pv.lastApplied };
// Secret: it holds the login key. `pulumi stack output --show-secrets reach` prints it.
export const reach = reachable ? { addresses: pv.addresses, connection: pv.connection } : undefined;
