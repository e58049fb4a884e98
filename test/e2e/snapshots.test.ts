// Issue 24 through the real CLI: Snapshot + restore (previewed as a restart, applied as one: new init/QEMU, same
// name/UUID/MAC, the marker back) for a container and a kvm guest, and the safety net (snapshotBefore, keep) with its
// preview and review lines, and none without the option.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PreviewJson, REPO_ROOT, TestStack } from "./harness";
import { ensureLab, LabHost, loadLab, onHost, onHostOk } from "../support/lab";
import { getRemote, closeAllRemotes } from "../../provider/ssh/remote";
import { waitPvstat } from "../support/pvstat";
import { readGuest } from "../../provider/drivers/kvm";

const SNAPS = "/var/lib/lxc/.pulumi-virt-snapshots";
const STORAGE = "/var/lib/libvirt/images/pulumi-virt";

type Outputs = Record<string, { plannedAction?: string; plannedChanges?: Record<string, string>; lastApplied?: { action: string; snapshot?: string; changes: Record<string, string> }; observed?: Record<string, unknown>; covers?: { disks: string[]; memory: boolean }; sizeBytes?: number; takenAt?: string; hostName?: string }>;

async function labStack(h1: LabHost): Promise<TestStack> {
  return TestStack.create({
    program: "test/e2e/fixtures/matrix",
    config: {
      hosts: JSON.stringify({ h1: { address: h1.address, port: h1.port, user: h1.user, hostKey: h1.hostKey } }),
      hypervisors: JSON.stringify({ lxc1: { host: "h1", kind: "lxc", bridge: "pvbr0" }, kvm1: { host: "h1", kind: "kvm", bridge: "pvbr0", allowEmulation: true, storageDir: STORAGE } }),
    },
    secrets: { privateKey: readFileSync(h1.privateKeyPath, "utf8") },
  });
}

