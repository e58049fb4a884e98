// Every container on the host with the limits of its config, for the capacity check (scripts/allocations.sh).
import type { AllocationReader, KindAllocations } from "../contract";
import { bytesToMiB, type MachineAllocation } from "../../plan/capacity";
import { shellScript } from "../shell";
import { parseCpuList } from "./config";

/** A cgroup byte value as LXC configs hold it ("536870912", "512M", "1G"); unlimited ("max", -1) is undefined. */
export function cgroupBytes(v: string): number | undefined {
  const m = /^(\d+)\s*([kKmMgGtT]?)[bB]?$/.exec(v.trim());
  if (!m) return undefined;
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as "" | "k" | "m" | "g" | "t"];
  const bytes = Number(m[1]) * mult;
  // cgroup v1 prints "no limit" as a page-rounded LONG_MAX.
  return bytes >= 2 ** 62 ? undefined : bytes;
}

/** How many CPUs a cpuset list names ("0-3,6" → 5); an unreadable list promises none. */
export function cpusetCount(v: string): number {
  try {
    return parseCpuList(v).length;
  } catch {
    return 0;
  }
}

function limitsOf(cfg: Map<string, string>): { cpus: number; memoryMiB: number } {
  const mem = cgroupBytes(cfg.get("lxc.cgroup.memory.limit_in_bytes") ?? cfg.get("lxc.cgroup2.memory.max") ?? "max");
  const cpuset = cfg.get("lxc.cgroup.cpuset.cpus") ?? cfg.get("lxc.cgroup2.cpuset.cpus");
  let cpus = cpuset ? cpusetCount(cpuset) : 0;
  if (!cpus) {
    const v1 = [cfg.get("lxc.cgroup.cpu.cfs_quota_us"), cfg.get("lxc.cgroup.cpu.cfs_period_us")];
    const [quota, period] = v1[0] !== undefined ? v1 : (cfg.get("lxc.cgroup2.cpu.max") ?? "").split(/\s+/);
    const q = Number(quota);
    const p = Number(period || 100000);
    if (Number.isFinite(q) && q > 0 && p > 0) cpus = Math.round((q / p) * 100) / 100;
  }
  return { cpus, memoryMiB: mem === undefined ? 0 : bytesToMiB(mem) };
}

/** Parses scripts/allocations.sh: "@ct NAME", then managed / cfg KEY = VALUE / disk BYTES DEVICE lines. */
export function parseLxcAllocations(out: string): MachineAllocation[] {
  const machines: MachineAllocation[] = [];
  let cur: { m: MachineAllocation; cfg: Map<string, string> } | undefined;
  const done = () => cur && machines.push({ ...cur.m, ...limitsOf(cur.cfg) });
  for (const line of out.split("\n")) {
    const [tag, ...rest] = line.split("\t");
    if (tag === "@ct") {
      done();
      cur = { m: { kind: "lxc", name: rest[0], managed: false, cpus: 0, memoryMiB: 0, disks: [] }, cfg: new Map() };
    } else if (!cur) continue;
    else if (tag === "managed") cur.m.managed = true;
    else if (tag === "cfg") {
      const eq = rest.join("\t").indexOf("=");
      if (eq > 0) cur.cfg.set(rest.join("\t").slice(0, eq).trim(), rest.join("\t").slice(eq + 1).trim());
    } else if (tag === "disk" && /^\d+$/.test(rest[0] ?? "")) cur.m.disks.push({ sizeMiB: bytesToMiB(Number(rest[0])), device: rest[1] });
  }
  done();
  return machines;
}

export const lxcAllocations: AllocationReader = {
  kind: "lxc",
  async read(remote, opts): Promise<KindAllocations> {
    const r = await remote.script(shellScript("lxc", "allocations.sh"), [], { step: "read the containers' limits", ...opts });
    return { machines: parseLxcAllocations(r.stdout) };
  },
};
