// Session mode (issue 13): long-lived remote `sh` processes, each fed one command at a time. Opening a
// channel costs ~145 ms here (sshd forks a session); a command in a running shell costs well under a ms.
//
// Protocol, per command (POSIX sh; base64 only when stdin is given):
// - Isolation: the session shell's own state (cwd, environment, umask, options, traps) never changes. A
//   program (argv[0] that no common /bin/sh treats as a builtin) runs as `'prog' 'arg'... </dev/null`: the
//   shell forks and execs it, so nothing it does can reach the shell; so does a built-in that changes
//   nothing (true, echo, test, pwd). Any other built-in name (cd, export, set, trap, exec, read, ...)
//   runs in a subshell `( ... )`, so its effect ends with it. (Wrapping programs in a
//   subshell too would cost a second fork per command: ~0.2 ms of the ~0.7 ms a real command takes here.)
// - Its stdout and stderr stream straight to the session's stdout and stderr, each followed by a trailer
//   that starts with a fresh 128-bit random token: "\n<token> <exit code>\n" on stdout, "\n<token>\n" on
//   stderr. The token is drawn after the previous command ended and appears nowhere the command can see
//   except the shell's own memory, so output cannot end a frame early by accident: binary, no trailing
//   newline, or text that looks like our markers all come back verbatim. (Measured alternative: output to
//   files with byte counts via `wc` and `cat` costs two forks, ~5 ms per command here vs ~0.5 ms.)
// - stdin is /dev/null, or the given bytes as a base64 here-document piped into the subshell; nothing the
//   command reads can come from the session's own input.
// - A timeout (or output past the cap) kills the session shell's process tree (the running command and
//   its children; not what earlier commands left running in the background) and discards the session; a session that dies fails only the command it was running; the next gets a fresh session.
import { randomBytes } from "node:crypto";
import type { ClientChannel } from "ssh2";
import { concatBytes } from "./bytes";
import { ChannelRefused, type HostConnection, type SshPool } from "./pool";
import { commandLine } from "./quote";
import { CommandRunner, FailureKind, KILL_TREE_SCRIPT, Privilege, RawResult, RunFailure, RunRequest, SudoResponder, sudoArgv, sudoPrompt } from "./runner";

const START_MARK = "PVGO";
const READY_MARK = "PVREADY";
const SESSION_STDERR_KEPT = 4096;
const KILL_TIMEOUT_MS = 15_000;

/** Run once per session: print the shell's pid (the root of every command's process tree). */
const BOOT_SCRIPT = `printf '${READY_MARK} %s\\n' "$$"\n`;

/**
 * Names that some /bin/sh (dash, bash, busybox ash, ksh, mksh, zsh as sh) runs inside the shell itself, or
 * that are reserved words: a command starting with one of these runs in a subshell. Anything else is a
 * program the shell forks and execs, which cannot change the shell.
 */
const SHELL_BUILTINS = new Set(
  (
    // POSIX special and regular built-ins
    ". : break continue eval exec exit export readonly return set shift times trap unset " +
    "alias bg cd command false fc fg getopts hash jobs kill newgrp pwd read true type ulimit umask unalias wait " +
    // dash, ash, bash, ksh, mksh, zsh extras
    "[ [[ test echo printf chdir local bind builtin caller compgen complete compopt declare dirs disown enable help " +
    "history let logout mapfile popd pushd readarray shopt source suspend typeset print whence autoload functions " +
    "integer nameref rename login float emulate setopt unsetopt noglob " +
    // reserved words (quoted they are not keywords, but stay on the safe side)
    "! { } case do done elif else esac fi for function if in select then time until while coproc"
  ).split(" "),
);

/** Built-ins that cannot change the shell whatever their arguments: they need no subshell either. */
const STATELESS_BUILTINS = new Set(["true", "false", "echo", "test", "[", "pwd"]);

/**
 * Whether a command runs in a subshell (a built-in that could change the session shell, or a name we
 * cannot classify) or directly (a program, or a built-in without side effects on the shell).
 */
export function needsSubshell(argv0: string): boolean {
  if (STATELESS_BUILTINS.has(argv0)) return false;
  return SHELL_BUILTINS.has(argv0) || !/^[A-Za-z0-9_./+-]+$/.test(argv0) || argv0.startsWith("-");
}

function base64HereDoc(data: Buffer): string {
  const b64 = data.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 4096) lines.push(b64.slice(i, i + 4096));
  // "." is not in the base64 alphabet, so the delimiter cannot occur as a data line.
  return lines.join("\n") + "\nPV.EOF\n";
}

