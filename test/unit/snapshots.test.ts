// Issue 24, pure parts: the safety net's preview line (and none without the option), a Snapshot's plan (restore is
// a restart), refusals at check (xen, bad names) before any SSH command, the review's snapshot step, and the parsers.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as container from "../../provider/resources/impl/container";
import * as guest from "../../provider/resources/impl/guest";
import * as snapshot from "../../provider/resources/impl/snapshot";
import { buildReview } from "../../provider/cli/review";
import { parseSnapshotLines } from "../../provider/drivers/lxc/snapshot";
import { parseSnapshotXml } from "../../provider/drivers/kvm/snapshot";
import { autoSnapshotName } from "../../provider/models/snapshot";
import { planSnapshot, safetyNetStep, takesSnapshotFirst } from "../../provider/plan/snapshot";
import { withSnapshotNote } from "../../provider/lifecycle/safety-net";
import { hypervisorRef, NO_SSH, sshActivity } from "./plan-fixtures";

const web = (over: Record<string, unknown> = {}) => ({ name: "web", memory: 256, hypervisor: hypervisorRef("lxc"), allowRestart: true, ...over });
const vm = (over: Record<string, unknown> = {}) => ({
  name: "vm1", virtualization: "full", vcpus: 1, memory: 256, maxMemory: 512, boot: { kernel: "/boot/vmlinuz" }, rootDisk: { baseImage: "/b.qcow2" },
  hypervisor: hypervisorRef("kvm"), allowRestart: true, ...over,
});

async function plannedChanges(mod: typeof container | typeof guest, olds: Record<string, unknown>, news: Record<string, unknown>) {
  const o = (await mod.check({}, olds)).inputs;
  const r = await mod.check(o, news);
  assert.deepEqual(r.failures, []);
  return r.inputs.plannedChanges as Record<string, string>;
}

