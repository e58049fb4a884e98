// The contract between drivers and the transport. Drivers depend on this file only,
// never on ssh2 or on Pulumi, so they can be exercised against any Remote.

export interface ExecOptions {
  /** Bytes or text fed to the command's stdin, then stdin is closed. */
  stdin?: string | Buffer;
  /** Kill the remote command (and fail) after this many ms. Default: the connection's commandTimeoutMs. */
  timeoutMs?: number;
  /** Run through sudo (non-root users). Default: the connection's sudo setting. */
  sudo?: boolean;
  /** Exit codes that count as success. Default [0]. */
  okCodes?: number[];
  /** A short human name of the step, used in errors ("create container web"). */
  step?: string;
  /** Cap on captured stdout/stderr bytes each (default 16 MiB); beyond it the command fails. */
  maxOutputBytes?: number;
  /**
   * script() only: a read-only script that may travel in one command with other such scripts reaching the
   * same host (same privilege) within the caller's window (coalesceIdleMs). Each keeps its own stdout,
   * stderr, exit code, timeout and errors. Never for scripts that change anything: they would run in
   * parallel with their companions.
   */
  coalesce?: boolean;
  /**
   * With coalesce: how long this read waits for company after the last read joined. Unset or 0: no
   * coalescing (the read goes alone at once). Refresh reads set it (ssh/refresh.ts forRefresh);
   * PULUMI_VIRT_READ_BATCH_MS=0 turns coalescing off everywhere.
   */
  coalesceIdleMs?: number;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Raw stdout bytes (binary-safe). */
  stdoutBytes: Buffer;
}

/** One reachable host. All user data travels as separate argv elements; nothing is concatenated into shell text. */
export interface Remote {
  /** "user@host:port" for messages; never contains secrets. */
  readonly label: string;
  /** Run argv[0] with arguments argv[1..], each quoted as exactly one argument. Rejects with RemoteCommandError when the exit code is not ok. */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Run a fixed shell script written by the driver author (never user input) with user data passed
   * as positional parameters: equivalent to `sh -c SCRIPT sh ARG1 ARG2 ...`.
   */
  script(script: string, args?: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Write a file atomically (temp + rename) with the given mode. */
  upload(path: string, content: string | Buffer, opts?: { mode?: number; sudo?: boolean }): Promise<void>;
}

export class RemoteCommandError extends Error {
  constructor(
    readonly host: string,
    readonly command: string,
    readonly code: number | null,
    readonly stderrTail: string,
    readonly step?: string,
    message?: string,
  ) {
    super(
      message ??
        `${step ? `${step}: ` : ""}command on ${host} failed (exit ${code ?? "none"}): ${command}` +
          (stderrTail ? `\n  stderr: ${stderrTail}` : ""),
    );
    this.name = "RemoteCommandError";
  }
}
