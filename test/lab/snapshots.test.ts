// Snapshot drivers on lab host h1 over the real SSH transport (issue 24): a container's root filesystem copy and
// restore, checked on the host (a marker file, init PID, MAC), and the refusals that keep a snapshot to its owner.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { consoleLogPath, createGuest, destroyGuest, domainPaths, DomainSpec, readGuest, shutdownGuest, startGuest } from "../../provider/drivers/kvm";
import { kvmSnapshots } from "../../provider/drivers/kvm/snapshot";
import { waitPvstat } from "../support/pvstat";
import { ContainerSpec, createContainer, destroyContainer, readContainer, stopContainer, startContainer } from "../../provider/drivers/lxc";
import { lxcSnapshots } from "../../provider/drivers/lxc/snapshot";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import type { Remote } from "../../provider/ssh/types";
import { ensureLab, LabHost, onHost, onHostOk } from "../support/lab";

const NAME = "pvt-snap-lxc";
const TOKEN = "0123456789abcdef0123456789abcdef";
const OTHER = "fedcba9876543210fedcba9876543210";
let host: LabHost;
let remote: Remote;

const spec = (): ContainerSpec => ({
  name: NAME, template: { kind: "busybox" }, memoryMiB: 128, disk: { sizeMiB: 300, fstype: "xfs" },
  network: { bridge: host.bridge, hwaddr: "02:77:00:24:00:01" }, running: true, autostart: false,
});
const marker = async () => (await onHost(host, ["lxc-attach", "-n", NAME, "--", "cat", "/marker"])).stdout.trim();
const writeMarker = (v: string) => onHostOk(host, ["lxc-attach", "-n", NAME, "--", "sh", "-c", 'echo "$1" > /marker', "sh", v]);

before(async () => {
  const lab = await ensureLab();
  host = lab.hosts.find((h) => h.name === "h1")!;
  remote = getRemote({ host: host.address, port: host.port, user: host.user, privateKey: readFileSync(host.privateKeyPath, "utf8"), hostKey: host.hostKey });
  await destroyContainer(remote, NAME);
  await onHost(host, ["rm", "-rf", `/var/lib/lxc/.pulumi-virt-snapshots/${NAME}`]);
});

after(async () => {
  try {
    await destroyContainer(remote, NAME, { ownerToken: TOKEN });
    await onHost(host, ["rm", "-rf", `/var/lib/lxc/.pulumi-virt-snapshots/${NAME}`]);
  } finally {
    closeAllRemotes();
  }
});

test("lxc: a running container is snapshotted without a restart; restore brings the marker back with a new init, same MAC", async () => {
  const created = await createContainer(remote, spec(), { ownerToken: TOKEN });
  assert.equal(created.running, true);
  await writeMarker("before");
  const pid0 = (await readContainer(remote, NAME))!.initPid;

  const info = await lxcSnapshots.take(remote, NAME, "pv-one", TOKEN);
  assert.equal(info.name, "pv-one");
  assert.deepEqual(info.covers, { disks: ["rootfs"], memory: false });
  assert.ok(info.sizeBytes > 100_000, `a busybox rootfs copy has some size: ${info.sizeBytes}`);
  assert.ok(Math.abs(Date.parse(info.takenAt) - Date.now()) < 10 * 60_000, `takenAt is now-ish: ${info.takenAt}`);
  const during = await readContainer(remote, NAME);
  assert.equal(during!.initPid, pid0, "taking a snapshot does not restart the container");
  assert.equal(during!.state, "RUNNING", "the container is thawed after the copy");
  assert.equal((await onHostOk(host, ["cat", `/var/lib/lxc/.pulumi-virt-snapshots/${NAME}/pv-one/rootfs/marker`])).trim(), "before");
  // Idempotent: taking it again reports the same snapshot.
  assert.equal((await lxcSnapshots.take(remote, NAME, "pv-one", TOKEN)).takenAt, info.takenAt);

  await writeMarker("after");
  assert.equal(await marker(), "after");
  const stopped = await lxcSnapshots.restore(remote, NAME, "pv-one", TOKEN);
  assert.equal(stopped, "destroyed");
  const now = await readContainer(remote, NAME);
  assert.equal(now!.running, true);
  assert.notEqual(now!.initPid, pid0, "a restore is a restart: a new init");
  assert.equal(now!.hwaddr, "02:77:00:24:00:01", "identity kept: the MAC");
  assert.equal(now!.diskSizeMiB, 300, "the loop image keeps its size");
  assert.equal(now!.fstype, "xfs");
  assert.equal(await marker(), "before");
});

