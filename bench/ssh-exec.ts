// ms per command over SSH: an exec channel per command vs pooled long-lived sessions, sequential and 8 at
// once, against the floor of a bare remote shell loop measured in the same run on the same sshd.
// Run: npm run build && node dist/bench/ssh-exec.js   (prints a table, then JSON)
import { Client } from "ssh2";
import { parseConnection } from "../provider/ssh/connection";
import { SshPool } from "../provider/ssh/pool";
import { SshRemote } from "../provider/ssh/remote";
import { readFileSync } from "node:fs";
import { labHost } from "../test/support/lab";
import { TestSshd } from "../test/support/sshd";

/** Where the commands go: lab host h1 (as `npm run bench` runs it), else a throwaway sshd on 127.0.0.1. */
interface Target {
  where: string;
  host: string;
  port: number;
  privateKey: string;
  connection(mode: "session" | "exec"): Record<string, unknown>;
  stop(): Promise<void>;
}

async function target(): Promise<Target> {
  if (process.env.BENCH_SSH_TARGET !== "local") {
    try {
      const h = labHost("h1");
      const privateKey = readFileSync(h.privateKeyPath, "utf8");
      return {
        where: `lab host h1 (${h.user}@${h.address}:${h.port}, OpenSSH in its network namespace)`,
        host: h.address,
        port: h.port,
        privateKey,
        connection: (mode) => ({ host: h.address, port: h.port, user: h.user, privateKey, hostKey: h.hostKey, execMode: mode }),
        stop: async () => undefined,
      };
    } catch {
      // lab not up: fall through
    }
  }
  const local = await TestSshd.start();
  return {
    where: "a throwaway OpenSSH sshd on 127.0.0.1 (the lab is not up)",
    host: "127.0.0.1",
    port: local.port,
    privateKey: local.rootKey.privateKey,
    connection: (mode) => local.rootConnection({ execMode: mode }),
    stop: () => local.stop(),
  };
}

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

interface Row {
  way: string;
  /** Which floor this row is compared with: "true" (a built-in) or "/bin/true" (a program). */
  floor?: string;
  commands: number;
  msPerCommand: { median: number; min: number; max: number };
  vsFloor?: number;
  channelsOpened?: number;
  tcpConnections?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timed(n: number, runOne: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await runOne();
  return Number(process.hrtime.bigint() - t0) / 1e6 / n;
}

/**
 * The floor: one raw ssh2 exec of `sh`, fed `true; echo MARK` lines, waiting for each MARK. No framing, no
 * isolation. The `(true)` variant adds the one fork that isolation (a subshell per command) costs.
 */
async function bareShellLoop(sshd: Target, n: number, line = "true; echo __END__\n"): Promise<number> {
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.on("ready", () => resolve()).on("error", reject);
    client.connect({ host: sshd.host, port: sshd.port, username: "root", privateKey: sshd.privateKey, hostVerifier: () => true });
  });
  try {
    const ch = await new Promise<import("ssh2").ClientChannel>((resolve, reject) => client.exec("sh", (e, s) => (e ? reject(e) : resolve(s))));
    let buf = "";
    let waiter: (() => void) | undefined;
    ch.on("data", (d: Buffer) => {
      buf += d.toString();
      if (buf.includes("__END__\n")) {
        buf = "";
        waiter?.();
      }
    });
    const one = () =>
      new Promise<void>((resolve) => {
        waiter = resolve;
        ch.write(line);
      });
    await one(); // warm
    const ms = await timed(n, async () => {
      for (let i = 0; i < n; i++) await one();
    });
    ch.end();
    return ms;
  } finally {
    client.end();
  }
}

async function viaRemote(sshd: Target, mode: "session" | "exec", n: number, parallel: number, argv: string[]): Promise<{ ms: number; channels: number; tcp: number }> {
  const pool = new SshPool();
  const remote = new SshRemote(parseConnection(sshd.connection(mode)), pool);
  try {
    // Warm: connection and (in session mode) as many sessions as will run at once.
    await Promise.all(Array.from({ length: parallel }, () => remote.exec(["true"])));
    const before = pool.stats().global;
    const ms = await timed(n, async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (next < n) {
            next++;
            await remote.exec(argv);
          }
        }),
      );
    });
    const after = pool.stats().global;
    return { ms, channels: after.channelsOpened - before.channelsOpened, tcp: after.connectionsOpened };
  } finally {
    pool.closeAll();
  }
}

