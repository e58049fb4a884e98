// Snapshots of KVM guests: libvirt internal snapshots of the guest's qcow2 disks (`virsh snapshot-create-as`).
// A running guest's snapshot is a checkpoint of every disk and the memory state at one instant (consistent: a
// restore resumes the guest where it was, no crash recovery); a stopped guest's holds its disks only (consistent:
// nothing was writing). Each snapshot's <description> names the token it was made with; no other is touched.
import type { Remote } from "../../ssh/types";
import type { SnapshotDriver, SnapshotInfo, StopOutcome } from "../contract";
import { readGuest } from "./guest";
import { OWNER_TOKEN_RE, validateGuestName } from "./validate";

const VIRSH = ["virsh", "-c", "qemu:///system"];
export const SNAPSHOT_NAME_RE = /^pv-[a-z0-9][a-z0-9-]{0,62}$/;
const DESCRIPTION = (token: string) => `pulumi-virt ${token}`;

function checkArgs(machine: string, snapshot: string | undefined, token: string): void {
  validateGuestName(machine);
  if (snapshot !== undefined && !SNAPSHOT_NAME_RE.test(snapshot)) throw new Error(`invalid snapshot name ${JSON.stringify(snapshot)}`);
  if (!OWNER_TOKEN_RE.test(token)) throw new Error("invalid owner token");
}

/** The parts of `virsh snapshot-dumpxml` that matter here (pure). */
export function parseSnapshotXml(xml: string): { name: string; description: string; state: string; createdEpoch: number; disks: string[]; memory: boolean } {
  const tag = (t: string) => new RegExp(`<${t}>([^<]*)</${t}>`).exec(xml)?.[1]?.trim() ?? "";
  // The snapshot's own <disks> list comes before the <domain> copy; its entries are <disk name='vda' snapshot='internal'/>.
  const own = xml.split(/<domain[ >]/)[0];
  const disks = [...own.matchAll(/<disk name='([^']+)' snapshot='internal'/g)].map((m) => m[1]);
  return {
    name: tag("name"),
    description: tag("description"),
    state: tag("state"),
    createdEpoch: Number(tag("creationTime")) || 0,
    disks,
    memory: /<memory snapshot='internal'/.test(own) || tag("state") === "running" || tag("state") === "paused",
  };
}

async function guestOf(remote: Remote, machine: string, token: string) {
  const g = await readGuest(remote, machine);
  if (!g.exists) throw new Error(`guest ${machine} does not exist on ${remote.label}`);
  if (g.ownerToken !== token) throw new Error(`guest ${machine} is not this resource's (its metadata holds another owner token, or none): its snapshots were not touched`);
  return g;
}

/** The snapshot's XML, or undefined when the guest has no snapshot of that name. */
async function snapshotXml(remote: Remote, machine: string, snapshot: string): Promise<string | undefined> {
  const r = await remote.exec([...VIRSH, "snapshot-dumpxml", "--domain", machine, "--snapshotname", snapshot], { step: `read snapshot ${snapshot} of ${machine}`, okCodes: [0, 1] });
  return r.code === 0 ? r.stdout : undefined;
}

function assertMadeBy(xml: string, token: string, machine: string, snapshot: string): void {
  if (parseSnapshotXml(xml).description !== DESCRIPTION(token)) throw new Error(`snapshot ${snapshot} of guest ${machine} was not made by this pulumi-virt resource: not touched`);
}

async function infoOf(remote: Remote, xml: string, rootDisk: string | undefined): Promise<SnapshotInfo> {
  const p = parseSnapshotXml(xml);
  let sizeBytes = 0;
  if (rootDisk && p.memory) {
    // The memory state is stored in the first disk's image; the disk part shares clusters with the live disk.
    const r = await remote.exec(["qemu-img", "info", "-U", "--output=json", "--", rootDisk], { step: `size of snapshot ${p.name}`, okCodes: [0, 1] });
    if (r.code === 0) {
      const snaps = (JSON.parse(r.stdout) as { snapshots?: { name: string; "vm-state-size"?: number }[] }).snapshots ?? [];
      sizeBytes = snaps.find((s) => s.name === p.name)?.["vm-state-size"] ?? 0;
    }
  }
  return { name: p.name, takenAt: new Date(p.createdEpoch * 1000).toISOString(), sizeBytes, covers: { disks: p.disks, memory: p.memory } };
}

