// Issue 12, faults of the connection, through the real CLI against lab host h2:
//   1. the host's sshd is killed in the middle of an `up`,
//   2. the host's link is cut in the middle of an `up`,
//   3. a remote command hangs past its timeout.
// Each: the failing `up` names the host and the step, the next `up` converges, refresh shows no drift,
// destroy leaves nothing on the host, and the private key shows nowhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ensureLab, LabHost, labScript, onHost, run } from "../support/lab";
import {
  FIXTURE, FaultStack, HostTransport, LabLock, NamespaceAnchor, assertErrorsNameHostAndStep, assertNoLeftovers, assertRunningOnce,
  faultHost, fixtureConfig, hostView, killSshd, restartSshd, scrubHost, setLink, smallContainer, uniquePrefix, waitFor,
} from "../support/faults";

const LOOP_DISK = { size: "64MiB", fstype: "ext4" };

async function stackFor(t: { after: (fn: () => Promise<void>) => void }, host: LabHost, names: string[], transport: HostTransport): Promise<FaultStack> {
  const stack = await FaultStack.create({ program: FIXTURE, config: fixtureConfig(host, transport), privateKey: readFileSync(host.privateKeyPath, "utf8") });
  t.after(async () => {
    await stack.dispose();
    await scrubHost(faultHost(), names);
  });
  return stack;
}

/** After the fault: the next up converges, refresh finds no drift, destroy leaves nothing, no key anywhere. */
async function convergesAndCleansUp(stack: FaultStack, names: string[]): Promise<void> {
  await stack.up();
  await assertRunningOnce(faultHost(), names, { loopBacked: true });
  await stack.refresh({ expectNoChanges: true });
  await stack.destroy();
  await assertNoLeftovers(faultHost(), names);
  await stack.assertNoKeyLeak();
}

test("1. sshd killed mid-up: the up fails naming host and step; after sshd is back the next up converges", { timeout: 300_000 }, async (t) => {
  await ensureLab();
  let host = faultHost();
  const p = uniquePrefix("s");
  const names = ["a", "b", "c"].map((s) => `${p}-${s}`);
  const stack = await stackFor(t, host, names, { dialTimeoutMs: 3000 });
  await stack.setConfig("containers", Object.fromEntries(names.map((n, i) => [`c${i}`, smallContainer(n, { disk: LOOP_DISK })])));

  // One at a time, so the kill lands between creates or in the middle of one. The lab lock keeps other
  // tests' ensureLab() from rebuilding the shared lab while h2 has no sshd.
  const failed = await LabLock.during(async () => {
    const up = await stack.spawnUp(["--parallel", "1"]);
    const anchor = await NamespaceAnchor.hold(host);
    const guard = setTimeout(() => up.kill(), 180_000);
    try {
      await waitFor("the first container running on the host", async () => (await hostView(host, names)).running.length > 0, 120_000, 50);
      const sessions = await killSshd(host, up.pid);
      assert.ok(sessions.length > 0, "found the sshd sessions serving this up");
      return await up.done;
    } finally {
      clearTimeout(guard);
      up.kill();
      host = await restartSshd(host, anchor);
      anchor.release();
    }
  });
  await t.test("the up fails, each error naming the host and the step", async () => {
    assert.notEqual(failed.code, 0, "the up must fail while sshd is down");
    for (const e of assertErrorsNameHostAndStep(failed, host)) t.diagnostic(`error: ${e.split("\n")[0]}`);
    assert.ok((await hostView(host, names)).running.length < names.length, "the fault hit before every container was up");
  });
  await t.test("with sshd back, the next up converges; no drift; destroy leaves nothing; no key in any output", () => convergesAndCleansUp(stack, names));
});

test("2. link cut mid-up: the up fails within its timeouts naming host and step; after the link is back the next up converges", { timeout: 300_000 }, async (t) => {
  await ensureLab();
  const host = faultHost();
  const p = uniquePrefix("l");
  const names = ["a", "b", "c"].map((s) => `${p}-${s}`);
  const stack = await stackFor(t, host, names, { dialTimeoutMs: 3000, commandTimeoutMs: 6000 });
  await stack.setConfig("containers", Object.fromEntries(names.map((n, i) => [`c${i}`, smallContainer(n, { disk: LOOP_DISK })])));

  let cutAt = 0;
  const failed = await LabLock.during(async () => {
    const up = await stack.spawnUp(["--parallel", "1"]);
    // The provider's own timeouts must end the up (dial 3 s, command 6 s, then the remote group is killed);
    // the guard only keeps a hung CLI from holding the lab lock.
    const guard = setTimeout(() => up.kill(), 100_000);
    try {
      await waitFor("the first container running on the host", async () => (await hostView(host, names)).running.length > 0, 90_000, 50);
      await setLink(host, "down");
      cutAt = Date.now();
      return await up.done;
    } finally {
      clearTimeout(guard);
      await setLink(host, "up");
      up.kill();
    }
  });
  const took = Date.now() - cutAt;
  await t.test("the up ends by its own timeouts, each error naming the host and the step", () => {
    t.diagnostic(`the up ended ${took} ms after the cut`);
    if (/killed by SIGKILL/.test(failed.stderr)) {
      const inFlight = failed.stdout.split("\n").filter((l) => /(creating|updating|reading) \(\d+s\)/.test(l)).slice(-3);
      t.diagnostic(`still running when the guard killed it: ${inFlight.join(" | ")}`);
    }
    assert.notEqual(failed.code, 0, "the up must fail while the link is down");
    assert.doesNotMatch(failed.stderr, /killed by SIGKILL/, "the up ended by itself (its timeouts), not by the test's guard");
    assert.ok(took < 60_000, `the up failed ${took} ms after the cut; dial 3 s and command 6 s timeouts should end it sooner`);
    const errs = assertErrorsNameHostAndStep(failed, host);
    for (const e of errs) t.diagnostic(`error: ${e.split("\n")[0]}`);
    // Which of the provider's own limits ends it depends on what was in flight at the cut: a short command hits
    // commandTimeoutMs (then the watchdog drops the dead connection), a new connection hits dialTimeoutMs, and a
    // long one (a container's create may take minutes, so its limit is long) ends when the transport's TCP
    // keepalive declares the link dead: "the SSH connection dropped while the command ran".
    assert.ok(errs.some((e) => /timed out|no SSH handshake|dialTimeoutMs|SSH connection dropped/.test(e)), `a timeout or a dead link is reported: ${errs.join("\n---\n")}`);
  });
  // A CLI killed by the guard leaves the file backend's stack lock behind; `pulumi cancel` is the user's way out.
  if (/killed by SIGKILL/.test(failed.stderr)) await stack.cancel();
  await waitFor("the host answering SSH again", async () => (await run(["bash", labScript, "status"], { timeoutMs: 30_000 })).code === 0, 30_000, 500);
  await t.test("with the link back, the next up converges; no drift; destroy leaves nothing; no key in any output", () => convergesAndCleansUp(stack, names));
});

