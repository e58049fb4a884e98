// Issue 12, concurrency through the real CLI on lab host h2:
//   6. two stacks run `up` against one host at the same time: both succeed, no lock errors, no collisions;
//   8. one `up` creates 20 containers with --parallel 20: no lock errors, no sshd refusals (MaxSessions /
//      MaxStartups), all 20 exist, each with its own loop device.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CliResult } from "../e2e/harness";
import { ensureLab } from "../support/lab";
import { FIXTURE, FaultStack, assertNoLeftovers, assertRunningOnce, faultHost, fixtureConfig, scrubHost, smallContainer, uniquePrefix } from "../support/faults";

const LOOP_DISK = { size: "64MiB", fstype: "ext4" };
/** What contention would look like: LXC/loop/lock failures, sshd refusing sessions or connections. */
const CONTENTION = /\b(lock|locked|flock)\b|resource temporarily unavailable|device or resource busy|MaxSessions|MaxStartups|open failed|administratively prohibited|connection reset|refused|could not find a free loop/i;

function assertNoContention(results: CliResult[]): void {
  for (const r of results) {
    const bad = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => CONTENTION.test(l));
    assert.deepEqual(bad, [], "no lock errors or refused sessions in the CLI output");
  }
}

test("6. two stacks' ups against one host at once: both succeed, no lock errors, no collisions", { timeout: 300_000 }, async (t) => {
  await ensureLab();
  const host = faultHost();
  const key = readFileSync(host.privateKeyPath, "utf8");
  const p = uniquePrefix("2");
  // Same resource names in both programs, different container names on the host.
  const namesA = [`${p}-a1`, `${p}-a2`];
  const namesB = [`${p}-b1`, `${p}-b2`];
  const [a, b] = await Promise.all([0, 1].map(() => FaultStack.create({ program: FIXTURE, config: fixtureConfig(host), privateKey: key })));
  t.after(async () => {
    await Promise.all([a.dispose(), b.dispose()]);
    await scrubHost(faultHost(), [...namesA, ...namesB]);
  });
  await a.setConfig("containers", { web1: smallContainer(namesA[0], { disk: LOOP_DISK }), web2: smallContainer(namesA[1]) });
  await b.setConfig("containers", { web1: smallContainer(namesB[0], { disk: LOOP_DISK }), web2: smallContainer(namesB[1]) });

  await t.test("both ups succeed at once, each stack's containers exist once", async () => {
    const results = await Promise.all([a.up(), b.up()]);
    assertNoContention(results);
    await assertRunningOnce(host, [...namesA, ...namesB]);
  });
  await t.test("concurrent refreshes find no drift", async () => {
    assertNoContention(await Promise.all([a.refresh({ expectNoChanges: true }), b.refresh({ expectNoChanges: true })]));
  });
  await t.test("concurrent destroys leave nothing; the key appears nowhere", async () => {
    assertNoContention(await Promise.all([a.destroy(), b.destroy()]));
    await assertNoLeftovers(host, [...namesA, ...namesB]);
    await a.assertNoKeyLeak();
    await b.assertNoKeyLeak();
  });
});

test("8. 20 containers on one host in one up with --parallel 20: no lock errors, no sshd refusals, all 20 exist", { timeout: 420_000 }, async (t) => {
  await ensureLab();
  const host = faultHost();
  const p = uniquePrefix("p");
  const names = Array.from({ length: 20 }, (_, i) => `${p}-${String(i).padStart(2, "0")}`);
  const stack = await FaultStack.create({ program: FIXTURE, config: fixtureConfig(host), privateKey: readFileSync(host.privateKeyPath, "utf8") });
  t.after(async () => {
    await stack.dispose();
    await scrubHost(faultHost(), names);
  });
  await stack.setConfig("containers", Object.fromEntries(names.map((n, i) => [`c${i}`, smallContainer(n, { memory: "32MiB", disk: LOOP_DISK })])));

  await t.test("up --parallel 20 creates all 20, each with one loop device", async () => {
    const r = await stack.up(["--parallel", "20"]);
    assertNoContention([r]);
    assert.match(r.stdout, /\+ 2[0-9] created/);
    await assertRunningOnce(host, names, { loopBacked: true });
  });
  await t.test("refresh --parallel 20 finds no drift", async () => {
    assertNoContention([await stack.pulumi(["refresh", "--yes", "--skip-preview", "--expect-no-changes", "--parallel", "20"])]);
  });
  await t.test("destroy --parallel 20 leaves nothing; the key appears nowhere", async () => {
    assertNoContention([await stack.pulumi(["destroy", "--yes", "--skip-preview", "--parallel", "20"])]);
    await assertNoLeftovers(host, names);
    await stack.assertNoKeyLeak();
  });
});
