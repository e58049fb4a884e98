// The SSH transport against a real OpenSSH sshd (test/support/sshd.ts; no lab needed). Every test runs in
// both execution modes: long-lived sessions (default) and an exec channel per command.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as net from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConnection } from "../../provider/ssh/connection";
import { SshPool } from "../../provider/ssh/pool";
import { SshRemote } from "../../provider/ssh/remote";
import { RemoteCommandError } from "../../provider/ssh/types";
import { TestSshd, TEST_USER, processGone } from "../support/sshd";
import { remoteOn } from "../support/remote-on";

const MODES = ["session", "exec"] as const;

let sshd: TestSshd;
before(async () => {
  sshd = await TestSshd.start();
});
after(async () => {
  await sshd?.stop();
});


async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail("expected the call to fail");
}

/** Every secret the fixture knows; none may appear in any message. */
function assertNoSecret(text: string): void {
  for (const s of [sshd.userPassword, sshd.passphrase, sshd.rootKey.privateKey, sshd.encryptedKey.privateKey, sshd.userKey.privateKey]) {
    assert.ok(!text.includes(s), `a secret leaked into: ${text.slice(0, 300)}`);
  }
  for (const line of sshd.rootKey.privateKey.split("\n").filter((l) => l.length > 20)) assert.ok(!text.includes(line));
}

