// Issue 26: more commands at once than the server's MaxSessions (the test sshd has OpenSSH's default, 10) on a
// connection whose maxChannels (24) is above it. The server refuses the channels past its limit ("open failed");
// the transport must learn the limit and queue those commands for a channel of its own, never fail them, and
// never run one twice. Both execution modes, and sftp uploads mixed in.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { remoteOn, withTestSshd } from "../support/remote-on";

const lab = withTestSshd();
const AT_ONCE = 24;
const SERVER_MAX_SESSIONS = 10;

for (const mode of ["session", "exec"] as const) {
  describe(`more channels than MaxSessions at once, execMode=${mode}`, { concurrency: false }, () => {
    test(`${AT_ONCE} commands and 4 uploads at once with maxChannels ${AT_ONCE}: all succeed, each ran once`, async () => {
      const { remote, pool } = remoteOn(lab.sshd.rootConnection({ execMode: mode, maxChannels: AT_ONCE }));
      const dir = `/tmp/pv-maxsess-${randomBytes(4).toString("hex")}`;
      try {
        await remote.exec(["mkdir", "-p", dir]);
        // Each command holds its channel a while, so the server sees them all open together.
        const runs = Array.from({ length: AT_ONCE }, (_, i) =>
          remote.script('sleep 0.5; echo "$1" >> "$2/ran"; echo "out-$1"', [String(i), dir], { step: `command ${i}` }),
        );
        const uploads = Array.from({ length: 4 }, (_, i) => remote.upload(`${dir}/up-${i}`, `upload ${i}\n`));
        const results = await Promise.allSettled([...runs, ...uploads]);
        const failed = results.flatMap((r) => (r.status === "rejected" ? [String((r.reason as Error).message).slice(0, 300)] : []));
        assert.deepEqual(failed, [], "no command or upload failed");
        const outs = (results.slice(0, AT_ONCE) as PromiseFulfilledResult<{ stdout: string }>[]).map((r) => r.value.stdout.trim());
        assert.deepEqual(outs, Array.from({ length: AT_ONCE }, (_, i) => `out-${i}`), "each command got its own output");
        const ran = (await remote.exec(["cat", `${dir}/ran`])).stdout.trim().split("\n").map(Number).sort((a, b) => a - b);
        assert.deepEqual(ran, Array.from({ length: AT_ONCE }, (_, i) => i), "every command ran exactly once");
        for (let i = 0; i < 4; i++) assert.equal((await remote.exec(["cat", `${dir}/up-${i}`])).stdout, `upload ${i}\n`);
        const s = pool.stats().global;
        assert.equal(s.connectionsOpened, 1, "one connection: refusals are queued, not redialled");
        if (mode === "session") assert.ok(s.sessionsOpened <= SERVER_MAX_SESSIONS, `at most MaxSessions shells (${s.sessionsOpened})`);
        // A second burst runs within the limit learnt from the first.
        const again = await Promise.all(Array.from({ length: AT_ONCE }, (_, i) => remote.exec(["echo", `again-${i}`])));
        assert.deepEqual(again.map((r) => r.stdout.trim()), Array.from({ length: AT_ONCE }, (_, i) => `again-${i}`));
      } finally {
        await remote.exec(["rm", "-rf", dir]).catch(() => undefined);
        pool.closeAll();
      }
    });
  });
}