test("lxc: a stopped container is copied from its image; list and remove address only this token's snapshots", async () => {
  await stopContainer(remote, NAME, 0);
  const info = await lxcSnapshots.take(remote, NAME, "pv-auto-20261203t000001", TOKEN);
  assert.ok(info.sizeBytes > 100_000);
  await startContainer(remote, NAME);
  const autos = await lxcSnapshots.list(remote, NAME, TOKEN, "pv-auto-");
  assert.deepEqual(autos.map((i) => i.name), ["pv-auto-20261203t000001"]);
  assert.deepEqual((await lxcSnapshots.list(remote, NAME, TOKEN, "pv-")).map((i) => i.name).sort(), ["pv-auto-20261203t000001", "pv-one"]);
  assert.deepEqual(await lxcSnapshots.list(remote, NAME, OTHER, "pv-"), [], "another token sees none");

  await assert.rejects(lxcSnapshots.remove(remote, NAME, "pv-one", OTHER), /not made by this resource/);
  await assert.rejects(lxcSnapshots.restore(remote, NAME, "pv-one", OTHER), /another resource/);
  await assert.rejects(lxcSnapshots.take(remote, NAME, "pv-two", OTHER), /not this resource's/);
  await assert.rejects(lxcSnapshots.take(remote, NAME, "../etc", TOKEN), /invalid snapshot name/);
  assert.equal((await onHost(host, ["test", "-d", `/var/lib/lxc/.pulumi-virt-snapshots/${NAME}/pv-two`])).code, 1);

  assert.equal(await lxcSnapshots.remove(remote, NAME, "pv-one", TOKEN), "removed");
  assert.equal(await lxcSnapshots.remove(remote, NAME, "pv-one", TOKEN), "absent");
  assert.equal(await lxcSnapshots.remove(remote, NAME, "pv-auto-20261203t000001", TOKEN), "removed");
});

// ---- kvm: libvirt internal snapshots of the test guest (lab/images/guest-init.sh prints PVSTAT with the data disk's marker)

const GUEST = "pvt-snap-kvm";
const STORAGE = "/var/lib/libvirt/images/pulumi-virt";

function guestSpec(image: string): DomainSpec {
  return {
    name: GUEST, vcpus: 1, maxVcpus: 1, memoryMiB: 192, maxMemoryMiB: 192, emulated: true,
    boot: { kind: "kernel", kernel: path.join(image, "vmlinuz"), initrd: path.join(image, "initrd.img"), cmdline: "console=ttyS0 quiet" },
    rootDisk: { baseImage: path.join(image, "base-a.qcow2"), sizeMiB: 96, mode: "overlay" },
    dataDisks: [{ name: "data", sizeMiB: 32, bus: "virtio" }],
    network: { bridge: "pvbr0" }, cloudInit: { userData: "#cloud-config\nhostname: snap\n" },
    running: true, autostart: false, shutdownTimeoutSec: 5, storageDir: STORAGE, ownerToken: TOKEN,
  };
}

test("kvm: running (disks + memory) and stopped (disks) snapshots; restore is a new QEMU with the same UUID and MAC", async (t) => {
  const image = execFileSync("bash", [path.resolve(__dirname, "../../../lab/images/build-guest.sh")], { encoding: "utf8" }).trim();
  const spec = guestSpec(image);
  const log = consoleLogPath(spec);
  const p = domainPaths(spec);
  await destroyGuest(remote, GUEST, { deleteDataDisks: ["data"], storageDir: STORAGE });
  t.after(() => destroyGuest(remote, GUEST, { deleteDataDisks: ["data"], storageDir: STORAGE }));
  const writeDataMarker = (v: string) => remote.script(
    'set -e; mkdir -p "$1"; f="$2.sector"; printf "PVMARK:%s\\n" "$3" > "$f"; truncate -s 512 "$f"; [ -e "$2" ] || qemu-img create -q -f qcow2 "$2" 32M; qemu-io -f qcow2 -c "write -q -s $f 0 512" "$2"; rm -f "$f"',
    [p.dir, p.dataDisks.data, v],
  );
  await writeDataMarker("mark-a");
  const o0 = await createGuest(remote, spec);
  const s0 = await waitPvstat(remote, log, "marker mark-a", (s) => s.marker === "mark-a", 120_000);

  const mem = await kvmSnapshots.take(remote, GUEST, "pv-mem", TOKEN);
  assert.equal(mem.covers.memory, true, "a running guest's snapshot holds its memory");
  assert.deepEqual([...mem.covers.disks].sort(), ["vda", "vdb"]);
  assert.ok(mem.sizeBytes > 0, `the memory state has a size: ${mem.sizeBytes}`);
  assert.equal((await readGuest(remote, GUEST)).qemuPid, o0.qemuPid, "taking a snapshot does not restart QEMU");

  await shutdownGuest(remote, GUEST, 0);
  const disk = await kvmSnapshots.take(remote, GUEST, "pv-disk", TOKEN);
  assert.equal(disk.covers.memory, false, "a stopped guest's snapshot holds its disks only");
  assert.equal(disk.sizeBytes, 0);
  await writeDataMarker("mark-b");
  await startGuest(remote, GUEST);
  const b = await readGuest(remote, GUEST);
  await waitPvstat(remote, log, "marker mark-b", (s) => s.marker === "mark-b", 120_000);

  assert.equal(await kvmSnapshots.restore(remote, GUEST, "pv-disk", TOKEN), "destroyed");
  const r = await readGuest(remote, GUEST);
  assert.equal(r.state, "running", "it was running, so it runs again");
  assert.notEqual(r.qemuPid, b.qemuPid, "a restore is a new QEMU");
  assert.equal(r.uuid, o0.uuid, "identity kept: the UUID");
  assert.equal(r.mac, o0.mac, "identity kept: the MAC");
  await waitPvstat(remote, log, "marker mark-a after the restore", (s) => s.marker === "mark-a", 120_000);

  // The memory snapshot resumes the boot it was taken in.
  await kvmSnapshots.restore(remote, GUEST, "pv-mem", TOKEN);
  const m = await readGuest(remote, GUEST);
  assert.notEqual(m.qemuPid, r.qemuPid);
  await waitPvstat(remote, log, "the snapshot's boot resumed", (s) => s.boot === s0.boot, 120_000);

  await assert.rejects(kvmSnapshots.remove(remote, GUEST, "pv-mem", OTHER), /not this resource's|not made by this/);
  assert.deepEqual((await kvmSnapshots.list(remote, GUEST, TOKEN, "pv-")).map((i) => i.name).sort(), ["pv-disk", "pv-mem"]);
  assert.equal(await kvmSnapshots.remove(remote, GUEST, "pv-mem", TOKEN), "removed");
  assert.equal(await kvmSnapshots.remove(remote, GUEST, "pv-mem", TOKEN), "absent");
});
