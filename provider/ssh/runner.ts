// Running one command on a pooled connection. Two ways: an exec channel per command (ExecRunner, here)
// or long-lived shell sessions fed one command at a time (SessionRunner, session.ts). Both return raw
// bytes and exit codes; remote.ts turns failures into RemoteCommandError.
import { randomBytes } from "node:crypto";
import type { ClientChannel } from "ssh2";
import { ChannelRefused, type HostConnection } from "./pool";
import { concatBytes } from "./bytes";
import { commandLine } from "./quote";

/** How commands gain root: not at all, `sudo -n`, or `sudo -S` answered with the password. */
export interface Privilege {
  sudo: boolean;
  /** Fed to sudo's own prompt only (never to the command's stdin). */
  password?: string;
}

export interface RunRequest {
  argv: string[];
  stdin?: Buffer;
  timeoutMs: number;
  maxOutputBytes: number;
}

export interface RawResult {
  code: number | null;
  signal?: string;
  stdout: Buffer;
  stderr: Buffer;
}

export type FailureKind = "timeout" | "overflow" | "session-died" | "sudo" | "protocol";

/** A command that did not produce a normal exit code: the message says what happened to it. */
export class RunFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly partial?: RawResult,
  ) {
    super(message);
    this.name = "RunFailure";
  }
}

export interface CommandRunner {
  run(req: RunRequest): Promise<RawResult>;
  close(): void;
}

/** A prompt no command prints, so seeing it on stderr means sudo is asking for the password. */
export function sudoPrompt(): string {
  return `[pv-sudo-${randomBytes(8).toString("hex")}]`;
}

/** argv prefix that runs the rest as root. */
export function sudoArgv(p: Privilege, prompt: string): string[] {
  if (!p.sudo) return [];
  return p.password !== undefined ? ["sudo", "-S", "-p", prompt, "--"] : ["sudo", "-n", "--"];
}

/**
 * Answers sudo's prompt on a channel's stderr: the first prompt gets the password, a second one means the
 * password was refused. The prompt text is removed from what the command's stderr shows.
 */
export class SudoResponder {
  private seen = 0;
  private tail = "";
  constructor(
    private readonly prompt: string,
    private readonly password: string | undefined,
    private readonly channel: ClientChannel,
    private readonly onRefused: () => void,
  ) {}

  /** Feed stderr data seen before the command started; returns it without prompts. */
  filter(chunk: Buffer): Buffer {
    if (this.password === undefined) return chunk;
    const text = this.tail + chunk.toString("latin1");
    let count = 0;
    let idx = text.indexOf(this.prompt);
    while (idx !== -1) {
      count++;
      idx = text.indexOf(this.prompt, idx + this.prompt.length);
    }
    this.tail = text.slice(-this.prompt.length);
    for (let i = 0; i < count; i++) {
      this.seen++;
      if (this.seen === 1) this.channel.write(this.password + "\n");
      else this.onRefused();
    }
    return count ? Buffer.from(text.split(this.prompt).join(""), "latin1") : chunk;
  }
}

const EXEC_READY = "PVGO";

/**
 * Kills the process tree under pid $1 (and $1 itself): freezes it top-down with SIGSTOP, so nothing forks
 * or gets re-parented away while it is collected, then SIGKILLs every member and waits until none is alive
 * (zombies count as gone). A tree, not a process group: in session mode the group would also hold
 * background processes that earlier commands left running on purpose, which are no longer in the tree.
 */
export const KILL_TREE_SCRIPT = `root=$1
kill -s STOP "$root" 2>/dev/null || exit 0
all=$root; frontier=$root
while [ -n "$frontier" ]; do
  next=
  for f in /proc/[0-9]*/stat; do
    read -r st < "$f" 2>/dev/null || continue
    set -- \${st##*) }
    for p in $frontier; do
      if [ "$2" = "$p" ]; then
        pid=\${f#/proc/}; pid=\${pid%/stat}
        kill -s STOP "$pid" 2>/dev/null && next="$next $pid"
        break
      fi
    done
  done
  all="$all $next"; frontier=$next
done
kill -s KILL $all 2>/dev/null
i=0
while [ "$i" -lt 100 ]; do
  alive=
  for p in $all; do
    read -r st < /proc/$p/stat 2>/dev/null || continue
    set -- \${st##*) }
    if [ "$1" != Z ]; then alive=1; break; fi
  done
  [ -n "$alive" ] || break
  sleep 0.05; i=$((i + 1))
done`;

/** One exec channel per command: sshd forks a session each time (~145 ms here), but nothing is shared. */
export class ExecRunner implements CommandRunner {
  constructor(
    private readonly host: HostConnection,
    private readonly privilege: Privilege,
  ) {}

  async run(req: RunRequest): Promise<RawResult> {
    for (;;) {
      await this.host.channels.acquire();
      try {
        return await this.runOnChannel(req);
      } catch (e) {
        // The server allows fewer channels than maxChannels: queue for the next one (the limit has learnt it).
        if (!(e instanceof ChannelRefused)) throw e;
      } finally {
        this.host.channels.release();
      }
    }
  }

