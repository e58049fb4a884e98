// Output framing, isolation between commands, and faults, against a real sshd. Written for session mode
// (long-lived shells fed one command at a time) and run in exec mode too, which must behave the same.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { parseConnection } from "../../provider/ssh/connection";
import { SshPool } from "../../provider/ssh/pool";
import { SshRemote } from "../../provider/ssh/remote";
import { TestSshd, processGone } from "../support/sshd";

const MODES = ["session", "exec"] as const;

let sshd: TestSshd;
before(async () => {
  sshd = await TestSshd.start();
});
after(async () => {
  await sshd?.stop();
});

function sha256(b: Buffer): string {
  return createHash("sha256").update(b as unknown as Uint8Array).digest("hex");
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail("expected the call to fail");
}

for (const mode of MODES) {
  describe(`framing, isolation and faults, execMode=${mode}`, { concurrency: false }, () => {
    let pool: SshPool;
    let remote: SshRemote;
    before(() => {
      pool = new SshPool();
      remote = new SshRemote(parseConnection(sshd.rootConnection({ execMode: mode })), pool);
    });
    after(() => pool.closeAll());

    test("output that contains the frame markers comes back verbatim", async () => {
      const fake = "\npv0123456789abcdef0123456789abcdef 0\nPVEND 0123456789abcdef 0 -\nPVEND 0123456789abcdef 0 +\n 5 o\n 0 e\n 5 total\nPVREADY /tmp 1\nPVGO\n";
      const r = await remote.exec(["printf", "%s", fake]);
      assert.equal(r.stdout, fake);
      const e = await remote.script('printf "%s" "$1" >&2', [fake]);
      assert.equal(e.stderr, fake);
      assert.equal((await remote.exec(["echo", "next"])).stdout, "next\n");
    });

    test("binary stdout and stderr, every byte value, no trailing newline", async () => {
      const r = await remote.script("i=0; while [ $i -lt 256 ]; do printf \"\\\\$(printf %o $i)\"; i=$((i+1)); done | tee /dev/stderr");
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      assert.equal(r.stdoutBytes.length, 256);
      assert.ok(r.stdoutBytes.equals(all as unknown as Uint8Array));
      assert.equal(Buffer.from(r.stderr, "latin1").length > 0, true);
      const tail = await remote.exec(["printf", "no newline"]);
      assert.equal(tail.stdout, "no newline");
    });

    test("tens of MB of output, exact bytes", { timeout: 120_000 }, async () => {
      const size = 24 * 1024 * 1024;
      const r = await remote.script('yes 0123456789abcdef | head -c "$1"', [String(size)], { maxOutputBytes: 32 * 1024 * 1024 });
      assert.equal(r.stdoutBytes.length, size);
      const expected = Buffer.alloc(size, "0123456789abcdef\n");
      assert.equal(sha256(r.stdoutBytes), sha256(expected));
    });

    test("output beyond maxOutputBytes fails the command, and the next one is fine", async () => {
      const err = await rejection(remote.script('head -c 100000 /dev/zero', [], { maxOutputBytes: 1000 }));
      assert.match(err.message, /stdout exceeded maxOutputBytes \(1000 bytes\)/);
      assert.equal((await remote.exec(["echo", "ok"])).stdout, "ok\n");
    });

    test("non-zero exits: code, stderr and okCodes", async () => {
      const err = await rejection(remote.script("echo out; echo oops >&2; exit 7", [], { step: "probe" }));
      assert.match(err.message, /^probe: command on .* failed \(exit 7\)/);
      assert.match(err.message, /stderr: oops/);
      const ok = await remote.script("echo out; exit 7", [], { okCodes: [0, 7] });
      assert.equal(ok.code, 7);
      assert.equal(ok.stdout, "out\n");
    });

    test("a command that closes stdout early, then keeps running and writes stderr", async () => {
      const r = await remote.script("echo first; exec >&-; sleep 0.2; echo late >&2; exit 3", [], { okCodes: [3] });
      assert.equal(r.stdout, "first\n");
      assert.equal(r.stderr, "late\n");
    });

    test("stdin: given bytes reach the command; without stdin it reads EOF; nothing leaks to the next", async () => {
      const input = Buffer.from([0, 255, 10, 80, 86, 46, 69, 79, 70, 10, 1, 2]); // includes "PV.EOF\n"
      const r = await remote.exec(["cat"], { stdin: input });
      assert.ok(r.stdoutBytes.equals(input as unknown as Uint8Array));
      const big = Buffer.alloc(3 * 1024 * 1024, "z");
      assert.equal((await remote.exec(["wc", "-c"], { stdin: big })).stdout.trim(), String(big.length));
      // reads only part of its stdin; the rest must not reach the next command
      assert.equal((await remote.exec(["head", "-c", "3"], { stdin: "abcdef" })).stdout, "abc");
      assert.equal((await remote.exec(["cat"])).stdout, "");
      assert.equal((await remote.exec(["wc", "-c"])).stdout.trim(), "0");
    });

    test("isolation: cd, export, set -e, trap and exec do not reach the next command", async () => {
      const sessionsBefore = pool.stats().global.sessionsOpened;
      const home = (await remote.exec(["pwd"])).stdout;
      await remote.exec(["cd", "/usr"]);
      assert.equal((await remote.exec(["pwd"])).stdout, home);
      await remote.exec(["export", "PV_LEAK=1"]);
      await remote.exec(["umask", "0000"]);
      assert.equal((await remote.exec(["sh", "-c", 'echo "${PV_LEAK-unset} $(umask)"'])).stdout, "unset 0022\n");
      await remote.exec(["set", "-e"]);
      await remote.exec(["false"], { okCodes: [1] });
      assert.equal((await remote.exec(["echo", "after set -e"])).stdout, "after set -e\n");
      await remote.exec(["trap", "echo TRAPPED", "EXIT"]);
      assert.equal((await remote.exec(["echo", "x"])).stdout, "x\n");
      await remote.exec(["exec", "true"]);
      await remote.exec(["exit", "5"], { okCodes: [5] });
      assert.equal((await remote.exec(["echo", "alive"])).stdout, "alive\n");
      if (mode === "session") assert.equal(pool.stats().global.sessionsOpened, sessionsBefore, "the same session served every command");
    });

    test("the remote shell killed mid-command fails only that command; the pool heals", async () => {
      // Find this command's ancestor that sshd started (the session shell, or the exec channel's login shell).
      const killOwnShell =
        'p=$$; while :; do pp=$(cut -d" " -f4 /proc/$p/stat); [ "$(cat /proc/$pp/comm)" = sshd ] && break; p=$pp; done; kill -KILL "$p"; sleep 1';
      await remote.exec(["true"]);
      const opened = pool.stats().global.connectionsOpened;
      const err = await rejection(remote.script(killOwnShell, [], { step: "doomed" }));
      assert.match(err.message, /^doomed: /);
      assert.match(err.message, mode === "session" ? /remote shell session ended while the command ran/ : /killed by signal/);
      assert.equal((await remote.exec(["echo", "healed"])).stdout, "healed\n");
      const concurrent = await Promise.all(Array.from({ length: 20 }, (_, i) => remote.exec(["echo", String(i)])));
      concurrent.forEach((r, i) => assert.equal(r.stdout, `${i}\n`));
      assert.equal(pool.stats().global.connectionsOpened, opened, "the SSH connection itself survived");
    });

    test("a hanging command among busy ones: killed at the timeout, others unaffected", async () => {
      const hang = rejection(remote.exec(["sleep", "300"], { timeoutMs: 700 }));
      const others = await Promise.all(Array.from({ length: 10 }, (_, i) => remote.exec(["echo", `o${i}`])));
      others.forEach((r, i) => assert.equal(r.stdout, `o${i}\n`));
      assert.match((await hang).message, /timed out after 700 ms; the remote command and its child processes were killed/);
      assert.equal((await remote.exec(["sh", "-c", "pgrep -xf 'sleep 300' | wc -l"])).stdout.trim(), "0");
    });

    test("a timeout kills only that command's processes, not what an earlier command left running", async () => {
      const bg = Number((await remote.script('sleep "$1" </dev/null >/dev/null 2>&1 & echo $!', [`600.${process.pid}`])).stdout);
      assert.ok(bg > 0 && !processGone(bg));
      const err = await rejection(remote.script("sleep 300 & sleep 301; wait", [], { timeoutMs: 700 }));
      assert.match(err.message, /timed out after 700 ms/);
      assert.equal((await remote.exec(["sh", "-c", "pgrep -xf 'sleep 30[01]' | wc -l"])).stdout.trim(), "0");
      assert.ok(!processGone(bg), "the earlier background process survived");
      await remote.exec(["kill", String(bg)]);
    });

    test("sshd restarted while sessions are idle: the next command reconnects and succeeds", async () => {
      assert.equal((await remote.exec(["echo", "before"])).stdout, "before\n");
      const opened = pool.stats().global.connectionsOpened;
      await sshd.restart();
      assert.equal((await remote.exec(["echo", "after"])).stdout, "after\n");
      assert.equal(pool.stats().global.connectionsOpened, opened + 1);
    });

    test("sshd killed mid-command: that command fails clearly, the next reconnects", async () => {
      const marker = `/tmp/pv-ssh-running-${mode}-${process.pid}`;
      const running = rejection(remote.script('touch "$1"; sleep 5', [marker]));
      while (!existsSync(marker)) await new Promise((r) => setTimeout(r, 20));
      rmSync(marker);
      await sshd.restart();
      assert.match((await running).message, /while the command ran; it may or may not have taken effect/);
      assert.equal((await remote.exec(["echo", "back"])).stdout, "back\n");
    });
  });
}
