// Finding 2 of issue 19: values that are or can carry secrets (Container environment values, Guest cloud-init data)
// never appear in plannedChanges, lastApplied, check failures, update errors or the review report; the action and
// the reason stay exact.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as container from "../../provider/resources/impl/container";
import * as guest from "../../provider/resources/impl/guest";
import { buildReview, renderMarkdown, renderTable } from "../../provider/cli/review";
import { answerHostReadsLocally, hypervisorRef } from "./plan-fixtures";

answerHostReadsLocally();

const OLD_PW = "Old-Pa55word-9f3a";
const NEW_PW = "New-Pa55word-7c1e";

function assertNoSecret(what: string, v: unknown): void {
  const text = typeof v === "string" ? v : JSON.stringify(v);
  for (const s of [OLD_PW, NEW_PW]) assert.ok(!text.includes(s), `${what} must not contain a secret value: ${text}`);
}

const CT = { name: "web", memory: 256, hypervisor: hypervisorRef("lxc") };

test("a changed environment value is planned as restart with [secret] marks; failures and plans hold no value", async () => {
  const olds = (await container.check({}, { ...CT, environment: { DB_PASSWORD: OLD_PW, MODE: "x" } })).inputs;
  // Without allowRestart the change fails at check: the failure names the property but not the value.
  const refused = await container.check(olds, { ...CT, environment: { DB_PASSWORD: NEW_PW, MODE: "x" } });
  assert.equal(refused.failures.length, 1);
  assert.equal(refused.failures[0].property, "environment");
  assert.match(refused.failures[0].reason, /needs a restart/);
  assertNoSecret("check failure", refused.failures);
  assertNoSecret("planned changes", refused.inputs.plannedChanges);
  const ok = await container.check(olds, { ...CT, allowRestart: true, environment: { DB_PASSWORD: NEW_PW, MODE: "x" } });
  assert.deepEqual(ok.failures, []);
  assert.equal(ok.inputs.plannedAction, "restart");
  const line = (ok.inputs.plannedChanges as Record<string, string>).environment as string;
  assert.equal(line, 'restart: {"DB_PASSWORD":"[secret]","MODE":"[secret]"} → {"DB_PASSWORD":"[secret, changed]","MODE":"[secret]"}: the environment is given to init at container start');
  // The planner's per-property values (the source of lastApplied.changes) are redacted too.
  const plan = container.planFor(olds, ok.inputs);
  assertNoSecret("plan", plan);
  const diff = await container.diff("id", olds, ok.inputs);
  assert.equal(diff.changes, true);
});

test("an update refused by the plan does not put the value into its error", async () => {
  const olds = (await container.check({}, { ...CT, environment: { DB_PASSWORD: OLD_PW } })).inputs;
  await assert.rejects(container.update("id", { ...olds, observed: {} }, { ...olds, environment: { DB_PASSWORD: NEW_PW } }), (e: Error) => {
    assert.match(e.message, /environment/);
    assertNoSecret("update error", e.message);
    return true;
  });
});

const VM = { name: "vm1", virtualization: "full", vcpus: 1, memory: 256, boot: { kernel: "/boot/vmlinuz" }, rootDisk: { baseImage: "/var/lib/base.qcow2" }, hypervisor: hypervisorRef("kvm") };
const userData = (pw: string) => `#cloud-config\npassword: ${pw}\nchpasswd: { expire: false }\n`;

test("a cloud-init password change on a kvm guest is planned as replace with [secret] marks", async () => {
  const olds = (await guest.check({}, { ...VM, cloudInit: { userData: userData(OLD_PW) } })).inputs;
  const refused = await guest.check(olds, { ...VM, cloudInit: { userData: userData(NEW_PW) } });
  assert.equal(refused.failures[0]?.property, "cloudInit");
  assertNoSecret("guest check failure", refused.failures);
  const r = await guest.check(olds, { ...VM, allowDataLoss: true, cloudInit: { userData: userData(NEW_PW), networkConfig: `version: 2 # ${NEW_PW}` } });
  assert.deepEqual(r.failures, []);
  assert.equal(r.inputs.plannedAction, "replace");
  assert.match((r.inputs.plannedChanges as Record<string, string>).cloudInit, /^replace: \{"userData":"\[secret\]"\} → \{"networkConfig":"\[secret, changed\]","userData":"\[secret, changed\]"\}: cloud-init /);
  assertNoSecret("guest plan", guest.planFor(olds, r.inputs));
  assertNoSecret("guest planned changes", r.inputs.plannedChanges);
  // Setting cloud-init where there was none, and removing it.
  const added = await guest.check({ ...olds, cloudInit: undefined }, { ...VM, allowDataLoss: true, cloudInit: { userData: userData(NEW_PW) } });
  assertNoSecret("added", added.inputs.plannedChanges);
  assert.match((added.inputs.plannedChanges as Record<string, string>).cloudInit, /^replace: unset → /);
});

test("the review report withholds secret values even from a plan written in plain text (older release)", () => {
  const preview = {
    steps: [{
      op: "update", urn: "urn:pulumi:s::p::pulumi-nodejs:dynamic/pulumi-virt:Container::web",
      newState: { type: "pulumi-nodejs:dynamic/pulumi-virt:Container", inputs: { plannedChanges: {
        environment: `restart: {"DB_PASSWORD":"${OLD_PW}"} → {"DB_PASSWORD":"${NEW_PW}"}: the environment is given to init at container start`,
        memory: "live: 256 → 512: applied live (cgroup memory limit)",
      } } },
    }],
  };
  const review = buildReview(preview);
  for (const out of [renderMarkdown(review), renderTable(review)]) {
    assertNoSecret("review", out);
    assert.match(out, /256 → 512/);
  }
  assertNoSecret("review rows", review);
  assert.equal(review.rows.find((r) => r.property === "environment")?.action, "restart");
});