const resourcesOf = async (s: TestStack) => (await s.outputs()).resources as Outputs;
const stepOf = (p: PreviewJson, name: string) => p.steps.find((x) => x.urn.endsWith(`::${name}`) && x.newState?.inputs?.plannedAction !== undefined);
function review(p: PreviewJson): string {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, "dist/provider/cli/main.js"), "review", "-"], { input: JSON.stringify(p), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("container: Snapshot, restore previewed and applied as a restart; snapshotBefore keeps the last 2 over three restarts", async (t) => {
  await ensureLab();
  const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const name = `snap-e2e-${randomBytes(3).toString("hex")}`;
  const web: Record<string, unknown> = { hypervisor: "lxc1", name, memory: "64MiB", disk: { size: "300MiB", fstype: "xfs" }, network: { hwaddr: "02:77:24:00:00:0a" }, allowRestart: true };
  const stack = await labStack(h1);
  t.after(async () => {
    await stack.destroy().catch(() => undefined);
    await stack.rm();
    await onHost(h1, ["rm", "-rf", `${SNAPS}/${name}`]);
  });
  const setWeb = () => stack.setConfig("containers", JSON.stringify({ web }));
  const pid = async () => (await onHostOk(h1, ["lxc-info", "-n", name, "-p", "-H"])).trim();
  const writeMarker = (v: string) => onHostOk(h1, ["lxc-attach", "-n", name, "--", "sh", "-c", 'echo "$1" > /marker', "sh", v]);
  const marker = async () => (await onHostOk(h1, ["lxc-attach", "-n", name, "--", "cat", "/marker"])).trim();

  await setWeb();
  await stack.up();
  await writeMarker("one");
  await stack.setConfig("snapshots", JSON.stringify({ s1: { machine: "web", name: "s1" } }));
  await stack.up();
  let out = await resourcesOf(stack);
  assert.deepEqual(out.s1.covers, { disks: ["rootfs"], memory: false });
  assert.equal(out.s1.hostName, "pv-s1");
  assert.ok((out.s1.sizeBytes ?? 0) > 100_000, `size ${out.s1.sizeBytes}`);
  assert.ok(!Number.isNaN(Date.parse(out.s1.takenAt ?? "")));

  await writeMarker("two");
  const pid0 = await pid();
  await stack.setConfig("snapshots", JSON.stringify({ s1: { machine: "web", name: "s1", restore: "r1" } }));
  const p = await stack.preview({ json: true });
  assert.equal(stepOf(p, "s1")?.newState?.inputs?.plannedAction, "restart");
  assert.match(String((stepOf(p, "s1")?.newState?.inputs?.plannedChanges as Record<string, string>).restore), /^restart: unset → r1: the container .* stopped, rolled back to snapshot "s1"/);
  assert.match(review(p), /s1 .*restore .*RESTART/);
  await stack.up();
  assert.equal(await marker(), "one", "the marker is back");
  assert.notEqual(await pid(), pid0, "the restore was a restart: a new init");
  out = await resourcesOf(stack);
  assert.equal(out.s1.lastApplied?.action, "restart");
  assert.equal(out.web.observed?.hwaddr, "02:77:24:00:00:0a", "identity kept");
  await stack.preview({ expectNoChanges: true });

  // Without the option, a restarting change shows no snapshot step.
  web.environment = { ROUND: "0" };
  await setWeb();
  const plain = await stack.preview({ json: true });
  assert.equal(stepOf(plain, "web")?.newState?.inputs?.plannedAction, "restart");
  assert.equal((stepOf(plain, "web")?.newState?.inputs?.plannedChanges as Record<string, string>).snapshotBefore, undefined);
  assert.doesNotMatch(review(plain), /snapshot is taken first/);

  web.snapshotBefore = "restart";
  web.keep = 2;
  const autos: string[] = [];
  for (const round of [1, 2, 3]) {
    await writeMarker(`pre-${round}`);
    web.environment = { ROUND: String(round) };
    await setWeb();
    if (round === 1) {
      const pv = await stack.preview({ json: true });
      assert.match(String((stepOf(pv, "web")?.newState?.inputs?.plannedChanges as Record<string, string>).snapshotBefore), /^restart — a snapshot is taken first: pv-auto-<time> of the container's root filesystem/);
      assert.match(review(pv), /RESTART .*a snapshot is taken first/);
    }
    const before = await pid();
    await stack.up();
    assert.notEqual(await pid(), before, `round ${round} restarted`);
    const snap = (await resourcesOf(stack)).web.lastApplied?.snapshot;
    assert.match(snap ?? "", /^pv-auto-\d{8}t\d{6}$/, `round ${round}: lastApplied names the snapshot`);
    autos.push(snap!);
    assert.equal((await onHostOk(h1, ["cat", `${SNAPS}/${name}/${snap}/rootfs/marker`])).trim(), `pre-${round}`, "the snapshot holds the pre-change content");
  }
  const left = (await onHostOk(h1, ["ls", `${SNAPS}/${name}`])).trim().split("\n").sort();
  assert.deepEqual(left, [autos[1], autos[2], "pv-s1"].sort(), "keep: 2 keeps the last two; the Snapshot resource's is not the safety net's");

  // Deleting the Snapshot resource deletes its snapshot.
  await stack.setConfig("snapshots", "{}");
  await stack.up();
  assert.equal((await onHost(h1, ["test", "-e", `${SNAPS}/${name}/pv-s1`])).code, 1);
});

test("kvm guest: Snapshot of its disks, restore as a new QEMU with the same UUID and MAC; snapshotBefore before a restart", async (t) => {
  await ensureLab();
  const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const remote = getRemote({ host: h1.address, port: h1.port, user: h1.user, privateKey: readFileSync(h1.privateKeyPath, "utf8"), hostKey: h1.hostKey });
  const img = execFileSync("bash", [join(REPO_ROOT, "lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
  const name = `snapvm-${randomBytes(3).toString("hex")}`;
  const dir = `${STORAGE}/${name}`;
  const data = `${dir}/data-data.qcow2`;
  const log = `${dir}/console.log`;
  const vm: Record<string, unknown> = {
    hypervisor: "kvm1", name, virtualization: "full", vcpus: 1, memory: "192MiB", maxMemory: "256MiB",
    boot: { kernel: `${img}/vmlinuz`, initrd: `${img}/initrd.img`, cmdline: "console=ttyS0 quiet" },
    rootDisk: { baseImage: `${img}/base-a.qcow2`, size: "64MiB" }, dataDisks: [{ name: "data", size: "32MiB" }], shutdownTimeoutSec: 5, allowRestart: true,
  };
  const stack = await labStack(h1);
  t.after(async () => {
    await stack.destroy().catch(() => undefined);
    await stack.rm();
    await onHost(h1, ["rm", "-rf", dir]);
    closeAllRemotes();
  });
  const setVm = () => stack.setConfig("guests", JSON.stringify({ vm }));
  // The data disk's first sector carries the marker the test guest prints (PVSTAT marker=); written while it is off.
  const writeMarker = (v: string) => remote.script(
    'set -e; mkdir -p "$1"; f="$2.sector"; printf "PVMARK:%s\\n" "$3" > "$f"; truncate -s 512 "$f"; [ -e "$2" ] || qemu-img create -q -f qcow2 "$2" 32M; qemu-io -f qcow2 -c "write -q -s $f 0 512" "$2"; rm -f "$f"',
    [dir, data, v],
  );
  // Read on the host itself (stack outputs only change with an up).
  const observed = () => readGuest(remote, name);

  await writeMarker("kvm-a");
  await setVm();
  await stack.up();
  await waitPvstat(remote, log, "marker kvm-a", (s) => s.marker === "kvm-a", 120_000);
  const first = await observed();

  // Off (a live change), snapshot its disks, change the marker, on again.
  vm.running = false;
  await setVm();
  await stack.up();
  await stack.setConfig("snapshots", JSON.stringify({ g1: { machine: "vm", name: "g1" } }));
  await stack.up();
  const g1 = (await resourcesOf(stack)).g1;
  assert.deepEqual(g1.covers, { disks: ["vda", "vdb"], memory: false }, "a stopped guest's snapshot: its disks, no memory");
  await writeMarker("kvm-b");
  vm.running = true;
  await setVm();
  await stack.up();
  await waitPvstat(remote, log, "marker kvm-b", (s) => s.marker === "kvm-b", 120_000);
  const before = await observed();

  await stack.setConfig("snapshots", JSON.stringify({ g1: { machine: "vm", name: "g1", restore: "r1" } }));
  const p = await stack.preview({ json: true });
  assert.equal(stepOf(p, "g1")?.newState?.inputs?.plannedAction, "restart");
  assert.match(review(p), /g1 .*restore .*RESTART/);
  await stack.up();
  const after = await observed();
  assert.equal(after.state, "running");
  assert.notEqual(after.qemuPid, before.qemuPid, "the restore was a restart: a new QEMU");
  assert.equal(after.uuid, first.uuid, "identity kept: UUID");
  assert.equal(after.mac, first.mac, "identity kept: MAC");
  await waitPvstat(remote, log, "marker kvm-a back", (s) => s.marker === "kvm-a", 120_000);

  // The safety net before a restart (maxMemory is fixed at boot): a snapshot of the running guest with its memory.
  vm.snapshotBefore = "restart";
  vm.maxMemory = "320MiB";
  await setVm();
  const pv = await stack.preview({ json: true });
  assert.match(String((stepOf(pv, "vm")?.newState?.inputs?.plannedChanges as Record<string, string>).snapshotBefore), /^restart — a snapshot is taken first: .*guest's disks \(and memory when it runs\)/);
  assert.match(review(pv), /RESTART .*a snapshot is taken first/);
  await stack.up();
  const snap = (await resourcesOf(stack)).vm.lastApplied?.snapshot ?? "";
  assert.match(snap, /^pv-auto-/);
  // Its data-disk part holds the pre-change marker (read from the snapshot inside the qcow2, beside the running guest).
  const sector = await remote.script('set -e; t=$(mktemp); qemu-img convert -U -f qcow2 -l "snapshot.name=$2" -O raw "$1" "$t"; head -c 64 "$t"; rm -f "$t"', [data, snap]);
  assert.match(sector.stdout, /^PVMARK:kvm-a/);
});
