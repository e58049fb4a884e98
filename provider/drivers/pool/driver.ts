// The storage-pool driver: creates, grows, reads and removes a pool on a host through its scripts. No Pulumi here.
import type { Remote } from "../../ssh/types";
import type { DestroyOutcome } from "../contract";
import { shellScript } from "../shell";

const APPLY = shellScript("pool", "pool-apply.sh");
const READ = shellScript("pool", "pool-read.sh");
const DESTROY = shellScript("pool", "pool-destroy.sh");
const TIMEOUT_MS = 300_000;

export interface PoolSpec {
  type: "dir" | "btrfs" | "xfs";
  path: string;
  /** The image file of a btrfs/xfs pool; undefined for a directory. */
  image?: string;
  sizeMiB?: number;
  token: string;
}

export interface PoolObserved {
  present: boolean;
  mounted: boolean;
  owner: string;
  fstype: string;
  capacityMiB: number;
  freeMiB: number;
  imageMiB: number;
  /** How many entries (disks, images, directories) the pool holds, and the first names. */
  entryCount: number;
  entries: string[];
}

export type PoolOutcome = "created" | "grown" | "mounted" | "unchanged";

export class PoolOwnedElsewhereError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PoolOwnedElsewhereError";
  }
}

export class PoolInUseError extends Error {
  constructor(readonly path: string, readonly entries: string[]) {
    super(`storage pool ${path} still holds ${entries.join(", ")}: it was not deleted. Delete or move what uses it (disks, images, machines) first.`);
    this.name = "PoolInUseError";
  }
}

const MiB = 1048576;

export function parsePoolRead(stdout: string): PoolObserved {
  const o: PoolObserved = { present: false, mounted: false, owner: "", fstype: "", capacityMiB: 0, freeMiB: 0, imageMiB: 0, entryCount: 0, entries: [] };
  for (const line of stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i < 0) continue;
    const v = line.slice(i + 1);
    switch (line.slice(0, i)) {
      case "present": o.present = v === "1"; break;
      case "mounted": o.mounted = v === "1"; break;
      case "owner": o.owner = v; break;
      case "fstype": o.fstype = v; break;
      case "sizeBytes": o.capacityMiB = Math.floor(Number(v) / MiB); break;
      case "freeBytes": o.freeMiB = Math.floor(Number(v) / MiB); break;
      case "imageBytes": o.imageMiB = Math.floor(Number(v) / MiB); break;
      case "entries": o.entryCount = Number(v) || 0; break;
      case "entry": o.entries.push(v); break;
    }
  }
  return o;
}

export async function applyPool(remote: Remote, s: PoolSpec): Promise<{ outcome: PoolOutcome; observed: PoolObserved }> {
  const r = await remote.script(APPLY, [s.type, s.path, s.image ?? "", s.sizeMiB === undefined ? "" : String(s.sizeMiB), s.token], {
    step: `apply storage pool ${s.path}`, timeoutMs: TIMEOUT_MS, okCodes: [0, 3],
  });
  if (r.code === 3) throw new PoolOwnedElsewhereError(r.stderr.trim());
  const m = /^pool=(\w+)$/m.exec(r.stdout);
  return { outcome: (m?.[1] ?? "unchanged") as PoolOutcome, observed: parsePoolRead(r.stdout) };
}

export async function readPool(remote: Remote, path: string, image: string | undefined): Promise<PoolObserved> {
  const r = await remote.script(READ, [path, image ?? ""], { step: `read storage pool ${path}`, timeoutMs: TIMEOUT_MS, coalesce: true });
  return parsePoolRead(r.stdout);
}

export async function destroyPool(remote: Remote, path: string, image: string | undefined, token: string): Promise<DestroyOutcome> {
  const r = await remote.script(DESTROY, [path, image ?? "", token], { step: `delete storage pool ${path}`, timeoutMs: TIMEOUT_MS, okCodes: [0, 3, 4] });
  if (r.code === 3) throw new PoolOwnedElsewhereError(r.stderr.trim());
  if (r.code === 4) throw new PoolInUseError(path, parsePoolRead(r.stdout).entries);
  return r.stdout.trim().endsWith("absent") ? "absent" : "destroyed";
}
