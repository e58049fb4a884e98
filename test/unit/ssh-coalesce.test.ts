// The combined read script (provider/ssh/coalesce.ts) through a real local sh: whatever bytes the parts
// print, each part's stdout, stderr and exit code come back exactly, in order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { COALESCED_TIMEOUT_CODE, combinedScript, parseCombined } from "../../provider/ssh/coalesce";

const TOKEN = "pv0123456789abcdef0123456789abcdef";

function octal(b: Buffer): string {
  return [...b].map((x) => `\\${x.toString(8).padStart(3, "0")}`).join("");
}

test("generated parts: bytes, exit codes and order survive the round trip", () => {
  const part = fc.record({
    out: fc.uint8Array({ maxLength: 300 }),
    err: fc.uint8Array({ maxLength: 100 }),
    code: fc.integer({ min: 0, max: 255 }),
  });
  fc.assert(
    fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
      const script = combinedScript(
        parts.map((p) => ({ script: 'printf "$1"; printf "$2" >&2; exit "$3"', args: [octal(Buffer.from(p.out)), octal(Buffer.from(p.err)), String(p.code)] })),
        TOKEN,
      );
      const out = execFileSync("sh", ["-s"], { input: script });
      const got = parseCombined(out, TOKEN, parts.length);
      assert.deepEqual(
        got.map((g) => ({ out: [...g.stdout], err: [...g.stderr], code: g.code })),
        parts.map((p) => ({ out: [...p.out], err: [...p.err], code: p.code })),
      );
    }),
    { numRuns: 40 },
  );
});

test("broken framing is refused, not misread", () => {
  assert.throws(() => parseCombined(Buffer.from("hello"), TOKEN, 1), /no stdout frame/);
  assert.throws(() => parseCombined(Buffer.from(`x\n${TOKEN} 0\n`), TOKEN, 1), /no stderr frame/);
  assert.throws(() => parseCombined(Buffer.from(`x\n${TOKEN} zz\n\n${TOKEN}\n`), TOKEN, 1), /exit-code frame/);
  assert.throws(() => parseCombined(Buffer.from(`x\n${TOKEN} 0\n\n${TOKEN}\nextra`), TOKEN, 1), /after the last part/);
  assert.throws(() => combinedScript([], "bad token!"), /token/);
});

test("a part past its own timeout is killed with its children (exit 124); the others are intact", () => {
  const t0 = Date.now();
  const script = combinedScript(
    [
      { script: "sleep 30 & sleep 31; echo late", args: [], timeoutSec: 1 },
      { script: 'printf "%s" "$1"', args: ["kept"], timeoutSec: 20 },
    ],
    TOKEN,
  );
  const [slow, fast] = parseCombined(execFileSync("sh", ["-s"], { input: script }), TOKEN, 2);
  assert.equal(slow.code, COALESCED_TIMEOUT_CODE);
  assert.equal(slow.stdout.toString(), "");
  assert.equal(fast.code, 0);
  assert.equal(fast.stdout.toString(), "kept");
  assert.ok(Date.now() - t0 < 10_000);
});
