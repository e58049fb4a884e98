// The fixed `__provider` text (provider/resources/dynamic.ts), loaded the way the dynamic-provider process loads
// it (require-from-string, no file name, cwd = the program directory), against real implementation modules.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { IMPL_BASE, providerText } from "../../provider/resources/dynamic";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const requireFromString: (code: string) => { handler(): Record<string, (...a: unknown[]) => Promise<unknown>> } = require("require-from-string");

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pv-provider-text-"));
fs.mkdirSync(path.join(dir, "impl"));
// A full implementation: every method answers with what it got, plus an undefined key that must not cross gRPC.
fs.writeFileSync(
  path.join(dir, "impl", "full.js"),
  `exports.check = async (olds, news) => ({ inputs: { ...news, checked: true, gone: undefined }, failures: [] });
exports.diff = async (id, olds, news) => ({ changes: olds.v !== news.v, replaces: [], nested: { x: undefined } });
exports.create = async (inputs) => ({ id: "id-" + inputs.v, outs: { ...inputs, made: true, gone: undefined } });
exports.read = async (id, props) => ({ id, props: { ...props, read: true } });
exports.update = async (id, olds, news) => ({ outs: { ...news, updated: id } });
let deleted = []; exports.delete = async (id, props) => { deleted.push(id); };
exports.deleted = () => deleted;
exports.cwd = process.cwd();`,
);
// Only create: the other methods take Pulumi's defaults.
fs.writeFileSync(path.join(dir, "impl", "minimal.js"), `exports.create = async (inputs) => ({ id: "m", outs: inputs });`);
fs.writeFileSync(path.join(dir, "impl", "broken.js"), `require("./no-such-dependency");`);

function load(implName: string) {
  const prev = process.cwd();
  process.chdir(dir);
  try {
    return requireFromString(providerText("./impl/" + implName)).handler();
  } finally {
    process.chdir(prev);
  }
}

/** Runs fn with cwd = the program directory, as in the dynamic-provider process. */
async function inProgramDir<T>(fn: () => Promise<T>): Promise<T> {
  const prev = process.cwd();
  process.chdir(dir);
  try {
    return await fn();
  } finally {
    process.chdir(prev);
  }
}

test("every method forwards to the implementation module, and undefined never crosses", async () => {
  const p = load("full");
  await inProgramDir(async () => {
    assert.deepEqual(await p.check({}, { v: 1 }), { inputs: { v: 1, checked: true }, failures: [] });
    assert.deepEqual(await p.diff("i", { v: 1 }, { v: 2 }), { changes: true, replaces: [], nested: {} });
    assert.deepEqual(await p.create({ v: 3 }), { id: "id-3", outs: { v: 3, made: true } });
    assert.deepEqual(await p.read("i", { v: 4 }), { id: "i", props: { v: 4, read: true } });
    assert.deepEqual(await p.update("i", { v: 4 }, { v: 5 }), { outs: { v: 5, updated: "i" } });
    assert.equal(await p.delete("gone-id", {}), undefined);
    const m = require(path.join(dir, "impl", "full.js"));
    assert.deepEqual(m.deleted(), ["gone-id"]);
  });
});

test("methods the implementation leaves out behave like Pulumi's defaults", async () => {
  const p = load("minimal");
  await inProgramDir(async () => {
    assert.deepEqual(await p.check({ a: 1 }, { a: 2 }), { inputs: { a: 2 } });
    assert.deepEqual(await p.diff("x", { a: 1 }, { a: 2 }), {}, "an empty diff means: the engine compares inputs");
    assert.deepEqual(await p.read("x", { a: 1 }), { id: "x", props: { a: 1 } });
    assert.deepEqual(await p.update("x", { a: 1 }, { a: 2 }), { outs: { a: 2 } });
    assert.equal(await p.delete("x", {}), undefined);
  });
});

test("the module is loaded when a method runs, from the program directory, and named when it is missing", async () => {
  // Loading the text itself touches nothing: a provider for a module that does not exist loads fine.
  const missing = load("does-not-exist");
  await inProgramDir(async () => {
    await assert.rejects(missing.create({}), (e: Error) => {
      assert.match(e.message, /cannot load \.\/impl\/does-not-exist from .*pv-provider-text-.*: install pulumi-virt in the Pulumi program's directory/);
      return true;
    });
    // A module that exists but fails to load keeps its own error (not "install pulumi-virt").
    await assert.rejects(load("broken").check({}, {}), (e: Error & { code?: string }) => {
      assert.equal(e.code, "MODULE_NOT_FOUND");
      assert.match(e.message, /no-such-dependency/);
      assert.doesNotMatch(e.message, /install pulumi-virt/);
      return true;
    });
  });
});

test("the text is a small fixed loader that names only its module", () => {
  const spec = `${IMPL_BASE}/container`;
  const text = providerText(spec);
  assert.equal(text, providerText(spec), "the same text every time (stable in state, no spurious diffs)");
  assert.ok(text.length < 2048, `provider text grew to ${text.length} chars`);
  assert.ok(text.includes(JSON.stringify(spec)));
  assert.doesNotMatch(text, /ssh2|zod|privateKey/, "nothing of the implementation or of the user's data is inlined");
  // A specifier with quotes or newlines stays a string literal, never code.
  const odd = 'x"); process.exit(9); ("\n';
  const t2 = providerText(odd);
  assert.ok(t2.includes(JSON.stringify(odd)));
  assert.doesNotThrow(() => requireFromString(t2).handler());
});
