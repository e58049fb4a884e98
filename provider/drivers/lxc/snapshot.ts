// Snapshots of LXC containers: a copy of the root filesystem beside the container (see scripts/snapshot-*.sh).
// lxc-snapshot is not used: it refuses a running container, and restoring a loop-backed container makes a new
// default-size ext4 image (both measured with LXC 5.0.2), which would lose disk.size and disk.fstype.
import type { Remote } from "../../ssh/types";
import type { SnapshotDriver, SnapshotInfo, StopOutcome } from "../contract";
import { shellScript } from "../shell";
import { validateName } from "./config";
import { startContainer, stopContainer, StopResult } from "./driver";
import { hostChanged } from "./batched-read";

const TAKE = shellScript("lxc", "snapshot-take.sh");
const RESTORE = shellScript("lxc", "snapshot-restore.sh");
const REMOVE = shellScript("lxc", "snapshot-remove.sh");
const LIST = shellScript("lxc", "snapshot-list.sh");

/** A snapshot's name on the host: pulumi-virt's own prefix, a file name everywhere. */
export const SNAPSHOT_NAME_RE = /^pv-[a-z0-9][a-z0-9-]{0,62}$/;
const TOKEN_RE = /^[0-9a-f]{16,64}$/;

function checkArgs(machine: string, snapshot: string | undefined, token: string): void {
  validateName(machine);
  if (snapshot !== undefined && !SNAPSHOT_NAME_RE.test(snapshot)) throw new Error(`invalid snapshot name ${JSON.stringify(snapshot)}`);
  if (!TOKEN_RE.test(token)) throw new Error("invalid owner token");
}

/** `snapshot NAME EPOCH BYTES` lines → infos, oldest first. */
export function parseSnapshotLines(out: string): SnapshotInfo[] {
  const infos: SnapshotInfo[] = [];
  for (const line of out.split("\n")) {
    const m = /^snapshot (\S+) (\d+) (\d+)$/.exec(line.trim());
    if (m) infos.push({ name: m[1], takenAt: new Date(Number(m[2]) * 1000).toISOString(), sizeBytes: Number(m[3]), covers: { disks: ["rootfs"], memory: false } });
  }
  return infos.sort((a, b) => a.takenAt.localeCompare(b.takenAt) || a.name.localeCompare(b.name));
}

const STOPPED: Record<StopResult, StopOutcome> = { graceful: "graceful", killed: "destroyed", "already-stopped": "already-off" };

export const lxcSnapshots: SnapshotDriver = {
  method:
    "a copy of the root filesystem (rsync) in <lxcpath>/.pulumi-virt-snapshots/<container>/, taken with the container frozen " +
    "(crash-consistent) when it runs; it covers the root filesystem, not memory, and survives a replacement or destroy of the container. " +
    "pulumi-virt's containers are directory- or loop-backed, for which lxc-snapshot would also copy; a filesystem-level snapshot " +
    "(btrfs subvolume, overlay) needs those backing stores",
  covers: "root filesystem (copied, frozen while running)",
  afterReplacement:
    "kept in <lxcpath>/.pulumi-virt-snapshots/<name>/pv-auto-<time>/rootfs; to go back: lxc-stop the new container, mount its " +
    "image (or use its rootfs directory), rsync -aH --delete from that rootfs into it, lxc-start",
  async take(remote: Remote, machine, snapshot, token) {
    checkArgs(machine, snapshot, token);
    const r = await remote.script(TAKE, [machine, snapshot, token], { step: `snapshot ${snapshot} of container ${machine}`, timeoutMs: 700_000 });
    const info = parseSnapshotLines(r.stdout)[0];
    if (!info) throw new Error(`snapshot ${snapshot} of container ${machine}: the host did not report it`);
    return info;
  },
  async restore(remote, machine, snapshot, token) {
    checkArgs(machine, snapshot, token);
    try {
      // The running state is discarded by the restore, so there is nothing a graceful stop would keep.
      const stopped = await stopContainer(remote, machine, 0);
      await remote.script(RESTORE, [machine, snapshot, token], { step: `restore snapshot ${snapshot} of container ${machine}`, timeoutMs: 700_000 });
      if (stopped !== "already-stopped") await startContainer(remote, machine);
      return STOPPED[stopped];
    } finally {
      hostChanged(remote);
    }
  },
  async remove(remote, machine, snapshot, token) {
    checkArgs(machine, snapshot, token);
    const r = await remote.script(REMOVE, [machine, snapshot, token], { step: `remove snapshot ${snapshot} of container ${machine}` });
    return r.stdout.trim() === "removed" ? "removed" : "absent";
  },
  async list(remote, machine, token, prefix) {
    checkArgs(machine, undefined, token);
    if (!/^pv-[a-z0-9-]*$/.test(prefix)) throw new Error(`invalid snapshot prefix ${JSON.stringify(prefix)}`);
    const r = await remote.script(LIST, [machine, token, prefix], { step: `list snapshots of container ${machine}` });
    return parseSnapshotLines(r.stdout);
  },
};
