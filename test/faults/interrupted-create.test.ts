// Issue 12, case 7: a container create interrupted at each step, through the real CLI on lab host h2.
// - The `pulumi` process is SIGKILLed (CLI, program and dynamic provider) while lxc-create runs, and again
//   after the container runs but before the engine recorded it.
// - Partial containers carrying our ownership marker are left as an interrupted create leaves them: the
//   marker only; a half-made rootfs with a leaked loop device; created but never configured or started.
// The next `up` completes each of them without duplicates: one container, one rootfs image, one loop
// device, one resource in state, no pending operations; refresh finds no drift; destroy leaves nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ensureLab, LabHost, onHost, onHostOk } from "../support/lab";
import {
  FIXTURE, FaultStack, assertNoLeftovers, assertRunningOnce, faultHost, fixtureConfig, hostView, scrubHost, smallContainer, sleep,
  uniquePrefix, waitFor,
} from "../support/faults";

const LOOP_DISK = { size: "64MiB", fstype: "ext4" };

/** Exactly one Container resource per name in state; returns the URNs of pending operations. */
function assertStateOnce(state: string, names: string[]): string[] {
  const d = JSON.parse(state).deployment;
  const containers = d.resources.filter((r: any) => r.type.endsWith(":Container"));
  for (const n of names) {
    assert.equal(containers.filter((r: any) => r.outputs?.name === n || r.inputs?.name === n).length, 1, `one resource for container ${n} in state`);
  }
  return (d.pending_operations ?? []).map((o: any) => `${o.type} ${o.resource.urn.split("::").pop()}`);
}

/**
 * The engine keeps a killed run's create as a pending operation (and warns on every up) although the next up
 * finished that container; `refresh --clear-pending-creates` is the user's way to drop the stale record.
 */
async function clearPendingCreates(stack: FaultStack, expected: string[]): Promise<void> {
  // The first killed `up` also creates the fixture's Host and Hypervisors, which may be in flight at the kill too.
  expected = [...expected, faultHost().name, "lxc1", "kvm1"];
  const pending = assertStateOnce(await stack.exportState(), []);
  assert.ok(pending.every((p) => expected.some((e) => p === `creating ${e}`)), `pending operations are only the killed creates: ${pending.join(", ")}`);
  await stack.pulumi(["refresh", "--yes", "--skip-preview", "--clear-pending-creates"]);
  assert.deepEqual(assertStateOnce(await stack.exportState(), []), [], "no pending operations left");
}

/** What a create leaves on the host at a given point, made by hand: each carries our ownership marker. */
const PARTIAL_SCRIPT = `
set -e
kind=$1; n=$2; d=/var/lib/lxc/$n
mkdir -p /var/lib/lxc/.pulumi-virt; : > /var/lib/lxc/.pulumi-virt/$n
case $kind in
  marker) ;;
  half)
    # lxc-create was interrupted while it built the loop-backed rootfs: a partial image, a leaked loop device.
    mkdir -p "$d"; : > "$d/.pulumi-virt-creating"
    truncate -s 64M "$d/rootdev"; losetup -f "$d/rootdev" ;;
  created)
    # lxc-create finished; the config (limits, network) was never written and the container never started.
    lxc-create -n "$n" -t busybox -B loop --fstype ext4 --fssize 64M >/dev/null 2>&1
    : > "$d/.pulumi-virt-created" ;;
esac
`;

async function onHostAll(host: LabHost, script: string, args: string[]): Promise<void> {
  await onHostOk(host, ["sh", "-c", script, "sh", ...args], { timeoutMs: 60_000 });
}

/** Waits until no create script for `name` still runs on the host (a killed CLI does not stop it there). */
async function quiesce(host: LabHost, name: string): Promise<void> {
  await waitFor(`the create of ${name} to settle on the host`, async () => {
    const r = await onHost(host, ["pgrep", "-f", `lxc-create -n ${name}|lxc-busybox.*${name}`]);
    return r.stdout.trim() === "";
  }, 60_000, 200);
  await sleep(500);
}

