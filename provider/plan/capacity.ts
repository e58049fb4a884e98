// Capacity at preview (pure: no I/O). What a host has promised (every machine on it, managed or not), the
// program's machines on top, against the host's capacity × the Hypervisor's overcommit.
import type { HypervisorKind, Overcommit } from "../models/hypervisor";
import type { MachineState } from "../models/state";

export const RESOURCES = ["cpu", "memory", "disk"] as const;
export type CapacityResource = (typeof RESOURCES)[number];

/** A disk as the capacity check sees it: its size, and the filesystem (device number) holding its file. */
export interface DiskAllocation {
  sizeMiB: number;
  /** Device number of the filesystem (stat %d); a disk of the program not created yet has `dir` instead. */
  device?: string;
  dir?: string;
}

/** One machine on a host (or planned for it), whoever made it. */
export interface MachineAllocation {
  kind: HypervisorKind;
  name: string;
  /** pulumi-virt manages it (any stack); false: made by hand or by another tool. */
  managed: boolean;
  /** Made or changed by the program being previewed. */
  planned?: boolean;
  cpus: number;
  memoryMiB: number;
  disks: DiskAllocation[];
}

/** What one read of a host reports. */
export interface HostAllocations {
  /** CPUs and memory of the host; a Xen dom0 reports the machine's, not dom0's share. */
  capacity: { cpus: number; memoryMiB: number };
  /** Storage directories asked for → the filesystem they are on. */
  storage: Record<string, { device: string; sizeMiB: number }>;
  machines: MachineAllocation[];
}

export interface Amounts {
  cpus: number;
  memoryMiB: number;
  diskMiB: number;
}

const MiB = 1024 * 1024;

/** Bytes (as a host prints them) → MiB, rounded up: a promise is never made smaller than it is. */
export function bytesToMiB(bytes: number): number {
  return Math.ceil(bytes / MiB);
}

/** The allocation a machine's desired state asks for. */
export function demandOf(s: MachineState): Pick<MachineAllocation, "cpus" | "memoryMiB"> & { disksMiB: number[] } {
  if ("vcpus" in s) {
    const disks = [...(s.rootDisk?.size !== undefined ? [s.rootDisk.size] : []), ...(s.dataDisks ?? []).map((d) => d.size)];
    return { cpus: s.vcpus, memoryMiB: s.memory, disksMiB: disks };
  }
  // A container's CPU figure is its cap: a CPU count, else its quota; without either it promises no CPU.
  const cpus = s.cpus ?? (s.cpuQuotaPercent !== undefined ? s.cpuQuotaPercent / 100 : 0);
  return { cpus, memoryMiB: s.memory, disksMiB: s.disk ? [s.disk.size] : [] };
}

/** The resources a change asks more of than before (all it asks for on a create). */
export function grownResources(old: MachineState | undefined, next: MachineState): CapacityResource[] {
  const n = demandOf(next);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  if (!old) return RESOURCES.filter((r) => (r === "cpu" ? n.cpus : r === "memory" ? n.memoryMiB : sum(n.disksMiB)) > 0);
  const o = demandOf(old);
  const out: CapacityResource[] = [];
  if (n.cpus > o.cpus) out.push("cpu");
  if (n.memoryMiB > o.memoryMiB) out.push("memory");
  if (sum(n.disksMiB) > sum(o.disksMiB) || n.disksMiB.some((d, i) => d > (o.disksMiB[i] ?? 0))) out.push("disk");
  return out;
}

/** The machine as the program wants it, for the host's ledger. */
export function plannedAllocation(kind: HypervisorKind, s: MachineState, storageDir: string): MachineAllocation {
  const d = demandOf(s);
  return { kind, name: s.name, managed: true, planned: true, cpus: d.cpus, memoryMiB: d.memoryMiB, disks: d.disksMiB.map((sizeMiB) => ({ sizeMiB, dir: storageDir })) };
}

/** One machine per kind and name: the program's version of a machine replaces what the host reported of it. */
export function machineKey(m: Pick<MachineAllocation, "kind" | "name">): string {
  // Xen and libvirt domain names and LXC container names are separate namespaces.
  return `${m.kind}/${m.name}`;
}

export function merged(host: MachineAllocation[], planned: Iterable<MachineAllocation>): MachineAllocation[] {
  const byKey = new Map<string, MachineAllocation>();
  for (const m of host) byKey.set(machineKey(m), m);
  for (const m of planned) byKey.set(machineKey(m), m);
  return [...byKey.values()];
}

function diskMiBOn(m: MachineAllocation, device: string | undefined, storage: HostAllocations["storage"]): number {
  if (device === undefined) return 0;
  return m.disks.filter((d) => (d.device ?? (d.dir !== undefined ? storage[d.dir]?.device : undefined)) === device).reduce((a, d) => a + d.sizeMiB, 0);
}

function amountOf(m: MachineAllocation, r: CapacityResource, device: string | undefined, storage: HostAllocations["storage"]): number {
  return r === "cpu" ? m.cpus : r === "memory" ? m.memoryMiB : diskMiBOn(m, device, storage);
}

