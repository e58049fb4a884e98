// Session mode (issue 13): long-lived remote `sh` processes, each fed one command at a time. Opening a
// channel costs ~145 ms here (sshd forks a session); a command in a running shell costs about a millisecond.
//
// Protocol, per command (POSIX sh, no helpers beyond wc, cat, base64, mktemp):
// - The command runs in a subshell `( ... )`, so cd, export, set -e, trap and exec end with it.
// - Its stdout and stderr go to two files in the session's private directory, never to the session's own
//   stdout. The session's stdout therefore carries only frames written by the shell itself:
//     "PVEND <token> <exit code> -\n"                     (no output), or
//     "PVEND <token> <exit code> +\n" + `wc -c o e` + o + e  (byte counts, then the raw bytes)
//   Length framing makes any output unambiguous (binary, no trailing newline, containing our markers).
// - stdin is /dev/null, or the given bytes as a base64 here-document piped into the subshell; nothing the
//   command reads can come from the session's own input.
// - A timeout kills the session's whole process group and discards the session; a session that dies
//   fails only the command it was running, and the next command gets a fresh session.
import { randomBytes } from "node:crypto";
import type { ClientChannel } from "ssh2";
import { concatBytes } from "./bytes";
import type { HostConnection, SshPool } from "./pool";
import { commandLine } from "./quote";
import { CommandRunner, KILL_GROUP_SCRIPT, Privilege, RawResult, RunFailure, RunRequest, SudoResponder, sudoArgv, sudoPrompt } from "./runner";

const START_MARK = "PVGO";
const READY_MARK = "PVREADY";
const END_MARK = "PVEND";
const SESSION_STDERR_KEPT = 4096;
const KILL_TIMEOUT_MS = 15_000;

/** Started once per session: private directory for output files, remembered home and umask, pid/pgid line. */
const BOOT_SCRIPT = [
  "pvh=$PWD",
  "pvu=$(umask)",
  "umask 077",
  'pvd=$(mktemp -d "${TMPDIR:-/tmp}/pv-session.XXXXXX") || exit 97',
  'cd "$pvd" || exit 97',
  "trap 'cd / && rm -rf \"$pvd\"' EXIT",
  "pvstat=-",
  "read -r pvstat </proc/$$/stat 2>/dev/null",
  `printf '${READY_MARK} %s %s\\n' "$pvd" "$pvstat"`,
  "",
].join("\n");

function base64HereDoc(data: Buffer): string {
  const b64 = data.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 4096) lines.push(b64.slice(i, i + 4096));
  // "." is not in the base64 alphabet, so the delimiter cannot occur as a data line.
  return lines.join("\n") + "\nPV.EOF\n";
}

/** The text fed to the session for one command. */
function commandScript(token: string, argv: string[], stdin: Buffer | undefined): string {
  const body = `exec ${stdin ? "" : "</dev/null "}>o 2>e; umask "$pvu"; cd "$pvh" 2>/dev/null; ${commandLine(argv)}`;
  const run = stdin ? `base64 -d <<'PV.EOF' | (${body})\n${base64HereDoc(stdin)}` : `(${body})\n`;
  return (
    run +
    "pvrc=$?\n" +
    `if [ -s o ] || [ -s e ]; then printf '${END_MARK} ${token} %s +\\n' "$pvrc"; wc -c o e; cat o e; ` +
    `else printf '${END_MARK} ${token} %s -\\n' "$pvrc"; fi\n`
  );
}

interface Pending {
  token: string;
  maxOutputBytes: number;
  resolve: (r: RawResult) => void;
  reject: (e: RunFailure) => void;
  code?: number;
  phase: "header" | "sizes" | "body";
  sizeLines: number[];
  outLeft: number;
  errLeft: number;
  out: Buffer[];
  err: Buffer[];
  outKept: number;
  errKept: number;
  overflow?: string;
}

/** One long-lived remote shell. */
class ShellSession {
  dead = false;
  started = false;
  private pending?: Pending;
  private head: Buffer = Buffer.alloc(0);
  private shellStderr = "";
  private deathListeners: Array<() => void> = [];
  pid?: number;
  pgid?: number;
  dir?: string;

