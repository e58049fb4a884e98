// The Remote that drivers use: argv in, bytes and exit codes out, over the pooled SSH connection.
import { randomBytes } from "node:crypto";
import { appendFileSync } from "node:fs";
import type { SFTPWrapper } from "ssh2";
import { ConnectionArgs, connectionKey, parseConnection } from "./connection";
import { ChannelRefused, HostConnection, SshPool } from "./pool";
import { commandLine } from "./quote";
import { COALESCED_TIMEOUT_CODE, combinedScript, parseCombined } from "./coalesce";
import { CommandRunner, ExecRunner, Privilege, RawResult, RunFailure } from "./runner";
import { redact } from "./secrets";
import { SessionRunner, shellStartLimitMs } from "./session";
import { ExecOptions, ExecResult, Remote, RemoteCommandError } from "./types";

const DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024;
const STDERR_TAIL_BYTES = 2000;
const COMMAND_SHOWN_CHARS = 400;

const COALESCE_IDLE_LIMIT_MS = 500;
/** Extra time the combined command gets beyond its slowest part's own (remote) timeout. */
const COALESCE_GRACE_MS = 10_000;
/** Longest a window stays open, as a multiple of its idle gap (at least 50 ms). */
const COALESCE_MAX_WAIT_FACTOR = 5;

/** PULUMI_VIRT_READ_BATCH_MS=0 sends every read alone (the benchmarks' baseline; a way out if ever needed). */
function coalescingOn(): boolean {
  return process.env.PULUMI_VIRT_READ_BATCH_MS !== "0";
}

interface QueuedRead {
  script: string;
  args: string[];
  opts: ExecOptions;
  resolve: (r: ExecResult) => void;
  reject: (e: unknown) => void;
}

function shown(command: string): string {
  const c = redact(command);
  return c.length > COMMAND_SHOWN_CHARS ? `${c.slice(0, COMMAND_SHOWN_CHARS)}... (${c.length} chars)` : c;
}

function tail(b: Buffer): string {
  return redact(b.subarray(Math.max(0, b.length - STDERR_TAIL_BYTES)).toString().trim());
}

export class SshRemote implements Remote {
  readonly label: string;
  private readonly host: HostConnection;
  private readonly runners = new Map<boolean, CommandRunner>();
  /** Open coalescing windows, by privilege (sudo or not): only reads of one privilege travel together. */
  private readonly windows = new Map<boolean, { parts: QueuedRead[]; openedAt: number; idle: number; timer?: NodeJS.Timeout; dialling?: boolean }>();

  constructor(
    readonly conn: ConnectionArgs,
    private readonly pool: SshPool = SshPool.shared(),
  ) {
    this.label = connectionKey(conn);
    this.host = pool.host(conn);
  }

  exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.run(argv, commandLine(argv), opts);
  }

  script(script: string, args: string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    // Coalescing needs both: a script marked safe to share a command (coalesce) and a caller willing to wait
    // for company (coalesceIdleMs, set for refresh reads).
    if (opts.coalesce && opts.coalesceIdleMs && opts.stdin === undefined && coalescingOn()) {
      return this.coalesced(script, args, opts, Math.max(1, Math.min(opts.coalesceIdleMs, COALESCE_IDLE_LIMIT_MS)));
    }
    return this.run(["sh", "-c", script, "sh", ...args], commandLine(["sh", "-c", script, "sh", ...args]), opts);
  }

  async upload(path: string, content: string | Buffer, opts: { mode?: number; sudo?: boolean } = {}): Promise<void> {
    const mode = opts.mode ?? 0o644;
    const data = typeof content === "string" ? Buffer.from(content) : content;
    const viaSudo = this.privilege(opts.sudo).sudo;
    const step = `upload ${path}`;
    const rand = randomBytes(6).toString("hex");
    // Without sudo: write a temp file beside the target and rename it over (atomic on one filesystem).
    // With sudo: the login user cannot write there, so stage in /tmp and let root install it.
    const staged = viaSudo ? `/tmp/.pv-upload-${rand}` : `${path}.pv-tmp-${rand}`;
    try {
      await this.withSftp(async (sftp) => {
        await sftpCall<void>((cb) => sftp.writeFile(staged, data, { mode: viaSudo ? 0o600 : mode }, cb));
        await sftpCall<void>((cb) => sftp.chmod(staged, viaSudo ? 0o600 : mode, cb));
        if (!viaSudo) await sftpCall<void>((cb) => sftp.ext_openssh_rename(staged, path, cb));
      });
    } catch (err) {
      if (err instanceof RemoteCommandError) throw err;
      await this.withSftp((sftp) => sftpCall<void>((cb) => sftp.unlink(staged, cb))).catch(() => undefined);
      const msg = (err as Error).message;
      throw new RemoteCommandError(this.label, `sftp write ${path}`, null, "", step, redact(`${step}: sftp on ${this.label} failed: ${msg}`));
    }
    if (viaSudo) {
      await this.script(
        'trap \'rm -f "$1"\' EXIT; t="$2.pv-tmp.$$"; install -m "$3" "$1" "$t" && mv -f "$t" "$2" || { rm -f "$t"; exit 1; }',
        [staged, path, mode.toString(8)],
        { sudo: true, step },
      );
    }
  }

  /** Which privilege a command gets: sudo only for a non-root user that asked for it. */
  private privilege(sudo: boolean | undefined): Privilege {
    const want = (sudo ?? this.conn.sudo) && this.conn.user !== "root";
    return want ? { sudo: true, password: this.conn.password } : { sudo: false };
  }

  private runner(p: Privilege): CommandRunner {
    let r = this.runners.get(p.sudo);
    if (!r) {
      r = this.conn.execMode === "exec" ? new ExecRunner(this.host, p) : SessionRunner.for(this.host, p, this.pool);
      this.runners.set(p.sudo, r);
    }
    return r;
  }

  private async run(argv: string[], display: string, opts: ExecOptions): Promise<ExecResult> {
    const privilege = this.privilege(opts.sudo);
    const step = opts.step;
    const where = `${step ? `${step}: ` : ""}command on ${this.label}`;
    let raw: RawResult;
    const timeoutMs = opts.timeoutMs ?? this.conn.commandTimeoutMs;
    let watchdog: NodeJS.Timeout | undefined;
    const startedAt = Date.now();
    this.host.retain();
    try {
      const running = this.runner(privilege).run({
        argv,
        stdin: opts.stdin === undefined ? undefined : Buffer.isBuffer(opts.stdin) ? opts.stdin : Buffer.from(opts.stdin),
        timeoutMs,
        maxOutputBytes: opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT,
      });
      // Watchdog for a link that stops answering (cable cut, host frozen): waiting for a channel, or for the kill
      // of a timed-out command, can otherwise hang on TCP retransmits for minutes. Past a dial, a shell's start and the
      // command's timeout plus grace, fail the command and drop the connection; the next command reconnects.
      const stalled = new Promise<never>((_, reject) => {
        watchdog = setTimeout(() => {
          this.host.close();
          reject(new RunFailure("timeout", `timed out after ${timeoutMs} ms and the connection stopped answering (it was closed; the next command reconnects); the command may or may not have taken effect`));
        }, this.conn.dialTimeoutMs + shellStartLimitMs(this.conn.dialTimeoutMs, timeoutMs) + timeoutMs + WATCHDOG_GRACE_MS);
      });
      raw = await Promise.race([running, stalled]);
    } catch (err) {
      if (err instanceof RunFailure) {
        const stderrTail = err.partial ? tail(err.partial.stderr) : "";
        const msg = `${where} ${err.message}: ${shown(display)}` + (stderrTail ? `\n  stderr: ${stderrTail}` : "");
        throw new RemoteCommandError(this.label, shown(display), null, stderrTail, step, redact(msg));
      }
      const msg = (err as Error).message ?? String(err);
      throw new RemoteCommandError(this.label, shown(display), null, "", step, redact(`${where} could not run: ${msg}`));
    } finally {
      clearTimeout(watchdog);
      this.host.release();
      traceCommand(this.label, step ?? argv[0], startedAt);
    }
    return this.toResult(raw, display, opts);
  }

  /** A finished command's result, or the RemoteCommandError its exit code calls for. */
  private toResult(raw: RawResult, display: string, opts: ExecOptions): ExecResult {
    const step = opts.step;
    const where = `${step ? `${step}: ` : ""}command on ${this.label}`;
    const stdout = raw.stdout;
    const result: ExecResult = { code: raw.code ?? -1, stdout: stdout.toString(), stderr: raw.stderr.toString(), stdoutBytes: stdout };
    const ok = opts.okCodes ?? [0];
    if (raw.code === null || !ok.includes(raw.code)) {
      const stderrTail = tail(raw.stderr);
      const status = raw.code === null ? `killed by signal ${raw.signal ?? "?"}` : `exit ${raw.code}`;
      const msg = `${where} failed (${status}): ${shown(display)}` + (stderrTail ? `\n  stderr: ${stderrTail}` : "");
      throw new RemoteCommandError(this.label, shown(display), raw.code, stderrTail, step, redact(msg));
    }
    return result;
  }

  /** Queue a read-only script to travel with the others that reach this host within the window. */
  private coalesced(script: string, args: string[], opts: ExecOptions, idle: number): Promise<ExecResult> {
    const privilege = this.privilege(opts.sudo);
    let win = this.windows.get(privilege.sudo);
    if (!win) {
      win = { parts: [], openedAt: Date.now(), idle };
      this.windows.set(privilege.sudo, win);
    }
    const w = win;
    // The most patient read sets the window: a refresh read joining a short window keeps it open longer.
    w.idle = Math.max(w.idle, idle);
    const p = new Promise<ExecResult>((resolve, reject) => w.parts.push({ script, args, opts, resolve, reject }));
    if (w.dialling) return p;
    if (w.timer) clearTimeout(w.timer);
    const wait = Math.max(0, Math.min(w.idle, w.openedAt + Math.max(50, w.idle * COALESCE_MAX_WAIT_FACTOR) - Date.now()));
    const flush = () => {
      if (this.windows.get(privilege.sudo) === w) this.windows.delete(privilege.sudo);
      void this.flushCoalesced(w.parts, privilege.sudo);
    };
    w.timer = setTimeout(() => {
      if (this.host.connected) return flush();
      // The host is not connected yet (a dial takes 0.2 s to seconds on a loaded fleet): the window stays open while
      // the connection is dialled, so the host's reads that arrive meanwhile share its first round trip. A failed
      // dial fails each read as its own command would (no second dial).
      w.dialling = true;
      // Held while dialling: an unreferenced socket alone would let node exit under the waiting reads.
      this.host.retain();
      const dialled = this.host.getClient().finally(() => this.host.release());
      dialled.then(flush, (err: Error) => {
        if (this.windows.get(privilege.sudo) === w) this.windows.delete(privilege.sudo);
        for (const q of w.parts) {
          const display = shown(commandLine(["sh", "-c", q.script, "sh", ...q.args]));
          const where = `${q.opts.step ? `${q.opts.step}: ` : ""}command on ${this.label}`;
          q.reject(new RemoteCommandError(this.label, display, null, "", q.opts.step, redact(`${where} could not run: ${err?.message ?? String(err)}`)));
        }
      });
    }, wait);
    return p;
  }

  private async flushCoalesced(parts: QueuedRead[], sudo: boolean): Promise<void> {
    if (parts.length === 1) {
      const q = parts[0];
      return this.script(q.script, q.args, { ...q.opts, coalesce: false }).then(q.resolve, q.reject);
    }
    const token = `pv${randomBytes(16).toString("hex")}`;
    const steps = parts.map((q) => q.opts.step ?? "read").join(", ");
    const timeoutOf = (q: QueuedRead) => q.opts.timeoutMs ?? this.conn.commandTimeoutMs;
    // Each part has its own timeout on the host, so one hanging read cannot take its companions down.
    const combined = combinedScript(parts.map((q) => ({ script: q.script, args: q.args, timeoutSec: Math.max(1, Math.ceil(timeoutOf(q) / 1000)) })), token);
    let out: ExecResult;
    try {
      out = await this.run(["sh", "-c", combined, "sh"], `sh -c <${parts.length} read scripts sent together: ${steps}>`, {
        sudo,
        step: `${parts.length} reads sent together (${steps})`,
        timeoutMs: Math.max(...parts.map(timeoutOf)) + COALESCE_GRACE_MS,
        maxOutputBytes: Math.min(DEFAULT_MAX_OUTPUT * 4, parts.reduce((a, q) => a + (q.opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT), 0)),
      });
    } catch {
      // The combined command itself failed (connection lost, ...): each read tries again alone, so every error
      // lands on the read it belongs to and the next connection is dialled as usual.
      await Promise.all(parts.map((q) => this.script(q.script, q.args, { ...q.opts, coalesce: false }).then(q.resolve, q.reject)));
      return;
    }
    let results: ReturnType<typeof parseCombined>;
    try {
      results = parseCombined(out.stdoutBytes, token, parts.length);
    } catch (err) {
      const e = new RemoteCommandError(this.label, "combined read", out.code, "", steps, redact(`${steps}: ${(err as Error).message} on ${this.label}`));
      for (const q of parts) q.reject(e);
      return;
    }
    parts.forEach((q, i) => {
      const display = commandLine(["sh", "-c", q.script, "sh", ...q.args]);
      if (results[i].code === COALESCED_TIMEOUT_CODE) {
        const step = q.opts.step;
        const tailText = tail(results[i].stderr);
        const msg = `${step ? `${step}: ` : ""}command on ${this.label} timed out after ${timeoutOf(q)} ms; the remote command and its child processes were killed: ${shown(display)}` + (tailText ? `\n  stderr: ${tailText}` : "");
        q.reject(new RemoteCommandError(this.label, shown(display), null, tailText, step, redact(msg)));
        return;
      }
      try {
        q.resolve(this.toResult(results[i], display, q.opts));
      } catch (e) {
        q.reject(e);
      }
    });
  }

  private async withSftp<T>(use: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    this.host.retain();
    try {
      for (;;) {
        await this.host.channels.acquire();
        try {
          const sftp = await this.host.withClient((c) => this.host.openSftp(c));
          this.host.countCommand();
          try {
            return await use(sftp);
          } finally {
            sftp.end();
          }
        } catch (e) {
          // Over the server's MaxSessions: queue for the next channel (see HostConnection.openChannel).
          if (!(e instanceof ChannelRefused)) throw e;
        } finally {
          this.host.channels.release();
        }
      }
    } finally {
      this.host.release();
    }
  }
}

