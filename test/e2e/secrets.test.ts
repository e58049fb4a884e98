// Issue 19, finding 2, through the real CLI: a secret config value in a Container's environment (and in a Guest's
// cloud-init user-data) is changed; neither the old nor the new value appears in `pulumi preview --json`,
// `pulumi preview --diff`, `pulumi up` output (which carries the provider's log lines), `pulumi stack export`,
// the review report (Markdown and table) or the transport trace file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, TestStack } from "./harness";
import { ensureLab, loadLab } from "../support/lab";
import { buildReview, renderMarkdown, renderTable } from "../../provider/cli/review";

const secret = (what: string) => `${what}-${randomBytes(9).toString("hex")}`;

function assertAbsent(where: string, text: string, values: string[]): void {
  for (const v of values) assert.ok(!text.includes(v), `${where} contains a secret value in plain text`);
}

test("secret environment and cloud-init values never appear in previews, state, reports or logs", async (t) => {
  await ensureLab();
  const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const img = execFileSync("bash", [join(REPO_ROOT, "lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
  const traceDir = mkdtempSync(join(tmpdir(), "pv-secrets-trace-"));
  const trace = join(traceDir, "trace.log");
  const suffix = randomBytes(3).toString("hex");
  const [db1, db2, pw1, pw2] = [secret("db-old"), secret("db-new"), secret("pw-old"), secret("pw-new")];
  const all = [db1, db2, pw1, pw2];
  const stack = await TestStack.create({
    program: "test/e2e/fixtures/secrets",
    config: {
      host: JSON.stringify({ address: h1.address, port: h1.port, user: h1.user, hostKey: h1.hostKey }),
      containerName: `sec-web-${suffix}`,
      guest: JSON.stringify({ name: `sec-vm-${suffix}`, kernel: `${img}/vmlinuz`, initrd: `${img}/initrd.img`, baseImage: `${img}/base-a.qcow2` }),
    },
    secrets: { privateKey: readFileSync(h1.privateKeyPath, "utf8"), dbPassword: db1, guestPassword: pw1 },
    env: { PULUMI_VIRT_TRACE_FILE: trace },
  });
  t.after(async () => {
    await stack.destroy().catch(() => undefined);
    await stack.rm();
    rmSync(traceDir, { recursive: true, force: true });
  });

  const up1 = await stack.up();
  assertAbsent("first up output", up1.stdout + up1.stderr, all);

  await stack.setConfig("dbPassword", db2, { secret: true });
  await stack.setConfig("guestPassword", pw2, { secret: true });

  await t.test("preview --json plans the changes (restart / replace) without values; the review has none either", async () => {
    const res = await stack.pulumi(["preview", "--json"]);
    assertAbsent("preview --json", res.stdout + res.stderr, all);
    const p = JSON.parse(res.stdout.slice(res.stdout.search(/^\{/m)));
    const step = (r: string) => p.steps.find((s: { urn: string; newState?: { inputs?: Record<string, unknown> } }) => s.urn.endsWith(`::${r}`) && s.newState?.inputs?.plannedAction);
    assert.equal(step("web")?.newState.inputs.plannedAction, "restart");
    assert.match(String(step("web")?.newState.inputs.plannedChanges.environment), /^restart: .*"DB_PASSWORD":"\[secret, changed\]"/);
    assert.equal(step("vm")?.newState.inputs.plannedAction, "replace");
    assert.match(String(step("vm")?.newState.inputs.plannedChanges.cloudInit), /^replace: .*"userData":"\[secret, changed\]"/);
    const review = buildReview(p);
    assert.ok(review.rows.some((r) => r.resource === "web" && r.property === "environment" && r.action === "restart"));
    for (const [fmt, text] of [["markdown", renderMarkdown(review)], ["table", renderTable(review)]]) assertAbsent(`review (${fmt})`, text, all);
    // The CLI too, in both formats.
    for (const fmt of ["markdown", "table"]) {
      const out = execFileSync("node", [join(REPO_ROOT, "dist/provider/cli/main.js"), "review", "-", "--format", fmt], { input: res.stdout, encoding: "utf8" });
      assert.match(out, /environment/);
      assertAbsent(`pulumi-virt review --format ${fmt}`, out, all);
    }
  });

  await t.test("preview --diff shows the change without values", async () => {
    const res = await stack.preview({ diff: true });
    assert.match(res.stdout, /environment/);
    assertAbsent("preview --diff", res.stdout + res.stderr, all);
  });

  await t.test("up applies the container's change; state and logs hold no value in plain text", async () => {
    // Only the container is applied: the guest's replacement is covered at preview level (a TCG guest is slow).
    const res = await stack.pulumi(["up", "--yes", "--skip-preview", "--target", await webUrn(stack)]);
    assertAbsent("up output", res.stdout + res.stderr, all);
    const state = await stack.exportState();
    assertAbsent("stack export", state, all);
    const web = JSON.parse(state).deployment.resources.find((r: { urn: string }) => r.urn.endsWith("::web"));
    assert.ok(web.outputs.environment.ciphertext, "environment must be a secret output");
    assert.ok(web.outputs.lastApplied, "lastApplied recorded");
    assert.match(JSON.stringify(web.outputs.lastApplied), /\[secret, changed\]/);
    if (existsSync(trace)) assertAbsent("trace file", readFileSync(trace, "utf8"), all);
  });
});

async function webUrn(stack: TestStack): Promise<string> {
  const state = JSON.parse(await stack.exportState());
  return state.deployment.resources.find((r: { urn: string }) => r.urn.endsWith("::web")).urn;
}