async function main(): Promise<void> {
  const sshd = await target();
  const rows: Row[] = [];
  try {
    // Two floors: a shell built-in (no process at all: the cheapest thing a shell can do) and a real program
    // (a fork and exec, like every command the drivers send). Each pooled row is compared with the floor of
    // the same command.
    const cases: Array<{ way: string; n: number; floor?: string; run: () => Promise<{ ms: number; channels?: number; tcp?: number }> }> = [
      { way: "floor: bare remote sh loop, `true` + end marker", n: 300, run: async () => ({ ms: await bareShellLoop(sshd, 300) }) },
      { way: "floor: bare remote sh loop, `/bin/true` + end marker", n: 300, run: async () => ({ ms: await bareShellLoop(sshd, 300, "/bin/true; echo __END__\n") }) },
      { way: "bare loop + subshell: `(true)` + end marker", n: 300, floor: "true", run: async () => ({ ms: await bareShellLoop(sshd, 300, "(true); echo __END__\n") }) },
      { way: "exec channel per command, sequential (`true`)", n: 20, floor: "true", run: () => viaRemote(sshd, "exec", 20, 1, ["true"]) },
      { way: "exec channel per command, 8 at once (`true`)", n: 48, floor: "true", run: () => viaRemote(sshd, "exec", 48, 8, ["true"]) },
      { way: "pooled sessions, sequential (`true`)", n: 300, floor: "true", run: () => viaRemote(sshd, "session", 300, 1, ["true"]) },
      { way: "pooled sessions, 8 at once (`true`)", n: 800, floor: "true", run: () => viaRemote(sshd, "session", 800, 8, ["true"]) },
      { way: "pooled sessions, sequential (`/bin/true`)", n: 300, floor: "/bin/true", run: () => viaRemote(sshd, "session", 300, 1, ["/bin/true"]) },
      { way: "pooled sessions, 8 at once (`/bin/true`)", n: 800, floor: "/bin/true", run: () => viaRemote(sshd, "session", 800, 8, ["/bin/true"]) },
      { way: "pooled sessions, sequential (`cd /tmp`: a built-in in a subshell)", n: 300, floor: "true", run: () => viaRemote(sshd, "session", 300, 1, ["cd", "/tmp"]) },
      { way: "pooled sessions, sequential (`echo hello`: output path)", n: 300, floor: "true", run: () => viaRemote(sshd, "session", 300, 1, ["echo", "hello"]) },
    ];
    for (const c of cases) {
      const samples: number[] = [];
      let last: { ms: number; channels?: number; tcp?: number } = { ms: 0 };
      for (let r = 0; r < RUNS; r++) {
        last = await c.run();
        samples.push(last.ms);
      }
      rows.push({
        way: c.way,
        floor: c.floor,
        commands: c.n,
        msPerCommand: { median: median(samples), min: Math.min(...samples), max: Math.max(...samples) },
        channelsOpened: last.channels,
        tcpConnections: last.tcp,
      });
    }
  } finally {
    await sshd.stop();
  }
  const floors: Record<string, number> = { true: rows[0].msPerCommand.median, "/bin/true": rows[1].msPerCommand.median };
  rows[0].floor = "true";
  rows[1].floor = "/bin/true";
  for (const r of rows) r.vsFloor = Math.round((r.msPerCommand.median / floors[r.floor ?? "true"]) * 100) / 100;
  const f = (x: number) => x.toFixed(3).padStart(9);
  console.log(`ssh-exec benchmark: ${RUNS} runs each, ms per command (median [min..max]); ${sshd.where}; ${new Date().toISOString()}`);
  console.log(`${"way".padEnd(66)} ${"cmds".padStart(5)} ${"median".padStart(9)} ${"min".padStart(9)} ${"max".padStart(9)} ${"x floor".padStart(8)} chans/run`);
  for (const r of rows) {
    console.log(
      `${r.way.padEnd(66)} ${String(r.commands).padStart(5)} ${f(r.msPerCommand.median)} ${f(r.msPerCommand.min)} ${f(r.msPerCommand.max)} ${String(r.vsFloor).padStart(8)} ${r.channelsOpened ?? "-"}`,
    );
  }
  console.log(JSON.stringify({ bench: "ssh-exec", runs: RUNS, target: sshd.where, rows }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
