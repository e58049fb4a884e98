// A site stack of a fleet split into stacks: containers on the hosts this site owns, placed on Hypervisors the
// hosts stack exports. One project, one stack per site (`pulumi stack init site-a`, `site-b`, ...), each with its
// own state, lock and `up`, so sites deploy in parallel (CI jobs, or the Automation API) and a change to one site
// never plans the others. Container names carry the site, so two sites can share a host.
import * as pulumi from "@pulumi/pulumi";
import { Container, HypervisorRef } from "pulumi-virt";

const cfg = new pulumi.Config();
/** e.g. "organization/pulumi-virt-fleet-hosts/lab" (same backend as this stack). */
const hostsStack = new pulumi.StackReference(cfg.require("hostsStack"));
/** Hosts of the hosts stack this site puts machines on. */
const siteHosts = cfg.requireObject<string[]>("hosts");
const perHost = cfg.getNumber("containersPerHost") ?? 2;
const memory = cfg.get("memory") ?? "64MiB";
const site = cfg.get("site") ?? pulumi.getStack();

const hypervisors = hostsStack.requireOutput("hypervisors") as pulumi.Output<Record<string, HypervisorRef>>;

export const containers: pulumi.Output<string>[] = [];
for (const hostName of siteHosts) {
  const hypervisor = hypervisors.apply((m) => {
    const ref = m[hostName];
    if (!ref) throw new Error(`the hosts stack has no host "${hostName}" (it has: ${Object.keys(m).join(", ")})`);
    return ref;
  });
  for (let i = 0; i < perHost; i++) {
    const c = new Container(`${hostName}-app-${i}`, { hypervisor, name: `${site}-${hostName}-app-${i}`, memory, cpus: 1 });
    containers.push(c.name);
  }
}
