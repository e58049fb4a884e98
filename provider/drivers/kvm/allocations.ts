// Every libvirt domain on the host with its vCPUs, memory and disks, for the capacity check (scripts/allocations.sh).
import type { AllocationReader, KindAllocations } from "../contract";
import { bytesToMiB, type MachineAllocation } from "../../plan/capacity";
import { shellScript } from "../shell";
import { META_NS } from "./paths";

/** Parses scripts/allocations.sh: "@dom NAME", then managed / info KEY VALUE (virsh dominfo) / disk BYTES DEVICE. */
export function parseKvmAllocations(out: string): MachineAllocation[] {
  const machines: MachineAllocation[] = [];
  let cur: MachineAllocation | undefined;
  for (const line of out.split("\n")) {
    const [tag, a, b] = line.split("\t");
    if (tag === "@dom") machines.push((cur = { kind: "kvm", name: a, managed: false, cpus: 0, memoryMiB: 0, disks: [] }));
    else if (!cur) continue;
    else if (tag === "managed") cur.managed = true;
    else if (tag === "info" && a === "CPU(s)") cur.cpus = Number(b) || 0;
    // "Used memory: 524288 KiB": the current size (for a stopped domain, the size it starts with).
    else if (tag === "info" && a === "Used memory") cur.memoryMiB = Math.ceil((Number((b ?? "").split(" ")[0]) || 0) / 1024);
    else if (tag === "disk" && /^\d+$/.test(a ?? "")) cur.disks.push({ sizeMiB: bytesToMiB(Number(a)), device: b });
  }
  return machines;
}

export const kvmAllocations: AllocationReader = {
  kind: "kvm",
  async read(remote, opts): Promise<KindAllocations> {
    const r = await remote.script(shellScript("kvm", "allocations.sh"), [META_NS], { step: "read the libvirt domains' sizes", ...opts });
    return { machines: parseKvmAllocations(r.stdout) };
  },
};
