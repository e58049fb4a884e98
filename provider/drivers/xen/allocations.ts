// Every Xen domain with its vCPUs and memory (and the disks of those pulumi-virt configured), plus the machine's
// real capacity, for the capacity check (scripts/allocations.sh).
import type { AllocationReader, KindAllocations } from "../contract";
import { bytesToMiB, type MachineAllocation } from "../../plan/capacity";
import { shellScript } from "../shell";
import { DEFAULT_CONFIG_DIR } from "./paths";

/**
 * Parses scripts/allocations.sh: "host KEY VALUE" (xl info), "@dom NAME" (running, xl list: info mem/vcpus) and
 * "@cfg NAME" (pulumi-virt's configs: managed, info memory/vcpus, disk BYTES DEVICE). A configured domain that also
 * runs takes its live sizes from xl list and its disks from its config.
 */
export function parseXenAllocations(out: string): KindAllocations {
  const running = new Map<string, MachineAllocation>();
  const configured = new Map<string, MachineAllocation>();
  let cpus = 0;
  let memoryMiB = 0;
  let cur: MachineAllocation | undefined;
  for (const line of out.split("\n")) {
    const [tag, a, b] = line.split("\t");
    const n = Number(b);
    if (tag === "host" && a === "nr_cpus") cpus = n || 0;
    else if (tag === "host" && a === "total_memory") memoryMiB = n || 0;
    else if (tag === "@dom" || tag === "@cfg") {
      cur = { kind: "xen", name: a, managed: false, cpus: 0, memoryMiB: 0, disks: [] };
      (tag === "@dom" ? running : configured).set(a, cur);
    } else if (!cur) continue;
    else if (tag === "managed") cur.managed = true;
    else if (tag === "info" && (a === "mem" || a === "memory")) cur.memoryMiB = n || 0;
    else if (tag === "info" && a === "vcpus") cur.cpus = n || 0;
    else if (tag === "disk" && /^\d+$/.test(a ?? "")) cur.disks.push({ sizeMiB: bytesToMiB(Number(a)), device: b });
  }
  const machines = [...running.values()].map((m) => {
    const c = configured.get(m.name);
    return c ? { ...m, managed: c.managed, disks: c.disks } : m;
  });
  for (const [name, c] of configured) if (!running.has(name)) machines.push(c);
  return { machines, ...(cpus && memoryMiB ? { capacity: { cpus, memoryMiB } } : {}) };
}

export const xenAllocations: AllocationReader = {
  kind: "xen",
  async read(remote, opts): Promise<KindAllocations> {
    const r = await remote.script(shellScript("xen", "allocations.sh"), [DEFAULT_CONFIG_DIR], { step: "read the Xen domains' sizes", ...opts });
    return parseXenAllocations(r.stdout);
  },
};
