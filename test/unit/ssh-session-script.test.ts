// The text session mode feeds its long-lived shell, run here through a real local sh (the same /bin/sh the
// lab hosts run): which commands get a subshell, and that no command, whatever its first word, changes
// the shell that runs the next one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { commandScript, needsSubshell } from "../../provider/ssh/session";

test("built-ins that can change the shell run in a subshell; programs and side-effect-free built-ins do not", () => {
  for (const b of ["cd", "export", "set", "trap", "exec", "exit", "read", "umask", "unset", ".", "eval", "alias", "source", "shift", "readonly", "local", "hash", "ulimit", "printf", "kill", "wait", "command", "type"]) {
    assert.equal(needsSubshell(b), true, b);
  }
  for (const p of ["lxc-info", "virsh", "/usr/sbin/xl", "sh", "cat2", "true", "false", "echo", "test", "[", "pwd", "qemu-img", "lxc-cgroup", "python3.11"]) {
    assert.equal(needsSubshell(p), false, p);
  }
  // Names we cannot classify are treated as built-ins.
  for (const odd of ["", "a b", "-x", "x;y", "$(id)", "a=b", "é", "{", "if"]) assert.equal(needsSubshell(odd), true, JSON.stringify(odd));
});

test("the command text: a program runs directly with stdin closed, a built-in in a subshell, stdin through a pipe", () => {
  const t = "pv0123";
  assert.match(commandScript(t, ["lxc-info", "-n", "c1"], undefined), /^'lxc-info' '-n' 'c1' <\/dev\/null\n/);
  assert.match(commandScript(t, ["cd", "/x"], undefined), /^\(exec <\/dev\/null; 'cd' '\/x'\)\n/);
  assert.match(commandScript(t, ["cat"], Buffer.from("hi")), /^base64 -d <<'PV\.EOF' \| 'cat'\naGk=\nPV\.EOF\n/);
  assert.match(commandScript(t, ["read", "x"], Buffer.from("hi")), /^base64 -d <<'PV\.EOF' \| \('read' 'x'\)\n/);
  assert.ok(commandScript(t, ["true"], undefined).endsWith(`printf '\\n${t} %s\\n' "$?"; printf '\\n${t}\\n' >&2\n`));
});

/** Feed a sequence of framed commands to one sh, then print the state a later command would inherit. */
function stateAfter(commands: string[][]): string {
  const script = commands.map((argv, i) => commandScript(`pvt${i}`, argv, undefined)).join("") +
    `printf 'STATE %s|%s|%s|%s|%s\\n' "$PWD" "$(umask)" "\${PV_LEAK-unset}" "$-" "$(trap)"\n`;
  const out = execFileSync("sh", ["-s"], { input: script, cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, stdio: ["pipe", "pipe", "ignore"] }).toString();
  const line = out.split("\n").find((l) => l.startsWith("STATE "));
  assert.ok(line, `the shell survived every command; its output was ${JSON.stringify(out.slice(-300))}`);
  return line;
}

test("no command changes the session shell (generated sequences through a real sh)", () => {
  const clean = stateAfter([]);
  const stateChanger = fc.constantFrom<string[]>(
    ["cd", "/usr"],
    ["export", "PV_LEAK=1"],
    ["umask", "0077"],
    ["set", "-e"],
    ["set", "-u"],
    ["set", "-f"],
    ["trap", "echo TRAPPED", "EXIT"],
    ["trap", "", "INT"],
    ["exec", "true"],
    ["exit", "3"],
    ["readonly", "PV_RO=1"],
    ["unset", "PATH"],
    ["alias", "ls=false"],
    ["eval", "PV_LEAK=2; cd /tmp"],
    ["read", "PV_LEAK"],
    [".", "/dev/null"],
    ["false"],
    ["true"],
    ["echo", "x"],
    ["pwd"],
    ["sh", "-c", "cd /tmp; export PV_LEAK=3; exit 7"],
    ["/bin/true"],
  );
  fc.assert(
    fc.property(fc.array(stateChanger, { minLength: 1, maxLength: 8 }), (cmds) => {
      assert.equal(stateAfter(cmds), clean);
    }),
    { numRuns: 60 },
  );
});
