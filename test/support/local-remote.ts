// A Remote that runs commands on this machine (optionally inside a lab host's namespaces via nsenter).
// Only for driver development before the SSH transport exists; lab tests must use the real transport.
import { spawn } from "node:child_process";
import { ExecOptions, ExecResult, Remote, RemoteCommandError } from "../../provider/ssh/types";

export class LocalRemote implements Remote {
  constructor(readonly label = "local", private readonly prefix: string[] = []) {}

  exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const full = [...this.prefix, ...argv];
    return new Promise((resolve, reject) => {
      const child = spawn(full[0], full.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
      child.stdout.on("data", (d) => out.push(d));
      child.stderr.on("data", (d) => err.push(d));
      child.on("error", reject);
      child.on("close", (code) => {
        if (timer) clearTimeout(timer);
        const stdoutBytes = Buffer.concat(out);
        const res = { code: code ?? -1, stdout: stdoutBytes.toString(), stderr: Buffer.concat(err).toString(), stdoutBytes };
        if (!(opts.okCodes ?? [0]).includes(res.code)) {
          reject(new RemoteCommandError(this.label, argv.join(" "), res.code, res.stderr.slice(-500), opts.step));
        } else resolve(res);
      });
      // A command that exits without reading stdin closes the pipe; that is not an error.
      child.stdin.on("error", () => {});
      child.stdin.end(opts.stdin ?? "");
    });
  }

  script(script: string, args: string[] = [], opts?: ExecOptions): Promise<ExecResult> {
    return this.exec(["sh", "-c", script, "sh", ...args], opts);
  }

  async upload(path: string, content: string | Buffer, opts: { mode?: number } = {}): Promise<void> {
    const mode = (opts.mode ?? 0o644).toString(8);
    await this.script('set -e; t="$1.tmp.$$"; cat > "$t"; chmod "$2" "$t"; mv -f "$t" "$1"', [path, mode], { stdin: content });
  }
}