  private constructor(private readonly channel: ClientChannel) {}

  /** Open the channel (become root first if asked) and wait for the shell's ready line. */
  static start(channel: ClientChannel, p: Privilege, prompt: string, timeoutMs: number): Promise<ShellSession> {
    const s = new ShellSession(channel);
    return new Promise<ShellSession>((resolve, reject) => {
      let phase: "go" | "ready" = "go";
      let buf = "";
      const fail = (msg: string) => {
        clearTimeout(timer);
        channel.close();
        reject(new RunFailure("session-died", `${msg}${s.shellStderr ? `; shell stderr: ${s.shellStderr.trim().slice(-500)}` : ""}`));
      };
      const timer = setTimeout(() => fail(`the remote shell did not start within ${timeoutMs} ms`), timeoutMs);
      const sudo = new SudoResponder(prompt, p.sudo ? p.password : undefined, channel, () =>
        fail("sudo refused the password (check the connection's password)"),
      );
      const onStartupData = (chunk: Buffer) => {
        buf += chunk.toString("latin1");
        for (;;) {
          const nl = buf.indexOf("\n");
          if (nl === -1) return;
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (phase === "go" && line === START_MARK) {
            phase = "ready";
            channel.write(BOOT_SCRIPT);
          } else if (phase === "ready" && line.startsWith(READY_MARK + " ")) {
            const [, dir, ...stat] = line.split(" ");
            s.dir = dir;
            const statLine = stat.join(" ");
            const afterComm = statLine.slice(statLine.lastIndexOf(")") + 2).split(" ");
            s.pid = Number(stat[0]) || undefined;
            s.pgid = Number(afterComm[2]) || undefined;
            clearTimeout(timer);
            s.started = true;
            channel.removeListener("data", onStartupData);
            channel.on("data", (d: Buffer) => s.onData(d));
            channel.stderr.removeListener("data", onStartupStderr);
            channel.stderr.on("data", (d: Buffer) => s.keepStderr(d.toString()));
            resolve(s);
            return;
          } else {
            return fail(`unexpected output from the remote shell while starting: ${JSON.stringify(line.slice(0, 200))}`);
          }
        }
      };
      const onStartupStderr = (chunk: Buffer) => s.keepStderr(sudo.filter(chunk).toString());
      channel.on("data", onStartupData);
      channel.stderr.on("data", onStartupStderr);
      channel.on("close", () => {
        if (!s.started) fail("the remote shell exited while starting (sudo not allowed? no sh, mktemp or /tmp?)");
        s.die("the remote shell session ended");
      });
    });
  }

  private keepStderr(text: string): void {
    this.shellStderr = (this.shellStderr + text).slice(-SESSION_STDERR_KEPT);
  }

  onDeath(l: () => void): void {
    this.deathListeners.push(l);
  }

  run(req: RunRequest): Promise<RawResult> {
    const token = randomBytes(8).toString("hex");
    return new Promise<RawResult>((resolve, reject) => {
      this.pending = {
        token,
        maxOutputBytes: req.maxOutputBytes,
        resolve,
        reject,
        phase: "header",
        sizeLines: [],
        outLeft: 0,
        errLeft: 0,
        out: [],
        err: [],
        outKept: 0,
        errKept: 0,
      };
      this.channel.write(commandScript(token, req.argv, req.stdin));
    });
  }