/** The text fed to the session for one command. */
export function commandScript(token: string, argv: string[], stdin: Buffer | undefined): string {
  const line = commandLine(argv);
  const sub = needsSubshell(argv[0]);
  let run: string;
  // With stdin: a pipeline, whose every element the shell forks, fed from a here-document.
  if (stdin) run = `base64 -d <<'PV.EOF' | ${sub ? `(${line})` : line}\n${base64HereDoc(stdin)}`;
  else run = sub ? `(exec </dev/null; ${line})\n` : `${line} </dev/null\n`;
  return run + `printf '\\n${token} %s\\n' "$?"; printf '\\n${token}\\n' >&2\n`;
}

/**
 * Collects one stream up to "\n<token>", without re-copying what came before: the token is searched in
 * each new chunk plus the few bytes before it that could hold its start.
 */
class TrailerScanner {
  private readonly needle: Buffer;
  private parts: Buffer[] = [];
  private total = 0;
  /** Stream bytes before the needle, once found. */
  found?: Buffer;
  /** Bytes after the needle (the rest of the trailer line). */
  after: Buffer = Buffer.alloc(0);

  constructor(token: string) {
    this.needle = Buffer.from(`\n${token}`);
  }

  get size(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (this.found) {
      this.after = concatBytes([this.after, chunk]);
      return;
    }
    const carry = this.tail(this.needle.length - 1);
    const window = carry.length ? concatBytes([carry, chunk]) : chunk;
    const idx = window.indexOf(this.needle as unknown as Uint8Array);
    this.parts.push(chunk);
    this.total += chunk.length;
    if (idx === -1) return;
    const end = this.total - chunk.length - carry.length + idx;
    const all = concatBytes(this.parts);
    this.found = all.subarray(0, end);
    this.after = all.subarray(end + this.needle.length);
    this.parts = [];
  }

  /** Drop what was collected so far (past the output cap) but keep looking for the trailer. */
  discard(): void {
    const keep = this.tail(this.needle.length - 1);
    this.parts = keep.length ? [keep] : [];
    this.total = keep.length;
  }

  private tail(n: number): Buffer {
    const out: Buffer[] = [];
    let need = n;
    for (let i = this.parts.length - 1; i >= 0 && need > 0; i--) {
      const p = this.parts[i];
      out.unshift(p.length <= need ? p : p.subarray(p.length - need));
      need -= Math.min(need, p.length);
    }
    return out.length === 1 ? out[0] : concatBytes(out);
  }
}

interface Pending {
  maxOutputBytes: number;
  resolve: (r: RawResult) => void;
  reject: (e: RunFailure) => void;
  out: TrailerScanner;
  err: TrailerScanner;
  code?: number;
  errDone: boolean;
}

/** One long-lived remote shell. */
class ShellSession {
  dead = false;
  started = false;
  private pending?: Pending;
  private shellStderr = "";
  private deathListeners: Array<() => void> = [];
  pid?: number;

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
            s.pid = Number(line.slice(READY_MARK.length + 1)) || undefined;
            clearTimeout(timer);
            s.started = true;
            channel.removeListener("data", onStartupData);
            channel.on("data", (d: Buffer) => s.onData(d));
            channel.stderr.removeListener("data", onStartupStderr);
            channel.stderr.on("data", (d: Buffer) => s.onStderr(d));
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
        if (!s.started) fail("the remote shell exited while starting (sudo not allowed? no sh?)");
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
    const token = `pv${randomBytes(16).toString("hex")}`;
    return new Promise<RawResult>((resolve, reject) => {
      this.pending = {
        maxOutputBytes: req.maxOutputBytes,
        resolve,
        reject,
        out: new TrailerScanner(token),
        err: new TrailerScanner(token),
        errDone: false,
      };
      this.channel.write(commandScript(token, req.argv, req.stdin));
    });
  }

  private onData(chunk: Buffer): void {
    const p = this.pending;
    if (!p) return this.protocolError(`output from the remote shell between commands: ${JSON.stringify(chunk.subarray(0, 100).toString())}`);
    p.out.push(chunk);
    if (!p.out.found) return this.checkCap(p, p.out, "stdout");
    if (p.code === undefined) {
      const nl = p.out.after.indexOf(10);
      if (nl === -1) return;
      const m = /^ (\d+)$/.exec(p.out.after.subarray(0, nl).toString("latin1"));
      if (!m || p.out.after.length !== nl + 1) {
        return this.protocolError(`unexpected trailer from the remote shell: ${JSON.stringify(p.out.after.subarray(0, 100).toString())}`);
      }
      p.code = Number(m[1]);
    } else if (p.out.after.length) {
      return this.protocolError(`output after the trailer: ${JSON.stringify(p.out.after.subarray(0, 100).toString())}`);
    }
    this.maybeFinish(p);
  }

  onStderr(chunk: Buffer): void {
    const p = this.pending;
    // Outside a command, stderr can only be the shell's own complaint: keep it for error messages.
    if (!p || p.errDone) return this.keepStderr(chunk.toString());
    p.err.push(chunk);
    if (!p.err.found) return this.checkCap(p, p.err, "stderr");
    if (p.err.after.length === 0) return;
    if (p.err.after[0] !== 10) return this.protocolError("unexpected stderr trailer from the remote shell");
    p.errDone = true;
    if (p.err.after.length > 1) this.keepStderr(p.err.after.subarray(1).toString());
    this.maybeFinish(p);
  }

  /** Output past the cap: stop the command (kill, like a timeout) rather than read it all. */
  private checkCap(p: Pending, scanner: TrailerScanner, what: string): void {
    if (scanner.size <= p.maxOutputBytes) return;
    scanner.discard();
    this.die(`${what} exceeded maxOutputBytes (${p.maxOutputBytes} bytes); the command was killed`, "overflow", "");
    this.channel.close();
  }

  private maybeFinish(p: Pending): void {
    if (p.code === undefined || !p.errDone) return;
    this.pending = undefined;
    p.resolve({ code: p.code, stdout: p.out.found!, stderr: p.err.found! });
  }

  private protocolError(msg: string): void {
    this.die(`lost sync with the remote shell (${msg})`, "protocol");
    this.channel.close();
  }

  /** Mark dead and fail the running command, if any. */
  die(reason: string, kind: FailureKind = "session-died", suffix = " while the command ran; it may or may not have taken effect"): void {
    if (this.dead) return;
    this.dead = true;
    const p = this.pending;
    this.pending = undefined;
    if (p) {
      const stderr = this.shellStderr.trim() ? `; shell stderr: ${this.shellStderr.trim().slice(-500)}` : "";
      p.reject(new RunFailure(kind, `${reason}${suffix}${stderr}`, { code: null, stdout: Buffer.alloc(0), stderr: p.err.found ?? Buffer.alloc(0) }));
    }
    for (const l of this.deathListeners) l();
  }

  /** End the shell politely (EOF on its input: it exits). */
  close(reason: string): void {
    this.channel.end();
    this.die(reason);
  }

  /**
   * Fail the running command at once. The channel stays open until the caller has killed the process tree
   * (dropChannel): closing it first could end the shell and orphan its children before the kill finds them.
   */
  abandon(reason: string): void {
    this.die(reason, "timeout");
  }

  dropChannel(): void {
    this.channel.close();
  }
}

