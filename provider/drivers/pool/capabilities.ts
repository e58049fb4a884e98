// The StoragePool's capability table, as data the planner reads (provider/plan).
import { poolPath, type StoragePoolArgs } from "../../models/storage-pool";
import type { CapabilityTable, PlanView } from "../../plan/types";

export const POOL_KEYS = ["type", "path", "sizeMiB", "host", "hostState"] as const;
export type PoolKey = (typeof POOL_KEYS)[number];
export const POOL_INPUT: Record<PoolKey, string> = { type: "type", path: "path", sizeMiB: "size", host: "host", hostState: "(host state)" };

export function poolView(a: StoragePoolArgs & { hostMachineId?: string; hostState?: string }): PlanView<PoolKey> {
  return { type: a.type, path: poolPath(a), sizeMiB: a.size, host: a.hostMachineId, hostState: a.hostState ?? "ok" };
}

export const POOL_CAPABILITIES: CapabilityTable<PoolKey> = {
  type: { change: { action: "replace", reason: "a pool's filesystem is made once: a new, empty pool replaces it (deleting a pool that holds anything is refused)" } },
  path: { change: { action: "replace", reason: "a new, empty pool is made at the new path (deleting a pool that holds anything is refused)" } },
  sizeMiB: {
    grow: { action: "live", mechanism: "the image file grows and the mounted filesystem with it (losetup -c, xfs_growfs / btrfs filesystem resize)" },
    shrink: { action: "refuse", reason: "xfs cannot shrink, and shrinking btrfs under live disks risks them: make a new pool and move the disks" },
  },
  host: { change: { action: "replace", reason: "a pool lives on one host" } },
  hostState: { change: { action: "live", mechanism: "what the host lost (a reboot unmounts the pool's image) is mounted again" } },
};
