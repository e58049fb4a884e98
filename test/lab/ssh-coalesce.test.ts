// Read coalescing (provider/ssh/coalesce.ts) against a real OpenSSH sshd, in both execution modes: reads
// that reach a host together travel as one command, and each still gets exactly its own stdout, stderr,
// exit code and error.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RemoteCommandError } from "../../provider/ssh/types";
import { remoteOn, withTestSshd } from "../support/remote-on";

const lab = withTestSshd();

const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

for (const mode of ["session", "exec"] as const) {
  describe(`read coalescing, execMode=${mode}`, { concurrency: false }, () => {
    test("concurrent reads: one command; each its own output, exit code and error", async () => {
      const { remote, pool } = remoteOn(lab.sshd.rootConnection({ execMode: mode }));
      try {
        await remote.exec(["true"]); // connect first: count only the reads below
        const before = pool.stats().global.commands;
        const reads = [
          remote.script('printf "%s" "$1"; printf "err-%s" "$2" >&2', ["a b'c", "x"], { coalesce: true, coalesceIdleMs: 10, step: "read one" }),
          remote.script("exit 3", [], { coalesce: true, coalesceIdleMs: 10, step: "read two", okCodes: [3] }),
          remote.script('head -c 256 "$1"', ["/dev/stdin"], { coalesce: true, coalesceIdleMs: 10, step: "read three" }).catch((e) => e),
          remote.script("echo boom >&2; exit 7", [], { coalesce: true, coalesceIdleMs: 10, step: "read four" }).catch((e) => e),
          remote.script("printf 'no newline'", [], { coalesce: true, coalesceIdleMs: 10, step: "read five" }),
          remote.script('cd /tmp && export PV=1 && pwd', [], { coalesce: true, coalesceIdleMs: 10, step: "read six" }),
        ];
        const [one, two, three, four, five, six] = await Promise.all(reads);
        assert.equal(pool.stats().global.commands - before, 1, "six reads sent together in one command");
        assert.equal(one.stdout, "a b'c");
        assert.equal(one.stderr, "err-x");
        assert.equal(two.code, 3);
        // stdin of a part is /dev/null: nothing leaks in from the session.
        assert.equal((three as { stdout: string }).stdout, "");
        assert.ok(four instanceof RemoteCommandError, "a failing part rejects on its own");
        assert.equal(four.code, 7);
        assert.equal(four.step, "read four");
        assert.match(four.message, /^read four: command on .* failed \(exit 7\)/);
        assert.match(four.message, /stderr: boom/);
        assert.equal(five.stdout, "no newline");
        assert.equal(six.stdout, "/tmp\n");
        // Nothing a part did reached the session.
        assert.equal((await remote.script('echo "${PV-unset} $PWD"')).stdout.startsWith("unset /"), true);
        assert.notEqual((await remote.exec(["pwd"])).stdout, "/tmp\n");
      } finally {
        pool.closeAll();
      }
    });

    test("binary output and output that looks like framing come back verbatim", async () => {
      const { remote, pool } = remoteOn(lab.sshd.rootConnection({ execMode: mode }));
      try {
        const octal = [...BINARY].map((b) => `\\${b.toString(8).padStart(3, "0")}`).join("");
        const [bin, fake] = await Promise.all([
          remote.script('printf "$1"', [octal], { coalesce: true, coalesceIdleMs: 10 }),
          remote.script("printf '\\npv0000 0\\n\\npv0000\\n'", [], { coalesce: true, coalesceIdleMs: 10 }),
        ]);
        assert.deepEqual(bin.stdoutBytes, BINARY);
        assert.equal(fake.stdout, "\npv0000 0\n\npv0000\n");
      } finally {
        pool.closeAll();
      }
    });

    test("a lone read goes alone; reads of different privilege do not mix; reads later than the window go in a new command", async () => {
      const { remote, pool } = remoteOn(lab.sshd.userConnection({ execMode: mode }));
      try {
        await remote.exec(["true"]);
        let before = pool.stats().global.commands;
        assert.equal((await remote.script("id -un", [], { coalesce: true, coalesceIdleMs: 10, sudo: false })).stdout.trim(), "pvtest");
        assert.equal(pool.stats().global.commands - before, 1);
        before = pool.stats().global.commands;
        const [plain, root] = await Promise.all([
          remote.script("id -un", [], { coalesce: true, coalesceIdleMs: 10, sudo: false }),
          remote.script("id -un", [], { coalesce: true, coalesceIdleMs: 10, sudo: true }),
        ]);
        assert.equal(plain.stdout.trim(), "pvtest");
        assert.equal(root.stdout.trim(), "root");
        assert.equal(pool.stats().global.commands - before, 2, "one command per privilege");
        before = pool.stats().global.commands;
        const first = remote.script("echo 1", [], { coalesce: true, coalesceIdleMs: 10 });
        await new Promise((r) => setTimeout(r, 200));
        const second = remote.script("echo 2", [], { coalesce: true, coalesceIdleMs: 10 });
        assert.deepEqual([(await first).stdout, (await second).stdout], ["1\n", "2\n"]);
        assert.equal(pool.stats().global.commands - before, 2);
      } finally {
        pool.closeAll();
      }
    });

    test("a read that hangs past its timeout fails alone; its companions come back", async () => {
      const { remote, pool } = remoteOn(lab.sshd.rootConnection({ execMode: mode }));
      try {
        const t0 = Date.now();
        const [slow, fast] = await Promise.all([
          remote.script("sleep 60 & sleep 61; echo never", [], { coalesce: true, coalesceIdleMs: 10, step: "slow read", timeoutMs: 1500 }).catch((e) => e),
          remote.script("echo fast", [], { coalesce: true, coalesceIdleMs: 10, step: "fast read", timeoutMs: 30_000 }),
        ]);
        assert.ok(slow instanceof RemoteCommandError, String(slow));
        assert.equal(slow.step, "slow read");
        assert.match(slow.message, /^slow read: command on .* timed out after 1500 ms; the remote command and its child processes were killed/);
        assert.equal(fast.stdout, "fast\n");
        assert.ok(Date.now() - t0 < 15_000, "the hanging part was killed at its own timeout");
        // Its processes are gone, and the connection stays usable.
        const left = await remote.exec(["sh", "-c", "pgrep -f 'sleep 6[01]' || true"]);
        assert.equal(left.stdout.trim(), "", "no sleep left behind");
        assert.equal((await remote.exec(["echo", "ok"])).stdout, "ok\n");
      } finally {
        pool.closeAll();
      }
    });

    test("without a window (not a refresh read), coalesce changes nothing: each read is its own command", async () => {
      const { remote, pool } = remoteOn(lab.sshd.rootConnection({ execMode: mode }));
      try {
        await remote.exec(["true"]);
        const before = pool.stats().global.commands;
        await Promise.all([remote.script("echo 1", [], { coalesce: true }), remote.script("echo 2", [], { coalesce: true })]);
        assert.equal(pool.stats().global.commands - before, 2);
      } finally {
        pool.closeAll();
      }
    });
  });
}
