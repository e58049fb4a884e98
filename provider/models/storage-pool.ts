// StoragePool: where disks and images live on a Host. A directory, or a btrfs / xfs (reflink) filesystem in a
// loop-mounted image file. Every refusal knowable without the host is made here, at check.
import { z } from "zod";
import { hostPath, machineName, sizeMiB, XFS_MIN_MIB } from "./common";

export const POOL_TYPES = ["dir", "btrfs", "xfs"] as const;
export type PoolType = (typeof POOL_TYPES)[number];

/** btrfs refuses filesystems much under ~110 MiB. */
export const BTRFS_MIN_MIB = 128;
export const POOLS_DIR = "/var/lib/pulumi-virt/pools";

export const storagePoolArgsSchema = z
  .object({
    name: machineName,
    type: z.enum(POOL_TYPES, { error: 'expected "dir" (a directory), "btrfs" or "xfs" (a filesystem with reflink copies in a loop-mounted image file)' }),
    /** Where the pool's files are (the mount point for btrfs/xfs). Default /var/lib/pulumi-virt/pools/<name>. */
    path: hostPath.optional(),
    /** btrfs/xfs: size of the image file; growing it is live, shrinking is refused. */
    size: sizeMiB(BTRFS_MIN_MIB, 64 * 1024 * 1024).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.type === "dir" && p.size !== undefined) ctx.addIssue({ code: "custom", path: ["size"], message: 'a "dir" pool has no size (it uses the filesystem it is on); remove size or use type "btrfs" or "xfs"' });
    if (p.type !== "dir" && p.size === undefined) ctx.addIssue({ code: "custom", path: ["size"], message: `a "${p.type}" pool needs size (its image file's size, e.g. "1GiB")` });
    if (p.type === "xfs" && p.size !== undefined && p.size < XFS_MIN_MIB) ctx.addIssue({ code: "custom", path: ["size"], message: `an xfs pool needs at least ${XFS_MIN_MIB} MiB (mkfs.xfs refuses smaller)` });
    if (p.path !== undefined && (p.path === "/" || p.path.split("/").filter(Boolean).length < 2)) ctx.addIssue({ code: "custom", path: ["path"], message: "expected a directory at least two levels deep (e.g. /srv/pool): the pool's directory is removed on destroy" });
  });
export type StoragePoolArgs = z.infer<typeof storagePoolArgsSchema>;

export function poolPath(a: Pick<StoragePoolArgs, "name" | "path">): string {
  return a.path ?? `${POOLS_DIR}/${a.name}`;
}

/** The image file of a btrfs/xfs pool: beside its mount point. */
export function poolImage(path: string): string {
  return `${path.replace(/\/+$/, "")}.img`;
}