/** PIDs of processes in a container's LXC monitor cgroup (its `[lxc monitor]`). */
function monitorPids(host: LabHost, name: string): number[] {
  const f = `/sys/fs/cgroup/memory/${host.netns}/lxc.monitor.${name}/cgroup.procs`;
  return readFileSync(f, "utf8").split("\n").filter(Boolean).map(Number);
}

test("3. a remote command that hangs past commandTimeoutMs: the up fails with a timeout naming the step; the connection stays usable", { timeout: 300_000 }, async (t) => {
  await ensureLab();
  const host = faultHost();
  const p = uniquePrefix("h");
  const [hang, slow] = [`${p}-hang`, `${p}-slow`];
  const names = [hang, slow];
  const stack = await stackFor(t, host, names, { commandTimeoutMs: 4000 });
  // busybox init ignores LXC's halt signal, so a stop waits stopTimeoutSec (longer than the command
  // timeout) and then kills: `slow`'s restart outlives `hang`'s timeout on the same provider process.
  const containers = {
    hang: smallContainer(hang, { disk: LOOP_DISK }),
    slow: smallContainer(slow, { disk: LOOP_DISK, stopTimeoutSec: 8, environment: { V: "1" } }),
  };
  await stack.setConfig("containers", containers);
  await stack.up();

  // A stopped LXC monitor makes every lxc-info on that container block: the provider's next read hangs.
  const monitors = monitorPids(host, hang);
  assert.ok(monitors.length > 0, "found the monitor of the hanging container");
  (containers.hang as any).memory = "96MiB";
  Object.assign(containers.slow, { environment: { V: "2" }, allowRestart: true });
  await stack.setConfig("containers", containers);
  // While the monitor is stopped, lxc-ls on h2 blocks too: hold the lab lock (lab.sh down lists containers).
  const failed = await LabLock.during(async () => {
    for (const m of monitors) process.kill(m, "SIGSTOP");
    try {
      const r = await stack.upFails();
      // The timed-out command's remote process group was killed: no lxc-info left blocking on the host.
      const left = await onHost(host, ["pgrep", "-f", `lxc-info -n ${hang}`]);
      assert.equal(left.stdout.trim(), "", "the hung remote command was killed");
      return r;
    } finally {
      for (const m of monitors) process.kill(m, "SIGCONT");
    }
  });
  await t.test("the up fails with a timeout naming the container, the step and the limit", () => {
    const errs = assertErrorsNameHostAndStep(failed, host, /apply live changes/);
    for (const e of errs) t.diagnostic(`error: ${e.split("\n")[0]}`);
    assert.ok(errs.some((e) => e.includes(hang) && /timed out after 4000 ms/.test(e)), `the timeout names the container and the limit: ${errs.join("\n---\n")}`);
  });
  await t.test("the connection stayed usable: the other container's restart (8 s stop) completed after the timeout", async () => {
    const state = JSON.parse(await stack.exportState());
    const slowState = state.deployment.resources.find((r: any) => r.urn.endsWith("::slow"));
    assert.equal(slowState.outputs.lastApplied.action, "restart");
    assert.equal((await onHost(host, ["lxc-info", "-n", slow, "-s", "-H"])).stdout.trim(), "RUNNING");
  });
  await t.test("the next up applies the change that timed out; no drift; destroy leaves nothing; no key in any output", async () => {
    await stack.up();
    const mem = (await onHost(host, ["lxc-cgroup", "-n", hang, "memory.limit_in_bytes"])).stdout.trim();
    assert.equal(Number(mem), 96 * 1048576);
    await assertRunningOnce(host, names, { loopBacked: true });
    await stack.refresh({ expectNoChanges: true });
    await stack.destroy();
    await assertNoLeftovers(host, names);
    await stack.assertNoKeyLeak();
  });
});
