// Data disks added to and removed from a defined guest without restarting it: the running domain (when it runs)
// and its persistent definition change together. Device names come from what the domain has now, not from the
// disk's position in the spec: a disk removed live leaves a gap the next boot's definition closes.
import type { Remote } from "../../ssh/types";
import { readGuest } from "./guest";
import { dataDiskPath, diskSerial } from "./paths";
import { DATA_DISK_SCRIPT, DETACH_DISK_SCRIPT } from "./scripts";
import type { DataDiskSpec, GuestObserved } from "./types";
import { validateGuestName } from "./validate";

const VIRSH = ["virsh", "-c", "qemu:///system"];

/** How long a removal waits for the guest's OS to let go of the disk before it is reported as refused. */
export const DETACH_WAIT_SEC = 30;

/** The guest still holds a disk it was asked to release; the persistent definition no longer has it. */
export class DiskDetachRefusedError extends Error {
  constructor(readonly guest: string, readonly disk: string, readonly target: string, readonly waitedSec: number) {
    super(
      `guest ${guest} did not release data disk ${disk} (${target}) within ${waitedSec} s: its OS still holds it ` +
        `(unmount it, or check that the guest handles PCI hot-unplug). It is removed from the guest's definition, so it is ` +
        `gone after the next restart; the disk file is kept. Run \`pulumi up\` again once the guest has let go of it.`,
    );
    this.name = "DiskDetachRefusedError";
  }
}

const running = (o: GuestObserved) => o.state === "running" || o.state === "paused";

/** The first device name of the bus's namespace (vd* for virtio, sd* for scsi and sata) no disk of the domain uses. */
export function freeTarget(bus: DataDiskSpec["bus"], used: readonly string[]): string {
  const prefix = bus === "virtio" ? "vd" : "sd";
  for (const c of "abcdefghijklmnopqrstuvwxyz") {
    const t = `${prefix}${c}`;
    if (!used.includes(t)) return t;
  }
  throw new Error(`no free ${prefix}* device name left for a ${bus} disk`);
}

/** Creates the disk's image unless it exists (an existing one is attached as is), then plugs it in. */
export async function attachDataDisk(remote: Remote, name: string, guestDir: string, disk: DataDiskSpec): Promise<void> {
  validateGuestName(name);
  const cur = await readGuest(remote, name);
  if (!cur.exists) throw new Error(`guest ${name} does not exist on ${remote.label}`);
  const path = dataDiskPath(guestDir, disk.name);
  if (cur.disks?.some((d) => d.path === path)) return;
  await remote.script(DATA_DISK_SCRIPT, [path, String(disk.sizeMiB)], { step: `data disk ${disk.name} of ${name}` });
  // Names the persistent definition uses count too: a stopped guest's live view is its definition.
  const target = freeTarget(disk.bus, (cur.disks ?? []).map((d) => d.target));
  const scope = running(cur) ? ["--live", "--config"] : ["--config"];
  await remote.exec(
    [...VIRSH, "attach-disk", "--domain", name, "--source", path, "--target", target, "--targetbus", disk.bus,
      "--driver", "qemu", "--subdriver", "qcow2", "--serial", diskSerial(disk.name), ...scope],
    { step: `attach data disk ${disk.name} to ${name}` },
  );
}

/** Unplugs a data disk (its file stays). Waits up to waitSec for a running guest to release it, then refuses. */
export async function detachDataDisk(remote: Remote, name: string, guestDir: string, diskName: string, waitSec = DETACH_WAIT_SEC): Promise<void> {
  validateGuestName(name);
  const cur = await readGuest(remote, name);
  if (!cur.exists) throw new Error(`guest ${name} does not exist on ${remote.label}`);
  const path = dataDiskPath(guestDir, diskName);
  const disk = cur.disks?.find((d) => d.path === path);
  if (!disk) return;
  const wait = Math.max(0, Math.floor(waitSec));
  const r = await remote.script(DETACH_DISK_SCRIPT, [name, disk.target, path, running(cur) ? "1" : "0", String(wait)], {
    step: `detach data disk ${diskName} from ${name}`,
    timeoutMs: (wait + 60) * 1000,
  });
  if (r.stdout.trim() !== "detached") throw new DiskDetachRefusedError(name, diskName, disk.target, wait);
}
