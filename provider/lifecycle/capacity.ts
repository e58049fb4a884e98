// Capacity at preview, for the machine lifecycle's check. The engine checks a program's resources one at a time,
// serially, in one provider process per run, so the program's machines are gathered here per host as their checks
// arrive: each check sees the host's machines (read once per run, and only for a host where a machine is created
// or grows) plus every machine of the program checked before it. The arithmetic is plan/capacity.ts.
import { cachedHostAllocations } from "../drivers/host/allocations";
import { effectiveOvercommit, type HypervisorRef } from "../models/hypervisor";
import type { MachineState } from "../models/state";
import { assessCapacity, grownResources, HostAllocations, MachineAllocation, plannedAllocation, machineKey, type CapacityResource } from "../plan/capacity";
import { Failure, hostLabel, remoteFor } from "./support";

/** The input a user edits to lower each resource, per resource. */
const CONTAINER_PROPERTIES: Record<CapacityResource, string> = { cpu: "cpus", memory: "memory", disk: "disk" };
const GUEST_PROPERTIES: Record<CapacityResource, string> = { cpu: "vcpus", memory: "memory", disk: "rootDisk" };

/** How a host's machines are read: the driver's read, once per run per host. */
type HostReader = (hostKey: string, hv: HypervisorRef) => Promise<HostAllocations>;
const readFromHost: HostReader = (hostKey, hv) => cachedHostAllocations(hostKey, remoteFor(hv.host), hv.host.facts, [hv.storageDir]);
let readHost: HostReader = readFromHost;

/** For tests without hosts (the unit tier's fixtures name lab addresses): answer the reads, or undefined to restore. */
export function answerCapacityReadsWith(reader: HostReader | undefined): void {
  readHost = reader ?? readFromHost;
}

/** Host → the program's machines on it, as checked so far in this process. */
const planned = new Map<string, Map<string, MachineAllocation>>();

function hostKeyOf(hv: HypervisorRef): string {
  return `${hv.host.facts.machineId}/${hv.host.facts.hostname}/${hv.host.connection.host}`;
}

/**
 * Records the machine as the program wants it and, when it is new or grows, checks its host. Over the limit:
 * failures naming `properties[resource]`; near it: a warning on the provider's stderr (shown by the engine).
 */
export async function checkCapacity(olds: MachineState | undefined, news: MachineState): Promise<Failure[]> {
  const properties: Record<CapacityResource, string> = "vcpus" in news ? GUEST_PROPERTIES : CONTAINER_PROPERTIES;
  const hv = news.hypervisor;
  const hostKey = hostKeyOf(hv);
  const mine = planned.get(hostKey) ?? new Map<string, MachineAllocation>();
  planned.set(hostKey, mine);
  const alloc = plannedAllocation(hv.kind, news, hv.storageDir);
  mine.set(machineKey(alloc), alloc);
  // A machine that asks for nothing more reads nothing: a no-op preview sends no command.
  // A machine moving to this host asks for all of itself here.
  const grown = grownResources(olds?.hypervisor?.host?.facts && hostKeyOf(olds.hypervisor) === hostKey ? olds : undefined, news);
  if (grown.length === 0) return [];
  let host;
  try {
    host = await readHost(hostKey, hv);
  } catch (e) {
    console.warn(`capacity of ${hostLabel(hv.host)} not checked: its machines could not be read: ${(e as Error).message}`);
    return [];
  }
  const findings = assessCapacity({
    hostname: hv.host.facts.hostname,
    host,
    planned: [...mine.values()],
    overcommit: effectiveOvercommit(hv.kind, hv.overcommit),
    storageDir: hv.storageDir,
    grown,
  });
  for (const f of findings) if (f.severity === "warning") console.warn(`${news.name}: ${f.message}`);
  return findings.filter((f) => f.severity === "error").map((f) => ({ property: properties[f.resource], reason: f.message }));
}
