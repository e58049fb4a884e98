import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { buildReview, parsePlanned, renderMarkdown, renderTable, shouldFail } from "../../provider/cli/review";

const fixture = join(__dirname, "..", "..", "..", "test/unit/fixtures/preview-review.json");
const cli = join(__dirname, "..", "..", "provider/cli/main.js");
const preview = JSON.parse(readFileSync(fixture, "utf8"));

test("planned texts parse into action, old → new and reason", () => {
  assert.deepEqual(parsePlanned("live: 256 → 512: applied live (virtio balloon)"), { action: "live", from: "256", to: "512", reason: "applied live (virtio balloon)" });
  assert.equal(parsePlanned("restart: 2 → 1: vCPU unplug is unreliable")?.action, "restart");
  assert.equal(parsePlanned("something else"), undefined);
});

test("the review lists every planned property once, with totals; replacements are not counted three times", () => {
  const r = buildReview(preview);
  assert.deepEqual(r.totals, { live: 3, restart: 2, replace: 1, create: 1, delete: 0, settings: 0 });
  const web = r.rows.filter((x) => x.resource === "web");
  assert.deepEqual(web.map((x) => [x.property, x.action, x.from, x.to]), [["cpus", "live", "1", "2"], ["memory", "live", "256", "512"]]);
  const db = r.rows.filter((x) => x.resource === "db");
  assert.equal(db.length, 1);
  assert.equal(db[0].property, "rootDisk.baseImage");
  // A resource without per-property plans (a Hypervisor) falls back to the engine's diff reasons.
  assert.deepEqual(r.rows.filter((x) => x.resource === "kvm1").map((x) => x.property), ["bridge"]);
});

test("table and Markdown put replacements and restarts first and show the totals", () => {
  const r = buildReview(preview);
  const table = renderTable(r);
  const lines = table.split("\n");
  assert.match(lines[0], /^RESOURCE\s+TYPE\s+PROPERTY\s+CHANGE\s+ACTION\s+REASON$/);
  assert.match(lines[1], /^db\s+Guest\s+rootDisk\.baseImage\s+.*REPLACE/);
  assert.match(table, /Totals: 3 live, 2 restart, 1 replace, 1 create, 0 delete/);
  const md = renderMarkdown(r);
  assert.match(md, /^## pulumi-virt change review/);
  assert.match(md, /\| vm \| Guest \| memory \| 512 → 640 \| \*\*RESTART\*\* \| memory 640 exceeds maxMemoryMiB 512 fixed at boot \|/);
  assert.match(md, /\*\*3 live, 2 restart, 1 replace, 1 create, 0 delete\*\*/);
});

test("--fail-on restart fails on restarts and replacements; --fail-on replace only on replacements", () => {
  const r = buildReview(preview);
  assert.equal(shouldFail(r, undefined), false);
  assert.equal(shouldFail(r, "restart"), true);
  assert.equal(shouldFail(r, "replace"), true);
  const liveOnly = buildReview({ steps: preview.steps.filter((s: any) => s.urn.endsWith("::web")) });
  assert.equal(shouldFail(liveOnly, "restart"), false);
});

test("the pulumi-virt bin reads a file or stdin and sets its exit code", () => {
  const ok = spawnSync(process.execPath, [cli, "review", fixture, "--format", "markdown"], { encoding: "utf8" });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /\| web \| Container \| memory \|/);
  const fail = spawnSync(process.execPath, [cli, "review", "-", "--fail-on", "restart"], { input: readFileSync(fixture), encoding: "utf8" });
  assert.equal(fail.status, 3);
  const bad = spawnSync(process.execPath, [cli, "review", fixture, "--fail-on", "reboot"], { encoding: "utf8" });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--fail-on must be "restart" or "replace"/);
});
