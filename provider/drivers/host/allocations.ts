// What a host has promised to machines, for the capacity check: every kind's machines (lxc containers, libvirt
// domains, Xen domains; managed by pulumi-virt or not) and the filesystems of the storage directories, read in
// ONE round trip (the scripts are read-only and travel together: ExecOptions.coalesce).
import type { HostFacts } from "../../models/host";
import type { HostAllocations } from "../../plan/capacity";
import type { Remote } from "../../ssh/types";
import { allocationReaders } from "../registry";
import { shellScript } from "../shell";

/** How long the parts wait for each other: they are all sent in the same tick. */
const TOGETHER_MS = 5;

/** Parses scripts/storage.sh: "dir<TAB>device<TAB>bytes" per directory. */
export function parseStorage(out: string): HostAllocations["storage"] {
  const storage: HostAllocations["storage"] = {};
  for (const line of out.split("\n")) {
    const [dir, device, bytes] = line.split("\t");
    if (dir && device && /^\d+$/.test(bytes ?? "")) storage[dir] = { device, sizeMiB: Math.floor(Number(bytes) / (1024 * 1024)) };
  }
  return storage;
}

/** One read of the host. Capacity is the Host's facts (nproc, MemTotal), or what a Xen dom0 reports for the machine. */
export async function readHostAllocations(
  remote: Remote,
  facts: Pick<HostFacts, "cpus" | "memoryMiB">,
  storageDirs: string[],
  { refresh = false }: { refresh?: boolean } = {},
): Promise<HostAllocations> {
  // A refresh read (remote wrapped by forRefresh) waits longer, to share the host's refresh round trip.
  const opts = refresh ? { coalesce: true } : { coalesce: true, coalesceIdleMs: TOGETHER_MS };
  const [storage, ...kinds] = await Promise.all([
    remote.script(shellScript("host", "storage.sh"), storageDirs, { step: "read the storage filesystems", ...opts }).then((r) => parseStorage(r.stdout)),
    ...allocationReaders().map((reader) => reader.read(remote, opts)),
  ]);
  const capacity = kinds.find((k) => k.capacity)?.capacity ?? { cpus: facts.cpus, memoryMiB: facts.memoryMiB };
  return { capacity, storage, machines: kinds.flatMap((k) => k.machines) };
}

/** Reads cached for this process (one engine run): one round trip per host and storage directory set. */
const cache = new Map<string, Promise<HostAllocations>>();

export function cachedHostAllocations(hostKey: string, remote: Remote, facts: Pick<HostFacts, "cpus" | "memoryMiB">, storageDirs: string[]): Promise<HostAllocations> {
  const key = `${hostKey}\n${[...storageDirs].sort().join("\n")}`;
  let p = cache.get(key);
  if (!p) {
    p = readHostAllocations(remote, facts, storageDirs);
    // A failed read is not kept: the next check asks again.
    p.catch(() => cache.get(key) === p && cache.delete(key));
    cache.set(key, p);
  }
  return p;
}