  /** Parse frames. Body bytes are sliced straight from the chunks, so tens of MB are not re-copied. */
  private onData(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      const p = this.pending;
      if (!p) return this.protocolError(`output from the remote shell between commands: ${JSON.stringify(data.subarray(0, 100).toString())}`);
      if (p.phase === "body") {
        data = this.takeBody(p, data);
        continue;
      }
      const joined = this.head.length ? concatBytes([this.head, data]) : data;
      const nl = joined.indexOf(10);
      if (nl === -1) {
        this.head = Buffer.from(joined);
        return;
      }
      const line = joined.subarray(0, nl).toString("latin1");
      data = joined.subarray(nl + 1);
      this.head = Buffer.alloc(0);
      if (p.phase === "header") {
        const m = /^PVEND ([0-9a-f]+) (\d+) ([-+])$/.exec(line);
        if (!m || m[1] !== p.token) return this.protocolError(`unexpected frame from the remote shell: ${JSON.stringify(line.slice(0, 200))}`);
        p.code = Number(m[2]);
        if (m[3] === "-") this.finish(p);
        else p.phase = "sizes";
      } else {
        const m = /^\s*(\d+)\s/.exec(line);
        if (!m) return this.protocolError(`unexpected size line from the remote shell: ${JSON.stringify(line.slice(0, 200))}`);
        p.sizeLines.push(Number(m[1]));
        if (p.sizeLines.length === 3) {
          [p.outLeft, p.errLeft] = p.sizeLines;
          p.phase = "body";
          if (p.outLeft + p.errLeft === 0) this.finish(p);
        }
      }
    }
  }

  private takeBody(p: Pending, data: Buffer): Buffer {
    if (p.outLeft > 0) {
      const n = Math.min(p.outLeft, data.length);
      p.outLeft -= n;
      p.outKept = this.keep(p, p.out, p.outKept, data.subarray(0, n), "stdout");
      data = data.subarray(n);
    }
    if (p.outLeft === 0 && p.errLeft > 0 && data.length > 0) {
      const n = Math.min(p.errLeft, data.length);
      p.errLeft -= n;
      p.errKept = this.keep(p, p.err, p.errKept, data.subarray(0, n), "stderr");
      data = data.subarray(n);
    }
    if (p.outLeft === 0 && p.errLeft === 0) this.finish(p);
    return data;
  }

  /** Past the cap, bytes are still read (the frame must be consumed) but not kept. */
  private keep(p: Pending, into: Buffer[], kept: number, part: Buffer, what: string): number {
    if (kept + part.length > p.maxOutputBytes) {
      p.overflow ??= `${what} exceeded maxOutputBytes (${p.maxOutputBytes} bytes)`;
      return kept;
    }
    into.push(part);
    return kept + part.length;
  }

  private finish(p: Pending): void {
    this.pending = undefined;
    const result: RawResult = { code: p.code ?? null, stdout: concatBytes(p.out), stderr: concatBytes(p.err) };
    if (p.overflow) p.reject(new RunFailure("overflow", p.overflow, result));
    else p.resolve(result);
  }

  private protocolError(msg: string): void {
    this.die(`lost sync with the remote shell (${msg})`, "protocol");
    this.channel.close();
  }

  /** Mark dead and fail the running command, if any. */
  die(reason: string, kind: "session-died" | "protocol" | "timeout" = "session-died"): void {
    if (this.dead) return;
    this.dead = true;
    const p = this.pending;
    this.pending = undefined;
    if (p) {
      const stderr = this.shellStderr.trim() ? `; shell stderr: ${this.shellStderr.trim().slice(-500)}` : "";
      p.reject(
        new RunFailure(kind, `${reason} while the command ran; it may or may not have taken effect${stderr}`, {
          code: null,
          stdout: concatBytes(p.out),
          stderr: concatBytes(p.err),
        }),
      );
    }
    for (const l of this.deathListeners) l();
  }

  /** End the shell politely (EOF on its input: it exits and removes its directory). */
  close(reason: string): void {
    this.channel.end();
    this.die(reason);
  }

  /** Fail the running command at once and drop the channel; the caller kills the process group. */
  abandon(reason: string): void {
    this.die(reason, "timeout");
    this.channel.close();
  }
}

/** The sessions of one host for one privilege (plain or sudo). Sessions hold a channel permit while open. */
export class SessionRunner implements CommandRunner {
  private static readonly registry = new WeakMap<HostConnection, Map<boolean, SessionRunner>>();
  private readonly idle: ShellSession[] = [];
  private readonly waiters: Array<(s: ShellSession | undefined) => void> = [];
  private count = 0;

