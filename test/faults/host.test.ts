// Issue 12, faults of the host itself, through the real CLI on lab host h2:
//   4. a KVM guest that ignores ACPI shutdown (kernel cmdline pv.noacpi=1) gets a restart-class change: the up
//      completes by destroying it after shutdownTimeoutSec, says so in lastApplied, and keeps its data disk;
//   5. the host restarts between two ups: its containers are down afterwards (state dirs kept); refresh shows
//      the drift and the next up starts them again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../e2e/harness";
import { ensureLab, onHost, onHostOk } from "../support/lab";
import {
  FIXTURE, FaultStack, LabLock, assertNoLeftovers, assertRunningOnce, faultHost, fixtureConfig, hostView, restartHost, scrubHost,
  smallContainer, uniquePrefix,
} from "../support/faults";

function guestImageDir(): string {
  return execFileSync("bash", [join(REPO_ROOT, "lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
}

test("4. a guest that ignores ACPI shutdown: a restart-class change completes by destroying it after shutdownTimeoutSec", { timeout: 300_000 }, async (t) => {
  await ensureLab();
  const host = faultHost();
  const img = guestImageDir();
  const name = `${uniquePrefix("g")}-vm`;
  const stack = await FaultStack.create({ program: FIXTURE, config: fixtureConfig(host), privateKey: readFileSync(host.privateKeyPath, "utf8") });
  t.after(async () => {
    await stack.dispose();
    await scrubHost(faultHost(), [name]);
  });
  const shutdownTimeoutSec = 3;
  const vm: Record<string, any> = {
    hypervisor: "kvm1", name, virtualization: "full", vcpus: 1, maxVcpus: 2, memory: "128MiB", maxMemory: "192MiB",
    boot: { kernel: `${img}/vmlinuz`, initrd: `${img}/initrd.img`, cmdline: "console=ttyS0 pv.noacpi=1" },
    rootDisk: { baseImage: `${img}/base-a.qcow2`, size: "64MiB" },
    dataDisks: [{ name: "data", size: "16MiB", deleteOnDestroy: true }],
    shutdownTimeoutSec,
  };
  await stack.setConfig("guests", { vm });
  await stack.up();
  const dataDisk = `/var/lib/libvirt/images/pulumi-virt/${name}/data-data.qcow2`;
  const diskId = async () => (await onHostOk(host, ["stat", "-c", "%i %s", dataDisk])).trim();
  const diskBefore = await diskId();
  const pidFile = `/run/libvirt/qemu/${name}.pid`;
  const qemuBefore = (await onHostOk(host, ["cat", pidFile])).trim();
  // The guest's init ignores the ACPI power button (pv.noacpi=1): only destroy can stop it.
  await onHostOk(host, ["sh", "-c", 'grep -q "pv.noacpi=1" "$1"', "sh", `/proc/${qemuBefore}/cmdline`]);

  await t.test("the restart-class change (maxMemory) with allowRestart completes; lastApplied says the guest was destroyed", async () => {
    Object.assign(vm, { maxMemory: "256MiB", allowRestart: true });
    await stack.setConfig("guests", { vm });
    const started = Date.now();
    await stack.up();
    const took = Date.now() - started;
    assert.ok(took >= shutdownTimeoutSec * 1000, `the up waited for the shutdown timeout (${took} ms)`);
    const outs = (await stack.outputs()).resources.vm;
    t.diagnostic(`lastApplied: ${JSON.stringify(outs.lastApplied)}`);
    assert.equal(outs.lastApplied.action, "restart");
    assert.equal(outs.lastApplied.stoppedBy, "destroyed", "the outputs say how the guest was stopped");
    const qemuAfter = (await onHostOk(host, ["cat", pidFile])).trim();
    assert.notEqual(qemuAfter, qemuBefore, "a new QEMU runs the guest");
    const dominfo = await onHostOk(host, ["virsh", "-c", "qemu:///system", "dominfo", name]);
    assert.match(dominfo, /State:\s+running/);
    assert.match(dominfo, /Max memory:\s+262144 KiB/);
  });

  await t.test("the data disk survived the hard stop (same file)", async () => {
    assert.equal(await diskId(), diskBefore);
  });

  await t.test("no drift; destroy leaves no domain or disk; the key appears nowhere", async () => {
    await stack.refresh({ expectNoChanges: true });
    await stack.destroy();
    await assertNoLeftovers(host, [name]);
    await stack.assertNoKeyLeak();
  });
});

test("5. the host restarts between two ups: refresh shows its containers down, the next up starts them again", { timeout: 300_000 }, async (t) => {
  await ensureLab();
  let host = faultHost();
  const p = uniquePrefix("r");
  const names = [`${p}-loop`, `${p}-dir`];
  const stack = await FaultStack.create({ program: FIXTURE, config: fixtureConfig(host), privateKey: readFileSync(host.privateKeyPath, "utf8") });
  t.after(async () => {
    await stack.dispose();
    await scrubHost(faultHost(), names);
  });
  await stack.setConfig("containers", {
    loop: smallContainer(names[0], { disk: { size: "64MiB", fstype: "ext4" } }),
    dir: smallContainer(names[1]),
  });
  await stack.up();
  const initPid = async (n: string) => (await onHost(host, ["lxc-info", "-n", n, "-p", "-H"])).stdout.trim();
  const pidsBefore = await Promise.all(names.map(initPid));

  // "Restarted" in this lab: the host's sshd and this stack's containers (monitor and payload) are killed,
  // their loop devices and cgroups go, the state directories stay; then sshd starts again.
  host = await LabLock.during(() => restartHost(host, names));
  const v = await hostView(host, names);
  assert.deepEqual([...v.containers].sort(), [...names].sort(), "the containers' state survived the restart");
  assert.deepEqual(v.running, [], "nothing runs after the restart");
  assert.deepEqual(v.loops, [], "no loop device survived the restart");

  await t.test("refresh reports the drift (the containers are not running)", async () => {
    const r = await stack.refresh({ expectNoChanges: true, okCodes: Array.from({ length: 256 }, (_, i) => i) });
    assert.notEqual(r.code, 0, "refresh --expect-no-changes must fail: the containers are down");
    await stack.refresh();
    // Stack outputs change only on up; the refreshed resource state says it.
    const resources = JSON.parse(await stack.exportState()).deployment.resources;
    for (const k of ["loop", "dir"]) {
      const r = resources.find((x: any) => x.urn.endsWith(`::${k}`));
      assert.equal(r.outputs.running, false, `${k} is observed stopped`);
    }
  });

  await t.test("the next up starts them again (new init processes, one loop device); then no drift", async () => {
    await stack.up();
    await assertRunningOnce(host, names);
    assert.equal((await hostView(host, names)).loops.length, 1, "one loop device for the loop-backed container");
    const pidsAfter = await Promise.all(names.map(initPid));
    for (let i = 0; i < names.length; i++) assert.notEqual(pidsAfter[i], pidsBefore[i], `${names[i]} was started again`);
    await stack.refresh({ expectNoChanges: true });
  });

  await t.test("destroy leaves nothing; the key appears nowhere", async () => {
    await stack.destroy();
    await assertNoLeftovers(host, names);
    await stack.assertNoKeyLeak();
  });
});
