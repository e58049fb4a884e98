// Data disks hot-plugged on running KVM guests (issue 22), on lab host h1 under TCG. Each claim is checked by the
// QEMU PID (the guest was not restarted), by libvirt's live and persistent definitions, and from inside the guest:
// its /init prints a PVDISKS line each second naming every disk it sees (size, serial, first-sector marker).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { readFileSync } from "node:fs";
import {
  applyLive,
  attachDataDisk,
  consoleLogPath,
  createGuest,
  destroyGuest,
  detachDataDisk,
  DiskDetachRefusedError,
  domainPaths,
  DomainSpec,
  readGuest,
} from "../../provider/drivers/kvm";
import type { Remote } from "../../provider/ssh/types";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import { ensureLab } from "../support/lab";
import { bySerial, waitPvdisks } from "../support/pvdisks";

const NAME = "pvt-kvm-hotplug";
// Boots with ACPI off: it never acts on a hot-unplug request, like a guest whose OS holds the disk.
const DEAF = "pvt-kvm-hotplug-deaf";
const STORAGE = "/var/lib/libvirt/images/pulumi-virt";
const MiB = 1024 * 1024;
// A deadline against hangs, not a claim about speed.
const DEADLINE_MS = 120_000;

let remote: Remote;
let spec: DomainSpec;
let deaf: DomainSpec;
let pid0: number | undefined;
let keepMarker: string;

function guestSpec(img: string, name: string, cmdline: string, disk: string): DomainSpec {
  return {
    name,
    vcpus: 1,
    maxVcpus: 1,
    memoryMiB: 192,
    maxMemoryMiB: 192,
    emulated: true,
    boot: { kind: "kernel", kernel: path.join(img, "vmlinuz"), initrd: path.join(img, "initrd.img"), cmdline },
    rootDisk: { baseImage: path.join(img, "base-a.qcow2"), sizeMiB: 64, mode: "overlay" },
    dataDisks: [{ name: disk, sizeMiB: 32, bus: "virtio" }],
    running: true,
    autostart: false,
    shutdownTimeoutSec: 5,
    storageDir: STORAGE,
  };
}

/** Image paths in the persistent (inactive) definition. */
async function configuredDiskPaths(name: string): Promise<string[]> {
  const r = await remote.exec(["virsh", "-c", "qemu:///system", "domblklist", "--domain", name, "--inactive"]);
  return r.stdout.split("\n").slice(2).map((l) => l.trim().split(/\s+/)[1]).filter((p): p is string => !!p);
}

const wipe = async () => {
  await destroyGuest(remote, NAME, { deleteDataDisks: ["keep", "extra"], storageDir: STORAGE });
  await destroyGuest(remote, DEAF, { deleteDataDisks: ["stuck"], storageDir: STORAGE });
};

after(async () => {
  try {
    if (remote) await wipe();
  } finally {
    closeAllRemotes();
  }
});

test("setup: two guests on h1, one with a marked data disk, one deaf to hot-unplug", async () => {
  const lab = await ensureLab();
  const h1 = lab.hosts.find((h) => h.name === "h1")!;
  remote = await getRemote({ host: h1.address, port: h1.port, user: h1.user, privateKey: readFileSync(h1.privateKeyPath, "utf8"), hostKey: h1.hostKey });
  const img = execFileSync("bash", [path.resolve(__dirname, "../../../lab/images/build-guest.sh")], { encoding: "utf8" }).trim();
  spec = guestSpec(img, NAME, "console=ttyS0 quiet", "keep");
  deaf = guestSpec(img, DEAF, "console=ttyS0 quiet acpi=off", "stuck");
  await wipe();
  keepMarker = `keep-${randomBytes(4).toString("hex")}`;
  const p = domainPaths(spec);
  await remote.script(
    'set -e; mkdir -p "$1"; raw="$2.raw"; rm -f "$raw"; truncate -s 32M "$raw"; printf "PVMARK:%s\\n" "$3" | dd of="$raw" conv=notrunc status=none; qemu-img convert -q -f raw -O qcow2 "$raw" "$2"; rm -f "$raw"',
    [p.dir, p.dataDisks.keep, keepMarker],
  );
  const [obs] = await Promise.all([createGuest(remote, spec), createGuest(remote, deaf)]);
  pid0 = obs.qemuPid;
  assert.ok(pid0 && pid0 > 0);
  const seen = await waitPvdisks(remote, consoleLogPath(spec), "the guest's first disk line", (d) => !!bySerial(d, "pv-keep"), DEADLINE_MS);
  assert.equal(bySerial(seen, "pv-keep")?.marker, keepMarker);
  await waitPvdisks(remote, consoleLogPath(deaf), "the deaf guest's first disk line", (d) => !!bySerial(d, "pv-stuck"), DEADLINE_MS);
});