test("which actions take a snapshot first", () => {
  assert.equal(takesSnapshotFirst("restart", "restart"), true);
  assert.equal(takesSnapshotFirst("replace", "restart"), true);
  assert.equal(takesSnapshotFirst("live", "restart"), false);
  assert.equal(takesSnapshotFirst("restart", "replace"), false);
  assert.equal(takesSnapshotFirst("replace", "replace"), true);
  assert.equal(takesSnapshotFirst("restart", "never"), false);
  assert.equal(takesSnapshotFirst("restart", undefined), false);
  const line = safetyNetStep("restart", "restart", 2, { noun: "container", covers: "root filesystem", survives: "x" })!;
  assert.match(line, /^restart — a snapshot is taken first: pv-auto-<time> of the container's root filesystem; the last 2 /);
});

test("preview: a restarting change with snapshotBefore says 'restart — a snapshot is taken first'; without it, nothing", async () => {
  const net = { network: { address: "10.0.3.5/24" } };
  const withNet = await plannedChanges(container, web({ snapshotBefore: "restart", keep: 2 }), web({ snapshotBefore: "restart", keep: 2, ...net }));
  assert.match(withNet.network, /^restart: /);
  assert.match(withNet.snapshotBefore, /^restart — a snapshot is taken first: .*root filesystem.*the last 2 /);
  const plain = await plannedChanges(container, web(), web(net));
  assert.equal(plain.snapshotBefore, undefined, "a run without the option shows no snapshot step");
  const live = await plannedChanges(container, web({ snapshotBefore: "restart" }), web({ snapshotBefore: "restart", memory: 512 }));
  assert.equal(live.snapshotBefore, undefined, "a live change takes no snapshot");
  const onlyReplace = await plannedChanges(container, web({ snapshotBefore: "replace" }), web({ snapshotBefore: "replace", ...net }));
  assert.equal(onlyReplace.snapshotBefore, undefined, '"replace" takes none before a restart');
  const g = await plannedChanges(guest, vm({ snapshotBefore: "restart" }), vm({ snapshotBefore: "restart", maxMemory: 1024 }));
  assert.match(g.snapshotBefore, /^restart — a snapshot is taken first: .*guest's disks \(and memory when it runs\)/);
  assert.deepEqual(sshActivity(), NO_SSH, "no SSH command was sent");
});

test("preview of a replacement with snapshotBefore says what outlives it and how to restore by hand", async () => {
  const o = (await guest.check({}, vm({ snapshotBefore: "replace" }))).inputs;
  const n = (await guest.check(o, vm({ snapshotBefore: "replace", rootDisk: { baseImage: "/c.qcow2" } }))).inputs;
  const d = await guest.diff("kvm-1", o, n);
  assert.deepEqual(d.replaces, ["rootDisk"]);
  const again = (await guest.check({}, n)).inputs.plannedChanges as Record<string, string>;
  assert.match(again.snapshotBefore, /^replace — a snapshot is taken first: .*outlives the replacement \(the data disks keep it .*qemu-img snapshot -a/);
});

test("check refuses the safety net and Snapshots on xen, naming the property, before any SSH command", async () => {
  const xen = hypervisorRef("xen");
  const g = await guest.check({}, { name: "pv1", virtualization: "para", vcpus: 1, memory: 128, boot: { kernel: "/boot/vmlinuz" }, hypervisor: xen, snapshotBefore: "restart" });
  const f = g.failures.find((x) => x.property === "snapshotBefore");
  assert.ok(f, JSON.stringify(g.failures));
  assert.match(f.reason, /xl has no snapshot command/);
  assert.match(f.reason, /"never", "restart", "replace"/);
  const s = await snapshot.check({}, { name: "s1", hypervisor: xen, machineName: "pv1", machineToken: "0123456789abcdef" });
  const sf = s.failures.find((x) => x.property === "machine");
  assert.ok(sf, JSON.stringify(s.failures));
  assert.match(sf.reason, /no snapshots in pulumi-virt: xl has no snapshot command/);
  const bad = await snapshot.check({}, { name: "auto-1", hypervisor: hypervisorRef("lxc"), machineName: "web", machineToken: "0123456789abcdef" });
  assert.match(bad.failures.find((x) => x.property === "name")?.reason ?? "", /safety net/);
  const badKeep = await container.check({}, web({ snapshotBefore: "sometimes", keep: 0 }));
  assert.deepEqual(badKeep.failures.map((x) => x.property).sort(), ["keep", "snapshotBefore"]);
  assert.deepEqual(sshActivity(), NO_SSH, "no SSH command was sent");
});

test("a Snapshot's restore is planned as a restart; a new name replaces it", async () => {
  const base = { name: "s1", hypervisor: hypervisorRef("lxc"), machineName: "web", machineToken: "0123456789abcdef" };
  const o = (await snapshot.check({}, base)).inputs;
  assert.equal(o.plannedAction, "create");
  const r = (await snapshot.check(o, { ...base, restore: "r1" })).inputs;
  assert.equal(r.plannedAction, "restart");
  assert.match((r.plannedChanges as Record<string, string>).restore, /^restart: unset → r1: the container "web" is stopped, rolled back to snapshot "s1" and started again/);
  assert.deepEqual((await snapshot.diff("snap-1", o, { ...base, restore: "r1" })).replaces, []);
  assert.equal((await snapshot.diff("snap-1", o, { ...base, restore: "r1" })).changes, true);
  assert.deepEqual((await snapshot.diff("snap-1", o, { ...base, name: "s2" })).replaces, ["name"]);
  assert.equal(planSnapshot({ name: "s1", machineName: "web", restore: "r1" }, { name: "s1", machineName: "web", restore: "r1" }, "container").overall, "none");
  assert.match(planSnapshot({ name: "s1", machineName: "web", restore: "r1" }, { name: "s1", machineName: "web" }, "container").changes.restore, /^settings only/);
});

test("the review shows the snapshot step with the restart, and counts it once", () => {
  const step = (planned: Record<string, string>) => ({
    op: "update", urn: "urn:pulumi:e2e::p::pulumi-nodejs:dynamic/pulumi-virt:Container::web",
    newState: { type: "pulumi-nodejs:dynamic/pulumi-virt:Container", inputs: { plannedChanges: planned } },
  });
  const planned = { network: "restart: unset → {}: needs a restart", snapshotBefore: "restart — a snapshot is taken first: pv-auto-<time> of the container's root filesystem; the last 2 are kept" };
  const r = buildReview({ steps: [step(planned)] });
  assert.equal(r.totals.restart, 1);
  assert.match(r.rows[0].reason, /needs a restart; a snapshot is taken first: pv-auto-<time>/);
  const none = buildReview({ steps: [step({ network: planned.network })] });
  assert.doesNotMatch(none.rows[0].reason, /snapshot/);
});

test("parsers: lxc report lines and libvirt snapshot XML; auto names sort by time", () => {
  const infos = parseSnapshotLines("snapshot pv-b 1796305100 2048\nnoise\nsnapshot pv-a 1796305000 1024\n");
  assert.deepEqual(infos.map((i) => i.name), ["pv-a", "pv-b"]);
  assert.deepEqual(infos[0], { name: "pv-a", takenAt: new Date(1796305000 * 1000).toISOString(), sizeBytes: 1024, covers: { disks: ["rootfs"], memory: false } });
  const xml = `<domainsnapshot>\n  <name>pv-x</name>\n  <description>pulumi-virt abc</description>\n  <state>running</state>\n  <creationTime>1796305076</creationTime>\n  <memory snapshot='internal'/>\n  <disks>\n    <disk name='vda' snapshot='internal'/>\n    <disk name='sda' snapshot='no'/>\n  </disks>\n  <domain type='qemu'>\n  <devices><disk type='file' device='disk'/></devices></domain></domainsnapshot>`;
  assert.deepEqual(parseSnapshotXml(xml), { name: "pv-x", description: "pulumi-virt abc", state: "running", createdEpoch: 1796305076, disks: ["vda"], memory: true });
  const a = autoSnapshotName(new Date("2026-12-03T13:05:09.123Z"));
  assert.equal(a, "pv-auto-20261203t130509");
  assert.ok(a < autoSnapshotName(new Date("2026-12-03T13:05:10Z")));
});

test("an apply that fails after the safety net's snapshot names it in the error; without one the error is unchanged", () => {
  const snap = { name: "pv-auto-20261203t130509", takenAt: "2026-12-03T13:05:09.000Z", sizeBytes: 1, covers: { disks: ["rootfs"], memory: false } };
  const e = withSnapshotNote(new Error('container "web" on host "h1": restart with the new configuration failed: boom.'), snap, "web");
  assert.match(e.message, /boom\. The snapshot "pv-auto-20261203t130509" of "web" taken before this change is kept: restore it/);
  assert.equal(withSnapshotNote(new Error("boom"), undefined, "web").message, "boom");
});
