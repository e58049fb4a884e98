// The real Pulumi engine end to end (our CLI build + language host + dynamic-provider launcher),
// with a LazyResource (fixed provider text) from the packed pulumi-virt package and no SSH,
// on each row of the toolchain matrix (oldest supported Node + SDK, current LTS + current SDK).
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PreviewJson, TestStack } from "./harness";
import { rowOptions, toolchainMatrix } from "./toolchain-matrix";

const FILE_TYPE = "pulumi-nodejs:dynamic/smoke:LocalFile";

function changesOf(p: PreviewJson): Record<string, number> {
  const { same: _same, ...changes } = p.changeSummary;
  return changes;
}

for (const row of toolchainMatrix()) {
  test(`engine smoke [${row.label}]: up, no-op preview, change preview, refresh, destroy, secrets stay encrypted`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-smoke-"));
    const file = path.join(dir, "greeting.txt");
    const token = `tok-${randomBytes(12).toString("hex")}`;
    const stack = await TestStack.create({
      program: "test/e2e/fixtures/engine-smoke",
      config: { dir, content: "hello" },
      secrets: { token },
      ...(await rowOptions(row)),
    });
    t.after(async () => {
      await stack.rm();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    await t.test("up creates the file", async () => {
      const res = await stack.up();
      assert.match(res.stdout, /\+ 2 created/);
      assert.equal(fs.readFileSync(file, "utf8"), "hello");
      const outs = await stack.outputs();
      assert.equal(outs.path, file);
      assert.equal(outs.token, "[secret]");
      assert.match(String(outs.sha256), /^[0-9a-f]{64}$/);
      assert.equal((await stack.outputs({ showSecrets: true })).token, token);
      // The row is what ran: the program's SDK and node, and the dynamic-provider process's node.
      assert.deepEqual(outs.runtime, { sdk: row.sdk, node: outs.providerNode });
      assert.match(String(outs.providerNode), new RegExp(`^v${row.nodeMajor}\\.`));
    });

    await t.test("a second preview shows no changes", async () => {
      const p = await stack.preview({ json: true });
      assert.deepEqual(changesOf(p), {});
      assert.ok(p.steps.every((s) => s.op === "same"), JSON.stringify(p.steps.map((s) => s.op)));
      await stack.preview({ expectNoChanges: true });
    });

    await t.test("refresh finds no drift", async () => {
      const res = await stack.refresh({ expectNoChanges: true });
      assert.doesNotMatch(res.stdout, /~ 1 updated/);
    });

    await t.test("the exported state keeps the secret encrypted and the provider small", async (st) => {
      const state = await stack.exportState();
      assert.ok(!state.includes(token), "secret config value found in plain text in the state");
      const res = JSON.parse(state).deployment.resources.find((r: { type: string }) => r.type === FILE_TYPE);
      assert.ok(res, "LocalFile resource missing from state");
      assert.ok(res.inputs.token.ciphertext, "secret input not encrypted");
      assert.ok(res.outputs.token.ciphertext, "secret output not encrypted");
      // The provider text is stored with every resource: it must stay a small loader.
      const providerText: string = res.inputs.__provider;
      st.diagnostic(`serialized provider: ${providerText.length} chars`);
      assert.ok(providerText.length < 8192, `serialized provider grew to ${providerText.length} chars`);
      assert.ok(providerText.includes("./impl/localFile"), "provider text should only name the implementation module");
    });

    await t.test("a changed input shows in preview, and up applies it", async () => {
      await stack.setConfig("content", "hello again");
      const p = await stack.preview({ json: true });
      assert.deepEqual(changesOf(p), { update: 1 });
      const step = p.steps.find((s) => s.urn.includes(FILE_TYPE));
      assert.equal(step?.op, "update");
      assert.equal(step?.newState?.inputs?.content, "hello again");
      const text = await stack.preview({ diff: true });
      assert.match(text.stdout, /content\s*: "hello" => "hello again"/);
      assert.equal(fs.readFileSync(file, "utf8"), "hello", "preview must not apply changes");
      await stack.up();
      assert.equal(fs.readFileSync(file, "utf8"), "hello again");
    });

    await t.test("a failing check stops the preview with its message", async () => {
      await stack.setConfig("content", "");
      const p = await stack.preview({ json: true, allowFailure: true });
      const errors = (p.diagnostics ?? []).filter((d) => d.severity === "error");
      assert.ok(errors.some((d) => d.message.includes("content must be a non-empty string")), JSON.stringify(errors));
      await stack.setConfig("content", "hello again");
    });

    await t.test("a stack made with a closure-serialized provider moves to the fixed provider text with no change", async () => {
      const providerText = async () => {
        const res = JSON.parse(await stack.exportState()).deployment.resources.find((r: { type: string }) => r.type === FILE_TYPE);
        return res.inputs.__provider as string;
      };
      const fixed = await providerText();
      await stack.setConfig("providerStyle", "closure");
      await stack.up();
      const closure = await providerText();
      assert.notEqual(closure, fixed, "the closure serializer writes a different text");
      assert.match(closure, /require\(spec\)/);
      await stack.setConfig("providerStyle", "fixed");
      // The engine does not diff __provider and the resource's own diff sees equal inputs: nothing to do.
      await stack.preview({ expectNoChanges: true });
      const res = await stack.up();
      assert.doesNotMatch(res.stdout, /updated|replaced|created|deleted/);
      // ... and the resource keeps working under the new text.
      await stack.setConfig("content", "hello once more");
      await stack.up();
      assert.equal(fs.readFileSync(file, "utf8"), "hello once more");
      assert.equal(await providerText(), fixed, "an update stores the fixed text");
    });

    await t.test("destroy removes the file", async () => {
      await stack.destroy();
      assert.equal(fs.existsSync(file), false);
    });
  });
}