  /** One runner per host and privilege, shared by every Remote of that host. */
  static for(host: HostConnection, p: Privilege, pool: SshPool): SessionRunner {
    let byPriv = SessionRunner.registry.get(host);
    if (!byPriv) {
      byPriv = new Map();
      SessionRunner.registry.set(host, byPriv);
      const runners = byPriv;
      // Someone needs a channel and all are taken: give back an idle session's.
      const previous = host.channels.onPressure;
      host.channels.onPressure = () => {
        previous?.();
        for (const r of runners.values()) if (r.evictIdle()) return;
      };
      pool.onCloseAll(() => {
        for (const r of runners.values()) r.close();
      });
    }
    let r = byPriv.get(p.sudo);
    if (!r) {
      r = new SessionRunner(host, p);
      byPriv.set(p.sudo, r);
    }
    return r;
  }

  private constructor(
    private readonly host: HostConnection,
    private readonly privilege: Privilege,
  ) {}

  async run(req: RunRequest): Promise<RawResult> {
    const s = await this.acquire();
    this.host.countCommand();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      s.abandon("timed out");
    }, req.timeoutMs);
    try {
      return await s.run(req);
    } catch (err) {
      if (timedOut) {
        await this.killSession(s);
        throw new RunFailure("timeout", `timed out after ${req.timeoutMs} ms; the remote process group was killed`, (err as RunFailure).partial);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      if (!s.dead && !this.wakeOne(s)) this.idle.push(s);
    }
  }

  private async acquire(): Promise<ShellSession> {
    for (;;) {
      let s: ShellSession | undefined;
      while ((s = this.idle.pop())) if (!s.dead) return s;
      if (this.count < this.host.conn.maxChannels) {
        this.count++;
        try {
          return await this.startSession();
        } catch (err) {
          this.count--;
          this.wakeOne(undefined);
          throw err;
        }
      }
      s = await new Promise<ShellSession | undefined>((resolve) => this.waiters.push(resolve));
      if (s && !s.dead) return s;
    }
  }

  private async startSession(): Promise<ShellSession> {
    await this.host.channels.acquire();
    let released = false;
    const releasePermit = () => {
      if (released) return;
      released = true;
      this.host.channels.release();
    };
    try {
      const s = await this.host.withClient(async (c) => {
        const prompt = sudoPrompt();
        const argv = [...sudoArgv(this.privilege, prompt), "sh", "-c", `echo ${START_MARK}; exec sh -s`];
        const channel = await this.host.openExec(c, `exec ${commandLine(argv)}`);
        return ShellSession.start(channel, this.privilege, prompt, this.host.conn.dialTimeoutMs);
      });
      this.host.countSession();
      const stopWatching = this.host.onClose(() => s.die("the SSH connection dropped"));
      s.onDeath(() => {
        stopWatching();
        releasePermit();
        const i = this.idle.indexOf(s);
        if (i !== -1) this.idle.splice(i, 1);
        this.count--;
        // A waiter may now start a fresh session.
        this.wakeOne(undefined);
      });
      return s;
    } catch (err) {
      releasePermit();
      throw err;
    }
  }

  private wakeOne(s: ShellSession | undefined): boolean {
    const w = this.waiters.shift();
    if (!w) return false;
    w(s);
    return true;
  }

  evictIdle(): boolean {
    const s = this.idle.shift();
    if (!s) return false;
    s.close("evicted to free a channel");
    return true;
  }

  /** Kill a timed-out session's process group (and its directory) through another session. */
  private async killSession(s: ShellSession): Promise<void> {
    const group = s.pgid ?? s.pid;
    if (!group) return;
    const argv = ["sh", "-c", KILL_GROUP_SCRIPT, "sh", String(group), s.dir ?? ""];
    try {
      await this.run({ argv, timeoutMs: KILL_TIMEOUT_MS, maxOutputBytes: 4096 });
    } catch {
      // Best effort; the timeout is what the caller reports.
    }
  }

  close(): void {
    for (const s of [...this.idle]) s.close("closed");
  }
}