/** How long a new shell may take to start for a command with this timeout. */
export function shellStartLimitMs(dialTimeoutMs: number, commandTimeoutMs: number): number {
  return Math.max(dialTimeoutMs, commandTimeoutMs);
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
    // A new shell may take as long as the command itself may (a loaded host can take longer than a dial to start
    // one); the watchdog in remote.ts allows for both.
    const s = await this.acquire(shellStartLimitMs(this.host.conn.dialTimeoutMs, req.timeoutMs));
    this.host.countCommand();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      s.abandon("timed out");
    }, req.timeoutMs);
    try {
      return await s.run(req);
    } catch (err) {
      if (err instanceof RunFailure && err.kind === "overflow") {
        await this.killSession(s);
        throw err;
      }
      if (timedOut) {
        await this.killSession(s);
        throw new RunFailure("timeout", `timed out after ${req.timeoutMs} ms; the remote command and its child processes were killed`, (err as RunFailure).partial);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      if (timedOut) s.dropChannel();
      this.giveBack(s);
    }
  }

  private giveBack(s: ShellSession): void {
    if (s.dead || this.wakeOne(s)) return;
    // Someone (an sftp upload, the other privilege's shells) waits for a channel: this shell's is theirs.
    if (this.host.channels.contended) s.close("its channel is wanted elsewhere");
    else this.idle.push(s);
  }

  private async acquire(startTimeoutMs: number): Promise<ShellSession> {
    for (;;) {
      let s: ShellSession | undefined;
      while ((s = this.idle.pop())) if (!s.dead) return s;
      // Channels the server refused (its MaxSessions below maxChannels) lower the number of shells for good.
      if (this.count < Math.max(1, this.host.conn.maxChannels - this.host.channelsRefused)) {
        this.count++;
        try {
          return await this.startSession(startTimeoutMs);
        } catch (err) {
          this.count--;
          this.wakeOne(undefined);
          // Refused over the server's limit: wait below for one of our shells to come free.
          if (!(err instanceof ChannelRefused)) throw err;
          continue;
        }
      }
      s = await new Promise<ShellSession | undefined>((resolve) => this.waiters.push(resolve));
      if (s && !s.dead) return s;
    }
  }

  private async startSession(startTimeoutMs: number): Promise<ShellSession> {
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
        return ShellSession.start(channel, this.privilege, prompt, startTimeoutMs);
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

  /** Kill a timed-out session's process tree through another session. */
  private async killSession(s: ShellSession): Promise<void> {
    if (!s.pid) return;
    const argv = ["sh", "-c", KILL_TREE_SCRIPT, "sh", String(s.pid)];
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
