// The transport against the lab's hosts: h3 accepts SSH only from h1, so it is reached through h1 as a
// jump host over h1's pooled connection. Both execution modes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseConnection } from "../../provider/ssh/connection";
import { SshPool } from "../../provider/ssh/pool";
import { SshRemote } from "../../provider/ssh/remote";
import { ensureLab, LabHost, labHost, onHost } from "../support/lab";

let h1: LabHost;
let h3: LabHost;
before(async () => {
  const lab = await ensureLab();
  h1 = labHost("h1", lab);
  h3 = labHost("h3", lab);
});

function rootConn(h: LabHost, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { host: h.address, port: h.port, user: h.user, privateKey: readFileSync(h.privateKeyPath, "utf8"), hostKey: h.hostKey, ...extra };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail("expected the call to fail");
}

for (const mode of ["session", "exec"] as const) {
  describe(`lab jump host h1 -> h3, execMode=${mode}`, { concurrency: false }, () => {
    const pool = new SshPool();
    after(() => pool.closeAll());

    test("h3 refuses a direct connection", async () => {
      const direct = new SshRemote(parseConnection(rootConn(h3, { execMode: mode, dialTimeoutMs: 3000 })), new SshPool());
      const err = await rejection(direct.exec(["true"]));
      assert.match(err.message, /cannot connect to root@10\.77\.0\.13:22/);
    });

    test("h3 through h1: commands run on h3, over one TCP connection to h1 and one tunnel", async () => {
      const jump = rootConn(h1, { execMode: mode });
      const viaH1 = new SshRemote(parseConnection(rootConn(h3, { execMode: mode, proxy: jump })), pool);
      const onH1 = new SshRemote(parseConnection(jump), pool);
      assert.equal((await viaH1.exec(["hostname"])).stdout, `${h3.hostname}\n`);
      assert.equal((await onH1.exec(["hostname"])).stdout, `${h1.hostname}\n`);
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => viaH1.exec(["echo", String(i)])));
      results.forEach((r, i) => assert.equal(r.stdout, `${i}\n`));
      const stats = pool.stats().hosts;
      assert.equal(stats[`root@${h1.address}:${h1.port}`].connectionsOpened, 1);
      assert.equal(stats[`root@${h3.address}:${h3.port} via root@${h1.address}:${h1.port}`].connectionsOpened, 1);
      // h3's sshd sees the connection coming from h1's address
      assert.match((await viaH1.exec(["sh", "-c", 'echo "$SSH_CONNECTION"'])).stdout, new RegExp(`^${h1.address.replace(/\./g, "\\.")} `));
    });

    test("sudo as the non-root user on h3, through h1, password fed to sudo", async () => {
      const password = readFileSync(h3.sudoUser.passwordFile, "utf8").trim();
      const conn = {
        host: h3.address,
        port: h3.port,
        user: h3.sudoUser.user,
        privateKey: readFileSync(h3.sudoUser.privateKeyPath, "utf8"),
        password,
        sudo: true,
        hostKey: h3.hostKeyFingerprint,
        execMode: mode,
        proxy: rootConn(h1),
      };
      const remote = new SshRemote(parseConnection(conn), pool);
      assert.equal((await remote.exec(["id", "-u"])).stdout, "0\n");
      assert.equal((await remote.exec(["id", "-un"], { sudo: false })).stdout, `${h3.sudoUser.user}\n`);
      const err = await rejection(remote.exec(["sh", "-c", 'echo "$1" >&2; exit 2', "sh", password]));
      assert.ok(!err.message.includes(password));
    });

    test("a hanging command on h3 is killed there at the timeout", async () => {
      const remote = new SshRemote(parseConnection(rootConn(h3, { execMode: mode, proxy: rootConn(h1) })), pool);
      // a duration no one else uses, to find the process in the (shared) process table
      const tag = `sleep 600.${process.pid}${mode === "session" ? 1 : 2}`;
      const count = async () =>
        (await onHost(h3, ["sh", "-c", 'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f" 2>/dev/null; echo; done | grep -cx "$1 " || true', "sh", tag])).stdout.trim();
      const pending = rejection(remote.exec(tag.split(" "), { timeoutMs: 3000 }));
      let seen = "0";
      while (seen === "0") seen = await count(); // the check does find the running command
      const err = await pending;
      assert.match(err.message, /timed out after 3000 ms/);
      assert.equal(await count(), "0");
      assert.equal((await remote.exec(["echo", "ok"])).stdout, "ok\n");
    });
  });
}

test("a lab address with nothing listening fails at once", async () => {
  const remote = new SshRemote(parseConnection(rootConn(h1, { port: 2 })), new SshPool());
  assert.match((await rejection(remote.exec(["true"]))).message, /connection refused/);
});