for (const mode of MODES) {
  describe(`ssh transport, execMode=${mode}`, { concurrency: false }, () => {
    test("key auth as root", async () => {
      const { remote, pool } = remoteOn(sshd.rootConnection({ execMode: mode }));
      try {
        assert.equal((await remote.exec(["id", "-u"])).stdout, "0\n");
      } finally {
        pool.closeAll();
      }
    });

    test("password auth as a non-root user", async () => {
      const { remote, pool } = remoteOn(sshd.userConnection({ execMode: mode }));
      try {
        assert.equal((await remote.exec(["id", "-un"])).stdout, `${TEST_USER}\n`);
      } finally {
        pool.closeAll();
      }
    });

    test("agent auth (ssh-agent started by the test)", async () => {
      const sock = await sshd.startAgent();
      const { remote, pool } = remoteOn({ host: "127.0.0.1", port: sshd.port, user: TEST_USER, agentSocket: sock, hostKey: sshd.hostKeyLine, execMode: mode });
      try {
        assert.equal((await remote.exec(["id", "-un"])).stdout, `${TEST_USER}\n`);
      } finally {
        pool.closeAll();
      }
    });

    test("passphrase-protected key; a wrong passphrase fails without showing it", async () => {
      const base = { host: "127.0.0.1", port: sshd.port, user: TEST_USER, privateKey: sshd.encryptedKey.privateKey, hostKey: sshd.hostKeyFingerprint, execMode: mode };
      const ok = remoteOn({ ...base, privateKeyPassword: sshd.passphrase });
      const bad = remoteOn({ ...base, privateKeyPassword: "not-the-passphrase" });
      try {
        assert.equal((await ok.remote.exec(["id", "-un"])).stdout, `${TEST_USER}\n`);
        const err = await rejection(bad.remote.exec(["true"]));
        assert.ok(err instanceof RemoteCommandError);
        assert.match(err.message, /privateKey/);
        assertNoSecret(err.message);
        assert.ok(!err.message.includes("not-the-passphrase"));
      } finally {
        ok.pool.closeAll();
        bad.pool.closeAll();
      }
    });

    test("a wrong password is refused and not shown", async () => {
      const { remote, pool } = remoteOn(sshd.userConnection({ execMode: mode, password: "wrong-password-42" }));
      try {
        const err = await rejection(remote.exec(["true"]));
        assert.match(err.message, /refused every credential/);
        assert.ok(!err.message.includes("wrong-password-42"));
      } finally {
        pool.closeAll();
      }
    });

    test("jump host: the target is reached through the proxy's pooled connection", async () => {
      const pool = new SshPool();
      const jump = sshd.rootConnection({ execMode: mode });
      const target = new SshRemote(parseConnection(sshd.userConnection({ execMode: mode, proxy: jump })), pool);
      const viaJump = new SshRemote(parseConnection(jump), pool);
      try {
        assert.equal((await target.exec(["id", "-un"])).stdout, `${TEST_USER}\n`);
        assert.equal((await viaJump.exec(["id", "-un"])).stdout, "root\n");
        const stats = pool.stats();
        // one TCP connection to the jump host, shared with direct use of it, and one tunnel through it
        assert.equal(stats.hosts[`root@127.0.0.1:${sshd.port}`].connectionsOpened, 1);
        assert.equal(stats.hosts[`${TEST_USER}@127.0.0.1:${sshd.port} via root@127.0.0.1:${sshd.port}`].connectionsOpened, 1);
        assert.equal(target.label, `${TEST_USER}@127.0.0.1:${sshd.port} via root@127.0.0.1:${sshd.port}`);
      } finally {
        pool.closeAll();
      }
    });

    test("sudo as a non-root user, password fed to sudo only", async () => {
      const { remote, pool } = remoteOn(sshd.userConnection({ execMode: mode, sudo: true }));
      try {
        assert.equal((await remote.exec(["id", "-u"])).stdout, "0\n");
        assert.equal((await remote.exec(["id", "-u"], { sudo: false })).stdout.trim() !== "0", true);
        // stdin reaches the command, and the password does not
        const r = await remote.exec(["cat"], { stdin: "payload\n" });
        assert.equal(r.stdout, "payload\n");
        assert.equal(r.stderr, "");
        const upload = "/tmp/pv-ssh-test-upload-" + mode;
        await remote.upload(upload, Buffer.from([0, 1, 2, 255, 10]), { mode: 0o640 });
        const st = await remote.exec(["stat", "-c", "%U %a %s", upload]);
        assert.equal(st.stdout, "root 640 5\n");
        await remote.exec(["rm", "-f", upload]);
      } finally {
        pool.closeAll();
      }
    });

    test("sudo with a wrong password fails clearly and does not show it", async () => {
      const { remote, pool } = remoteOn(sshd.userConnection({ execMode: mode, sudo: true, password: sshd.userPassword }));
      // log in with the right password, but give sudo a wrong one: a separate user-facing case
      const wrong = remoteOn({ host: "127.0.0.1", port: sshd.port, user: TEST_USER, privateKey: sshd.userKey.privateKey, password: "bad-sudo-pw-77", sudo: true, hostKey: sshd.hostKeyLine, execMode: mode });
      try {
        assert.equal((await remote.exec(["id", "-u"])).stdout, "0\n");
        const err = await rejection(wrong.remote.exec(["id", "-u"], { step: "check root" }));
        assert.match(err.message, /^check root: /);
        assert.match(err.message, /sudo/);
        assert.ok(!err.message.includes("bad-sudo-pw-77"));
        assertNoSecret(err.message);
      } finally {
        pool.closeAll();
        wrong.pool.closeAll();
      }
    });

    test("upload without sudo: atomic, with mode, binary-safe", async () => {
      const { remote, pool } = remoteOn(sshd.rootConnection({ execMode: mode }));
      const path = `/tmp/pv-ssh-upload-${mode}`;
      const content = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 256));
      try {
        await remote.upload(path, content, { mode: 0o600 });
        const r = await remote.exec(["sh", "-c", 'stat -c %a "$1"; sha256sum < "$1"', "sh", path]);
        assert.equal(r.stdout, `600\n${createHash("sha256").update(content as unknown as Uint8Array).digest("hex")}  -\n`);
        assert.equal((await remote.exec(["sh", "-c", 'ls "$1".pv-tmp-* 2>/dev/null | wc -l', "sh", path])).stdout.trim(), "0");
      } finally {
        await remote.exec(["rm", "-f", path]).catch(() => undefined);
        pool.closeAll();
      }
    });

    test("a wrong host key is refused, showing expected and received fingerprints", async () => {
      const other = "ssh-ed25519 " + sshd.userKey.publicKey.split(" ")[1];
      const { remote, pool } = remoteOn(sshd.rootConnection({ execMode: mode, hostKey: other }));
      try {
        const err = await rejection(remote.exec(["true"]));
        const expected = (await import("../../provider/ssh/pool")).fingerprintOf(Buffer.from(other.split(" ")[1], "base64"));
        assert.match(err.message, /host key mismatch/);
        assert.ok(err.message.includes(`expected ${expected}`), err.message);
        assert.ok(err.message.includes(`received ${sshd.hostKeyFingerprint}`), err.message);
        assert.equal(pool.stats().global.commands, 0, "no command may be sent to an unverified host");
      } finally {
        pool.closeAll();
      }
    });

    test("closed port: fails at once with connection refused", async () => {
      const { remote, pool } = remoteOn({ ...sshd.rootConnection({ execMode: mode }), host: "127.0.0.9", port: 9, dialTimeoutMs: 2000 });
      try {
        assert.match((await rejection(remote.exec(["true"]))).message, /connection refused/);
      } finally {
        pool.closeAll();
      }
    });

    test("a host that never answers fails at the dial timeout", { timeout: 20_000 }, async () => {
      // accepts TCP and then says nothing, like a blackholed or hung sshd
      const silent = net.createServer((s) => s.on("error", () => undefined));
      await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
      const port = (silent.address() as net.AddressInfo).port;
      const { remote, pool } = remoteOn({ ...sshd.rootConnection({ execMode: mode }), port, dialTimeoutMs: 700 });
      try {
        assert.match((await rejection(remote.exec(["true"]))).message, /no SSH handshake within 700 ms/);
      } finally {
        pool.closeAll();
        silent.close();
      }
    });

    test("a link that goes silent under a long quiet command is declared dead within the probe and the dial timeout", { timeout: 60_000 }, async () => {
      // A TCP relay to sshd that can stop passing bytes without closing anything: a cut cable, a frozen host.
      let frozen = false;
      const pairs: net.Socket[] = [];
      const relay = net.createServer((c) => {
        const u = net.connect(sshd.port, "127.0.0.1");
        pairs.push(c, u);
        for (const [a, b] of [[c, u], [u, c]] as const) {
          a.on("data", (d) => {
            if (!frozen) b.write(d);
          });
          a.on("error", () => undefined);
          a.on("close", () => b.destroy());
        }
      });
      await new Promise<void>((r) => relay.listen(0, "127.0.0.1", () => r()));
      const port = (relay.address() as net.AddressInfo).port;
      const { remote, pool } = remoteOn({ ...sshd.rootConnection({ execMode: mode }), port, dialTimeoutMs: 1500, commandTimeoutMs: 120_000 });
      try {
        // On a live link a command silent for longer than the probe delay (5 s) is left alone: the probes are answered.
        const quiet = await remote.script("sleep 7; echo done", [], { step: "quiet" });
        assert.equal(quiet.stdout.trim(), "done");
        // Cut the link in the middle of a long quiet command (its own timeout is minutes away).
        const long = remote.script("sleep 100", [], { step: "long create", timeoutMs: 600_000 });
        await new Promise((r) => setTimeout(r, 500));
        frozen = true;
        const t0 = Date.now();
        const err = await rejection(long);
        const took = Date.now() - t0;
        assert.match(err.message, /^long create: .*SSH connection dropped/);
        assert.ok(took < 5_000 + 1_500 + 2_500, `declared dead after ${took} ms (probe after 5 s of silence, dial timeout 1.5 s)`);
        // The link comes back: the next command reconnects.
        frozen = false;
        for (const x of pairs.splice(0)) x.destroy();
        assert.equal((await remote.exec(["echo", "back"])).stdout.trim(), "back");
      } finally {
        pool.closeAll();
        for (const x of pairs) x.destroy();
        relay.close();
      }
    });

    test("a hanging command is killed at its timeout (gone on the host) and the connection stays usable", async () => {
      const { remote, pool } = remoteOn(sshd.rootConnection({ execMode: mode }));
      const pidFile = `/tmp/pv-ssh-hang-${mode}-${process.pid}`;
      try {
        const err = await rejection(remote.script('echo $$ > "$1"; exec sleep 600', [pidFile], { timeoutMs: 800, step: "hang" }));
        assert.match(err.message, /^hang: .*timed out after 800 ms/);
        const pid = Number((await remote.exec(["cat", pidFile])).stdout);
        assert.ok(pid > 0);
        assert.ok(processGone(pid), `process ${pid} still runs after the timeout`);
        assert.equal((await remote.exec(["echo", "still here"])).stdout, "still here\n");
        assert.equal(pool.stats().global.connectionsOpened, 1);
      } finally {
        await remote.exec(["rm", "-f", pidFile]).catch(() => undefined);
        pool.closeAll();
      }
    });

    test("200 concurrent commands over exactly 1 TCP connection (sshd MaxSessions 10)", { timeout: 120_000 }, async () => {
      const { remote, pool } = remoteOn(sshd.rootConnection({ execMode: mode }));
      let maxSeen = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          maxSeen = Math.max(maxSeen, sshd.establishedConnections());
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      try {
        const results = await Promise.all(Array.from({ length: 200 }, (_, i) => remote.exec(["echo", `n${i}`])));
        results.forEach((r, i) => assert.equal(r.stdout, `n${i}\n`));
        assert.equal(maxSeen, 1, "server-side established connections during the run");
        const s = pool.stats().global;
        assert.equal(s.connectionsOpened, 1);
        assert.equal(s.commands, 200);
        if (mode === "session") assert.ok(s.sessionsOpened <= 8, `sessions: ${s.sessionsOpened}`);
        else assert.equal(s.channelsOpened, 200);
      } finally {
        sampling = false;
        await sampler;
        pool.closeAll();
      }
    });

    test("sshd killed and restarted between two commands: the second succeeds after one reconnect", async () => {
      const { remote, pool } = remoteOn(sshd.rootConnection({ execMode: mode }));
      try {
        assert.equal((await remote.exec(["echo", "one"])).stdout, "one\n");
        await sshd.restart();
        assert.equal((await remote.exec(["echo", "two"])).stdout, "two\n");
        const s = pool.stats().global;
        assert.equal(s.connectionsOpened, 2);
        assert.ok(s.reconnects <= 1);
      } finally {
        pool.closeAll();
      }
    });

    test("injection: hostile args reach printf '%s\\0' byte for byte", async () => {
      const { remote, pool } = remoteOn(sshd.rootConnection({ execMode: mode }));
      const args = ["a;b", "$(touch /tmp/pv-pwned)", "`id`", "'", '"', "it's \"quoted\"", "line1\nline2", "-n", "--", "-e\\n", " ", "", "*", "$HOME", "a\\", "ünï©ødé ✓", "\t\r"];
      try {
        const r = await remote.exec(["printf", "%s\\0", ...args]);
        assert.deepEqual(r.stdout.split("\0").slice(0, -1), args);
        const s = await remote.script('printf "%s\\0" "$@"', args);
        assert.deepEqual(s.stdout.split("\0").slice(0, -1), args);
        assert.equal((await remote.exec(["sh", "-c", "test -e /tmp/pv-pwned && echo yes || echo no"])).stdout, "no\n");
      } finally {
        pool.closeAll();
      }
    });

    test("no secret appears in error messages, even when a command prints it", async () => {
      const { remote, pool } = remoteOn(sshd.userConnection({ execMode: mode }));
      try {
        const err = await rejection(remote.exec(["sh", "-c", 'echo "$1" >&2; echo "$1"; exit 4', "sh", sshd.userPassword]));
        assert.ok(err instanceof RemoteCommandError);
        assert.equal(err.code, 4);
        assert.match(err.message, /\*\*\*/);
        assertNoSecret(err.message);
        assertNoSecret(err.stderrTail);
        assertNoSecret(err.command);
      } finally {
        pool.closeAll();
      }
    });

    test("an idle pool does not keep node alive", { timeout: 60_000 }, async () => {
      const script = join(sshd.dir, `idle-${mode}.js`);
      const conn = JSON.stringify(sshd.rootConnection({ execMode: mode }));
      writeFileSync(
        script,
        `const { getRemote } = require(${JSON.stringify(join(__dirname, "../../provider/ssh/remote.js"))});\n` +
          `getRemote(${conn}).exec(["echo", "ok"]).then((r) => process.stdout.write(r.stdout));\n`,
      );
      const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      const code = await new Promise((r) => child.on("exit", r));
      assert.equal(code, 0);
      assert.equal(out, "ok\n");
    });
  });
}