test("attach: a new data disk appears in the running guest and in the definition; same QEMU", async () => {
  const extra = { name: "extra", sizeMiB: 48, bus: "virtio" as const };
  await attachDataDisk(remote, NAME, domainPaths(spec).dir, extra);
  const extraPath = `${domainPaths(spec).dir}/data-extra.qcow2`;
  const obs = await readGuest(remote, NAME);
  assert.equal(obs.qemuPid, pid0, "QEMU was not restarted");
  assert.equal(obs.disks?.find((d) => d.path === extraPath)?.target, "vdc");
  assert.ok((await configuredDiskPaths(NAME)).includes(extraPath), "the persistent definition has it too");
  const seen = await waitPvdisks(remote, consoleLogPath(spec), "the hot-plugged disk inside the guest", (d) => !!bySerial(d, "pv-extra"), DEADLINE_MS);
  assert.equal(bySerial(seen, "pv-extra")?.bytes, 48 * MiB);
  assert.equal(bySerial(seen, "pv-keep")?.marker, keepMarker, "the other disk is untouched");
  // Idempotent: attaching it again changes nothing.
  await attachDataDisk(remote, NAME, domainPaths(spec).dir, extra);
  assert.equal((await readGuest(remote, NAME)).disks?.filter((d) => d.path === extraPath).length, 1);
});

test("detach: the disk leaves the running guest and the definition; its file stays; same QEMU", async () => {
  const keepPath = domainPaths(spec).dataDisks.keep;
  await detachDataDisk(remote, NAME, domainPaths(spec).dir, "keep");
  const obs = await readGuest(remote, NAME);
  assert.equal(obs.qemuPid, pid0, "QEMU was not restarted");
  assert.ok(!obs.disks?.some((d) => d.path === keepPath), "gone from the running domain");
  assert.ok(!(await configuredDiskPaths(NAME)).includes(keepPath), "gone from the persistent definition");
  assert.equal((await remote.exec(["test", "-f", keepPath], { okCodes: [0, 1] })).code, 0, "the disk file is kept");
  const seen = await waitPvdisks(remote, consoleLogPath(spec), "the disk gone inside the guest", (d) => !bySerial(d, "pv-keep"), DEADLINE_MS);
  assert.ok(bySerial(seen, "pv-extra"), "the hot-plugged disk is still there");
  // Detaching a disk that is not attached is a no-op.
  await detachDataDisk(remote, NAME, domainPaths(spec).dir, "keep");
});

test("a hot-plugged disk grows live, found by its image and not by its position (vdc, not vdb)", async () => {
  const extraPath = `${domainPaths(spec).dir}/data-extra.qcow2`;
  await applyLive(remote, NAME, { disks: [{ target: "extra", path: extraPath, sizeMiB: 64 }] });
  const obs = await readGuest(remote, NAME);
  assert.equal(obs.qemuPid, pid0);
  assert.equal(obs.disks?.find((d) => d.path === extraPath)?.sizeMiB, 64);
  await waitPvdisks(remote, consoleLogPath(spec), "the grown disk inside the guest", (d) => bySerial(d, "pv-extra")?.bytes === 64 * MiB, DEADLINE_MS);
});

test("a guest that does not release a disk: bounded wait, then a clear error; the definition no longer has it", async () => {
  const stuckPath = domainPaths(deaf).dataDisks.stuck;
  const pid = (await readGuest(remote, DEAF)).qemuPid;
  await assert.rejects(detachDataDisk(remote, DEAF, domainPaths(deaf).dir, "stuck", 5), (e: Error) => {
    assert.ok(e instanceof DiskDetachRefusedError, e.message);
    assert.match(e.message, /did not release data disk stuck \(vdb\) within 5 s/);
    assert.match(e.message, /next restart/);
    return true;
  });
  const obs = await readGuest(remote, DEAF);
  assert.equal(obs.qemuPid, pid, "QEMU was not restarted");
  assert.ok(obs.disks?.some((d) => d.path === stuckPath), "the running guest still has it");
  assert.ok(!(await configuredDiskPaths(DEAF)).includes(stuckPath), "the persistent definition does not");
  await waitPvdisks(remote, consoleLogPath(deaf), "the disk still inside the guest", (d) => !!bySerial(d, "pv-stuck"), DEADLINE_MS);
  // Asked again, it waits again and says the same (libvirt's "already in the process of unplug" is not an error).
  await assert.rejects(detachDataDisk(remote, DEAF, domainPaths(deaf).dir, "stuck", 2), DiskDetachRefusedError);
});
