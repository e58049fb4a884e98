// The hosts stack of a fleet split into stacks: it owns the Hosts and their lxc Hypervisors and exports each
// Hypervisor's `ref` (a plain object: kind, bridge, storage dir, host connection and facts). Site stacks take those
// refs through a StackReference and put their machines on them. It changes rarely (a host added or retired), so
// site stacks can run `up` in parallel without touching it.
import * as pulumi from "@pulumi/pulumi";
import { Host, Hypervisor, HypervisorRef } from "pulumi-virt";

interface HostConfig { name: string; address: string; port?: number; user?: string; hostKey: string; bridge?: string }

const cfg = new pulumi.Config();
const hosts = cfg.requireObject<HostConfig[]>("hosts");
const privateKey = cfg.requireSecret("privateKey");

const refs: Record<string, pulumi.Output<HypervisorRef>> = {};
for (const h of hosts) {
  const host = new Host(h.name, { connection: { host: h.address, port: h.port ?? 22, user: h.user ?? "root", privateKey, hostKey: h.hostKey } });
  refs[h.name] = new Hypervisor(`${h.name}-lxc`, { host, kind: "lxc", bridge: h.bridge ?? "pvbr0" }).ref;
}

/** host name -> lxc HypervisorRef. Secret: a ref carries the host's connection (and so the private key). */
export const hypervisors = pulumi.secret(pulumi.all(refs));
/** Not secret: which hosts exist, for humans and CI. */
export const hostNames = hosts.map((h) => h.name);