test("7. create interrupted at each step: the next up completes it without duplicates", { timeout: 420_000 }, async (t) => {
  await ensureLab();
  const host = faultHost();
  const key = readFileSync(host.privateKeyPath, "utf8");
  const p = uniquePrefix("i");
  const [killedInCreate, killedAfterStart, markerOnly, halfMade, createdOnly] = ["k1", "k2", "p1", "p2", "p3"].map((s) => `${p}-${s}`);
  const names = [killedInCreate, killedAfterStart, markerOnly, halfMade, createdOnly];
  const stack = await FaultStack.create({ program: FIXTURE, config: fixtureConfig(host), privateKey: key });
  t.after(async () => {
    await stack.dispose();
    await scrubHost(faultHost(), names);
  });
  const containers: Record<string, unknown> = {};
  const setContainers = async (...ns: string[]) => {
    for (const n of ns) containers[n.slice(p.length + 1)] = smallContainer(n, { disk: LOOP_DISK });
    await stack.setConfig("containers", containers);
  };

  await t.test("CLI killed while lxc-create runs", async () => {
    await setContainers(killedInCreate);
    const up = await stack.spawnUp();
    try {
      await waitFor("lxc-create under way on the host", async () => {
        const r = await onHost(host, ["test", "-e", `/var/lib/lxc/${killedInCreate}/.pulumi-virt-creating`]);
        const done = await onHost(host, ["test", "-e", `/var/lib/lxc/${killedInCreate}/.pulumi-virt-created`]);
        return r.code === 0 && done.code !== 0;
      }, 120_000, 20);
    } finally {
      up.kill();
    }
    const r = await up.done;
    assert.match(r.stderr, /killed by SIGKILL/);
    await quiesce(host, killedInCreate);
    // What a user does after a killed CLI: the file backend's lock stays until `pulumi cancel`.
    await stack.cancel();
    const next = await stack.up();
    t.diagnostic(next.stdout.split("\n").filter((l) => /pending|interrupted/i.test(l)).join(" | ").slice(0, 400));
    await assertRunningOnce(host, [killedInCreate], { loopBacked: true });
    assertStateOnce(await stack.exportState(), [killedInCreate]);
    await clearPendingCreates(stack, ["k1"]);
  });

  await t.test("CLI killed after the container started, before the engine recorded it", async () => {
    await setContainers(killedAfterStart);
    const up = await stack.spawnUp();
    try {
      await waitFor("the container running on the host", async () => (await hostView(host, [killedAfterStart])).running.length === 1, 120_000, 20);
    } finally {
      up.kill();
    }
    assert.match((await up.done).stderr, /killed by SIGKILL/);
    await quiesce(host, killedAfterStart);
    await stack.cancel();
    await stack.up();
    await assertRunningOnce(host, [killedInCreate, killedAfterStart], { loopBacked: true });
    assertStateOnce(await stack.exportState(), [killedInCreate, killedAfterStart]);
    await clearPendingCreates(stack, ["k1", "k2"]);
  });

  await t.test("partial containers with our marker (marker only; half-made rootfs with a leaked loop; created, never started) are completed", async () => {
    await onHostAll(host, PARTIAL_SCRIPT, ["marker", markerOnly]);
    await onHostAll(host, PARTIAL_SCRIPT, ["half", halfMade]);
    await onHostAll(host, PARTIAL_SCRIPT, ["created", createdOnly]);
    assert.equal((await hostView(host, [halfMade])).loops.length, 1, "the half-made container has a leaked loop device");
    await setContainers(markerOnly, halfMade, createdOnly);
    await stack.up();
    const v = await assertRunningOnce(host, names, { loopBacked: true });
    t.diagnostic(`loops: ${v.loops.join("; ")}`);
    assert.deepEqual(assertStateOnce(await stack.exportState(), names), [], "no pending operations");
    // The configuration was written: the limit of this program is in force on the never-configured one.
    const mem = await onHostOk(host, ["lxc-cgroup", "-n", createdOnly, "memory.limit_in_bytes"]);
    assert.equal(Number(mem.trim()), 64 * 1048576);
    for (const n of names) {
      const files = (await onHostOk(host, ["ls", "-a", `/var/lib/lxc/${n}`])).split("\n").filter((f) => /^rootdev/.test(f));
      assert.deepEqual(files, ["rootdev"], `one rootfs image for ${n}`);
    }
  });

  await t.test("no drift; destroy leaves nothing; the key appears nowhere", async () => {
    await stack.refresh({ expectNoChanges: true });
    await stack.destroy();
    await assertNoLeftovers(host, names);
    await stack.assertNoKeyLeak();
  });
});
