// Quoting: whatever a string holds (quotes, $(), backticks, newlines, leading dashes, any Unicode),
// a real local sh must hand it to the program byte for byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { commandLine, quoteArg } from "../../provider/ssh/quote";

function viaShell(line: string): Buffer {
  return execFileSync("sh", ["-c", line], { stdio: ["ignore", "pipe", "pipe"] });
}

const noNul = fc.string({ unit: "grapheme", maxLength: 40 }).filter((s) => !s.includes("\0"));
const nasty = fc.constantFrom("'", '"', "`", "$(id)", "${HOME}", "\\", "\n", ";", "|", "&", "*", "?", "~", "-n", "--", " ", "\t", "!", "#", "a'b\"c");
const arg = fc.oneof(noNul, fc.array(nasty, { maxLength: 6 }).map((a) => a.join("")));

test("any string without NUL survives sh -c 'printf %s \"$1\"' sh <quoted>", () => {
  fc.assert(
    fc.property(arg, (s) => {
      const out = viaShell(`sh -c 'printf %s "$1"' sh ${quoteArg(s)}`);
      assert.equal(out.toString("utf8"), s);
    }),
    { numRuns: 150 },
  );
});

test("commandLine keeps every argv element a separate argument", () => {
  fc.assert(
    fc.property(fc.array(arg, { minLength: 1, maxLength: 5 }), (args) => {
      const out = viaShell(commandLine(["printf", "%s\\0", ...args]));
      assert.deepEqual(out.toString("utf8").split("\0").slice(0, -1), args);
    }),
    { numRuns: 100 },
  );
});

test("a first word that looks like a keyword or assignment is still a command name", () => {
  for (const word of ["if", "A=b", "!", "{"]) {
    assert.throws(() => viaShell(`${commandLine([word])} 2>/dev/null`), /Command failed/);
  }
  assert.equal(viaShell(commandLine(["printf", "%s", ""])).toString(), "");
});

test("NUL is rejected, and an empty argv too", () => {
  assert.throws(() => quoteArg("a\0b"), /NUL/);
  assert.throws(() => commandLine([]), /empty argv/);
});