function sftpCall<T>(op: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => op((err, value) => (err ? reject(err) : resolve(value as T))));
}

const remotes = new Map<string, SshRemote>();
/** Extra time, beyond a command's timeout and one dial, before the watchdog declares the link dead. */
const WATCHDOG_GRACE_MS = 5_000;

/**
 * The Remote for a connection (validated with parseConnection), one per distinct configuration per process;
 * all Remotes to the same host share its pooled connection.
 */
export function getRemote(connInput: unknown): SshRemote {
  const conn = parseConnection(connInput);
  // In-memory identity of the whole configuration (timeouts, mode, credentials); never printed.
  const key = JSON.stringify(conn);
  let r = remotes.get(key);
  if (!r) {
    r = new SshRemote(conn);
    remotes.set(key, r);
  }
  return r;
}

/** Close every pooled connection and session of this process (tests, CLI exit). */
export function closeAllRemotes(): void {
  SshPool.shared().closeAll();
}

/**
 * PULUMI_VIRT_TRACE_FILE=<path>: appends one line per remote command (start time, duration, host, step) to that
 * file, for finding where an apply spends its time. Step names never carry secrets; command text is not written.
 */
function traceCommand(host: string, step: string, startedAt: number): void {
  const file = process.env.PULUMI_VIRT_TRACE_FILE;
  if (!file) return;
  try {
    appendFileSync(file.replace("{pid}", String(process.pid)), `${new Date(startedAt).toISOString()}\t${Date.now() - startedAt}\t${host}\t${step}\n`);
  } catch {
    // Tracing must never break a deployment.
  }
}