export const kvmSnapshots: SnapshotDriver = {
  method:
    "a libvirt internal snapshot of every qcow2 disk (virsh snapshot-create-as --atomic): of a running guest with its memory state " +
    "(a consistent checkpoint: a restore resumes it), of a stopped guest its disks only; sizeBytes is the saved memory state, the disk " +
    "part shares clusters with the live disks. Data disks keep their part of it after the guest is destroyed or replaced",
  covers: "disks (and memory when it runs)",
  afterReplacement:
    "the data disks keep it inside their qcow2 files (the root disk is rebuilt); to go back: stop the guest, then " +
    "qemu-img snapshot -a pv-auto-<time> <storageDir>/<name>/data-<disk>.qcow2, start it",
  async take(remote, machine, snapshot, token) {
    checkArgs(machine, snapshot, token);
    const g = await guestOf(remote, machine, token);
    let xml = await snapshotXml(remote, machine, snapshot);
    if (xml) assertMadeBy(xml, token, machine, snapshot);
    else {
      await remote.exec([...VIRSH, "snapshot-create-as", "--domain", machine, "--name", snapshot, "--description", DESCRIPTION(token), "--atomic"], {
        step: `snapshot ${snapshot} of guest ${machine}`, timeoutMs: 600_000,
      });
      xml = await snapshotXml(remote, machine, snapshot);
      if (!xml) throw new Error(`snapshot ${snapshot} of guest ${machine}: libvirt did not report it after taking it`);
    }
    return infoOf(remote, xml, g.rootDiskPath);
  },
  async restore(remote, machine, snapshot, token): Promise<StopOutcome> {
    checkArgs(machine, snapshot, token);
    const g = await guestOf(remote, machine, token);
    const xml = await snapshotXml(remote, machine, snapshot);
    if (!xml) throw new Error(`guest ${machine} has no snapshot ${snapshot}`);
    assertMadeBy(xml, token, machine, snapshot);
    // A fresh QEMU: the running one is discarded (its state is what the restore replaces).
    const wasRunning = g.state === "running" || g.state === "paused";
    const start = wasRunning;
    if (wasRunning) await remote.exec([...VIRSH, "destroy", "--domain", machine], { step: `power off ${machine}`, okCodes: [0, 1] });
    const withMemory = parseSnapshotXml(xml).memory;
    await remote.exec([...VIRSH, "snapshot-revert", "--domain", machine, "--snapshotname", snapshot, ...(start && !withMemory ? ["--running"] : []), ...(!start && withMemory ? ["--paused"] : [])], {
      step: `revert ${machine} to snapshot ${snapshot}`, timeoutMs: 600_000,
    });
    if (!start && withMemory) await remote.exec([...VIRSH, "destroy", "--domain", machine], { step: `power off ${machine}`, okCodes: [0, 1] });
    return wasRunning ? "destroyed" : "already-off";
  },
  async remove(remote, machine, snapshot, token) {
    checkArgs(machine, snapshot, token);
    const xml = await snapshotXml(remote, machine, snapshot);
    if (!xml) return "absent";
    assertMadeBy(xml, token, machine, snapshot);
    await remote.exec([...VIRSH, "snapshot-delete", "--domain", machine, "--snapshotname", snapshot], { step: `delete snapshot ${snapshot} of ${machine}`, timeoutMs: 600_000 });
    return "removed";
  },
  async list(remote, machine, token, prefix) {
    checkArgs(machine, undefined, token);
    const g = await guestOf(remote, machine, token);
    const r = await remote.exec([...VIRSH, "snapshot-list", "--domain", machine, "--name"], { step: `list snapshots of ${machine}` });
    const out: SnapshotInfo[] = [];
    for (const name of r.stdout.split("\n").map((l) => l.trim()).filter((n) => n.startsWith(prefix) && SNAPSHOT_NAME_RE.test(n))) {
      const xml = await snapshotXml(remote, machine, name);
      if (xml && parseSnapshotXml(xml).description === DESCRIPTION(token)) out.push(await infoOf(remote, xml, g.rootDiskPath));
    }
    return out.sort((a, b) => a.takenAt.localeCompare(b.takenAt) || a.name.localeCompare(b.name));
  },
};