/** Committed amounts of every machine on the host; disk counts the filesystem of `storageDir`. */
export function committedOf(machines: MachineAllocation[], host: HostAllocations, storageDir: string): Amounts {
  const device = host.storage[storageDir]?.device;
  const sum = (r: CapacityResource) => machines.reduce((a, m) => a + amountOf(m, r, device, host.storage), 0);
  return { cpus: round(sum("cpu")), memoryMiB: sum("memory"), diskMiB: sum("disk") };
}

export function capacityOf(host: HostAllocations, storageDir: string): Amounts {
  return { cpus: host.capacity.cpus, memoryMiB: host.capacity.memoryMiB, diskMiB: host.storage[storageDir]?.sizeMiB ?? 0 };
}

/** Capacity × overcommit: what may be promised. */
export function limitOf(capacity: Amounts, overcommit: Overcommit): Amounts {
  return {
    cpus: round(capacity.cpus * overcommit.cpu),
    memoryMiB: Math.floor(capacity.memoryMiB * overcommit.memory),
    diskMiB: Math.floor(capacity.diskMiB * overcommit.disk),
  };
}

/** What is left to promise (negative: overcommitted beyond the policy). */
export function freeOf(limit: Amounts, committed: Amounts): Amounts {
  return { cpus: round(limit.cpus - committed.cpus), memoryMiB: limit.memoryMiB - committed.memoryMiB, diskMiB: limit.diskMiB - committed.diskMiB };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Above this share of the limit a change passes with a warning. */
export const WARN_SHARE = 0.9;

export interface CapacityFinding {
  resource: CapacityResource;
  severity: "error" | "warning";
  message: string;
}

export interface CapacityQuestion {
  hostname: string;
  host: HostAllocations;
  /** The program's machines planned on this host so far (this run), including the one being checked. */
  planned: MachineAllocation[];
  /** The Hypervisor of the machine being checked: its overcommit and storage directory. */
  overcommit: Overcommit;
  storageDir: string;
  /** Only the resources the checked change grows can fail it. */
  grown: CapacityResource[];
}

const UNIT: Record<CapacityResource, string> = { cpu: "CPUs", memory: "memory", disk: "disk" };
const RATIO_KEY: Record<CapacityResource, keyof Overcommit> = { cpu: "cpu", memory: "memory", disk: "disk" };

export function showAmount(r: CapacityResource, v: number): string {
  if (r === "cpu") return `${round(v)} CPU${v === 1 ? "" : "s"}`;
  return Math.abs(v) >= 1024 ? `${round(v / 1024)} GiB (${v} MiB)` : `${v} MiB`;
}

function describeMachine(m: MachineAllocation, r: CapacityResource, amount: number): string {
  const noun = m.kind === "lxc" ? "container" : "guest";
  const who = m.planned ? "this program" : m.managed ? "pulumi-virt" : "not managed by pulumi-virt";
  return `${noun} "${m.name}" (${m.kind}, ${showAmount(r, amount)}, ${who})`;
}

/** Failures (over the limit) and warnings (past WARN_SHARE of it) for the grown resources, with the biggest consumers. */
export function assessCapacity(q: CapacityQuestion): CapacityFinding[] {
  const machines = merged(q.host.machines, q.planned);
  const capacity = capacityOf(q.host, q.storageDir);
  const committed = committedOf(machines, q.host, q.storageDir);
  const limit = limitOf(capacity, q.overcommit);
  const device = q.host.storage[q.storageDir]?.device;
  const out: CapacityFinding[] = [];
  for (const r of q.grown) {
    const key = r === "cpu" ? "cpus" : r === "memory" ? "memoryMiB" : "diskMiB";
    // An unknown filesystem size (no storage read) cannot be judged.
    if (r === "disk" && capacity.diskMiB === 0) continue;
    const used = committed[key];
    const max = limit[key];
    if (used <= max * WARN_SHARE) continue;
    const plannedSum = q.planned.reduce((a, m) => a + amountOf(m, r, device, q.host.storage), 0);
    const consumers = machines
      .map((m) => ({ m, amount: amountOf(m, r, device, q.host.storage) }))
      .filter((x) => x.amount > 0)
      .sort((a, b) => b.amount - a.amount)
      .slice(0, 5)
      .map((x) => describeMachine(x.m, r, x.amount));
    const ratio = q.overcommit[RATIO_KEY[r]];
    const numbers =
      `${showAmount(r, used)} committed (${showAmount(r, round(used - plannedSum))} by other machines on the host + ` +
      `${showAmount(r, round(plannedSum))} by this program's machines there) against a limit of ${showAmount(r, max)} ` +
      `(capacity ${showAmount(r, capacity[key])}${r === "disk" ? ` of the filesystem of ${q.storageDir}` : ""} × overcommit.${RATIO_KEY[r]} ${ratio})`;
    const biggest = `biggest consumers: ${consumers.join(", ")}`;
    if (used > max) {
      out.push({
        resource: r,
        severity: "error",
        message:
          `host "${q.hostname}" cannot hold this: ${UNIT[r]} ${numbers}; ${biggest}. Lower the size, place the machine ` +
          `on another host, remove machines there, or raise overcommit.${RATIO_KEY[r]} on the Hypervisor.`,
      });
    } else {
      out.push({ resource: r, severity: "warning", message: `host "${q.hostname}" is near its ${UNIT[r]} limit: ${numbers}; ${biggest}.` });
    }
  }
  return out;
}
