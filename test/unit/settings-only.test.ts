// A change of provider settings only (allowRestart, allowDataLoss, adopt, a timeout, gracefulDestroy) is not a change
// of the machine: plannedChanges names it "settings only", plannedAction stays none, and `pulumi-virt review` neither shows it as a
// live change nor counts it as one.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as container from "../../provider/resources/impl/container";
import * as guest from "../../provider/resources/impl/guest";
import { buildReview, renderTable } from "../../provider/cli/review";
import { hypervisorRef } from "./plan-fixtures";

const CT = { name: "web", memory: "256MiB", hypervisor: hypervisorRef("lxc") };
const VM = { name: "vm", virtualization: "full", vcpus: 1, memory: "256MiB", boot: { firmware: "bios" }, rootDisk: { baseImage: "/srv/base.qcow2" }, hypervisor: hypervisorRef("kvm") };

const CASES = [
  { label: "container allowRestart", impl: container, base: CT, patch: { allowRestart: true }, property: "allowRestart" },
  { label: "container stopTimeoutSec", impl: container, base: CT, patch: { stopTimeoutSec: 90 }, property: "stopTimeoutSec" },
  { label: "container gracefulDestroy", impl: container, base: CT, patch: { gracefulDestroy: true }, property: "gracefulDestroy" },
  { label: "container adopt", impl: container, base: CT, patch: { adopt: true }, property: "adopt" },
  { label: "guest allowDataLoss", impl: guest, base: VM, patch: { allowDataLoss: true }, property: "allowDataLoss" },
  { label: "guest shutdownTimeoutSec", impl: guest, base: VM, patch: { shutdownTimeoutSec: 5 }, property: "shutdownTimeoutSec" },
];

for (const c of CASES) {
  test(`${c.label} only: settings only in plannedChanges, no action, an update for the engine`, async () => {
    const olds = (await c.impl.check({}, c.base)).inputs;
    const res = await c.impl.check(olds, { ...c.base, ...c.patch });
    assert.deepEqual(res.failures, []);
    assert.equal(res.inputs.plannedAction, "none");
    const planned = res.inputs.plannedChanges as Record<string, string>;
    assert.deepEqual(Object.keys(planned), [c.property]);
    assert.match(planned[c.property], /^settings only: .* → .*: a provider setting; the machine is not touched$/);
    // The engine still stores the new setting (an update that touches no machine).
    assert.equal((await c.impl.diff("id", olds, res.inputs)).changes, true);
    assert.equal(c.impl.planFor(olds, res.inputs).overall, "none");
  });
}

test("review: 15 containers with only allowRestart added are 15 settings-only rows, 0 live", async () => {
  const steps = [];
  for (let i = 0; i < 15; i++) {
    const base = { ...CT, name: `web${i}` };
    const olds = (await container.check({}, base)).inputs;
    const news = (await container.check(olds, { ...base, allowRestart: true })).inputs;
    steps.push({ op: "update", urn: `urn:pulumi:dev::p::pulumi-nodejs:dynamic/pulumi-virt:Container::web${i}`, newState: { type: "pulumi-nodejs:dynamic/pulumi-virt:Container", inputs: news }, diffReasons: ["allowRestart"] });
  }
  const r = buildReview({ steps });
  assert.equal(r.totals.live, 0);
  assert.equal(r.totals.settings, 15);
  assert.ok(r.rows.every((x) => x.action === "settings" && x.property === "allowRestart"));
  const table = renderTable(r);
  assert.match(table, /SETTINGS ONLY/);
  assert.doesNotMatch(table, /\bLIVE\b/);
  assert.match(table, /0 live, 0 restart, 0 replace, 0 create, 0 delete, 15 settings only/);
});

test("review: settings that come with a machine change are its opt-ins, not extra rows", async () => {
  const olds = (await container.check({}, CT)).inputs;
  const news = (await container.check(olds, { ...CT, name: "web2", allowRestart: true })).inputs;
  assert.equal(news.plannedAction, "restart");
  const r = buildReview({ steps: [{ op: "update", urn: "urn:pulumi:dev::p::pulumi-nodejs:dynamic/pulumi-virt:Container::web", newState: { type: "pulumi-nodejs:dynamic/pulumi-virt:Container", inputs: news } }] });
  assert.deepEqual(r.rows.map((x) => [x.property, x.action]), [["name", "restart"]]);
});

test("a state saved before gracefulDestroy existed is not a change: its absence counts as the default (false)", async () => {
  const checked = (await container.check({}, CT)).inputs;
  const { gracefulDestroy: _g, ...olds } = checked;
  assert.equal(_g, false);
  const res = await container.check(olds, CT);
  assert.deepEqual(res.inputs.plannedChanges, {});
  assert.equal((await container.diff("id", olds, res.inputs)).changes, false);
  // Turning it on is still a settings-only change from the default.
  const on = await container.check(olds, { ...CT, gracefulDestroy: true });
  assert.match((on.inputs.plannedChanges as Record<string, string>).gracefulDestroy, /^settings only: false → true/);
});