  private async runOnChannel(req: RunRequest): Promise<RawResult> {
    const prompt = sudoPrompt();
    // The login shell prints its pid so a timeout can kill the command's process tree; under sudo a
    // marker says sudo is done reading stdin, so ours can follow.
    const inner = this.privilege.sudo
      ? commandLine([...sudoArgv(this.privilege, prompt), "sh", "-c", `echo ${EXEC_READY}; "$@"`, "sh", ...req.argv])
      : commandLine(req.argv);
    // Only opening the channel is retried after a dropped connection: once sent, a command is never re-run.
    const channel = await this.host.withClient((c) => this.host.openExec(c, `echo $$; ${inner}`));
    this.host.countCommand();
    return this.drive(channel, req, prompt);
  }

  private drive(channel: ClientChannel, req: RunRequest, prompt: string): Promise<RawResult> {
    return new Promise<RawResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outBytes = 0;
      let errBytes = 0;
      let head: Buffer = Buffer.alloc(0);
      let headerLines = this.privilege.sudo ? 2 : 1;
      let pid: number | undefined;
      let code: number | null = null;
      let signal: string | undefined;
      let failed: RunFailure | undefined;
      const sudo = new SudoResponder(prompt, this.privilege.sudo ? this.privilege.password : undefined, channel, () =>
        abort(new RunFailure("sudo", "sudo refused the password (check the connection's password)")),
      );

      const partial = (): RawResult => ({ code, signal, stdout: concatBytes(out), stderr: concatBytes(err) });
      const abort = (f: RunFailure) => {
        if (failed) return;
        failed = f;
        clearTimeout(timer);
        this.killTree(pid).finally(() => {
          channel.close();
          reject(new RunFailure(f.kind, f.message, partial()));
        });
      };
      const timer = setTimeout(
        () => abort(new RunFailure("timeout", `timed out after ${req.timeoutMs} ms; the remote command and its child processes were killed`)),
        req.timeoutMs,
      );
      const startCommand = () => {
        channel.end(req.stdin ?? undefined);
      };
      const takeOutput = (chunk: Buffer) => {
        outBytes += chunk.length;
        if (outBytes > req.maxOutputBytes) {
          abort(new RunFailure("overflow", `stdout exceeded maxOutputBytes (${req.maxOutputBytes} bytes); the command was killed`));
          return;
        }
        out.push(chunk);
      };

      if (!this.privilege.sudo) startCommand();
      channel.on("data", (chunk: Buffer) => {
        if (failed) return;
        if (headerLines === 0) return takeOutput(chunk);
        head = concatBytes([head, chunk]);
        while (headerLines > 0) {
          const nl = head.indexOf(10);
          if (nl === -1) return;
          const line = head.subarray(0, nl).toString();
          head = head.subarray(nl + 1);
          if (pid === undefined) pid = Number(line) || undefined;
          else if (line === EXEC_READY) startCommand();
          headerLines--;
        }
        if (head.length) takeOutput(head);
      });
      channel.stderr.on("data", (chunk: Buffer) => {
        if (failed) return;
        const clean = headerLines > 0 ? sudo.filter(chunk) : chunk;
        errBytes += clean.length;
        if (errBytes > req.maxOutputBytes) {
          abort(new RunFailure("overflow", `stderr exceeded maxOutputBytes (${req.maxOutputBytes} bytes); the command was killed`));
          return;
        }
        err.push(clean);
      });
      channel.on("exit", (c: number | null, sig?: string) => {
        code = c;
        signal = sig ?? undefined;
      });
      // ssh2 repeats the exit status on "close": the "exit" event can fire before this listener exists
      // when the whole reply arrives in the same read as the channel confirmation (seen through a jump host).
      channel.on("close", (c?: number | null, sig?: string) => {
        clearTimeout(timer);
        if (code === null && signal === undefined) {
          if (typeof c === "number") code = c;
          else if (sig) signal = sig;
        }
        if (failed) return;
        if (code === null && signal === undefined) {
          return reject(new RunFailure("session-died", "the channel closed without an exit status (SSH connection dropped?) while the command ran; it may or may not have taken effect", partial()));
        }
        resolve(partial());
      });
    });
  }

  /**
   * Kill a timed-out command's process tree on a separate channel, with the same privilege. It takes no
   * channel permit: all permits may be held by commands timing out together (maxChannels stays below
   * sshd's MaxSessions for this).
   */
  private async killTree(pid: number | undefined): Promise<void> {
    if (!pid) return;
    try {
      await this.runOnChannel({ argv: ["sh", "-c", KILL_TREE_SCRIPT, "sh", String(pid)], timeoutMs: 15_000, maxOutputBytes: 4096 });
    } catch {
      // Best effort: the command's own failure is what the caller needs to see.
    }
  }

  close(): void {}
}
