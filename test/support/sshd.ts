// A throwaway OpenSSH sshd on 127.0.0.1 for transport tests: random free port, its own host key and
// config (MaxSessions 10), key + password login for root (key only) and a non-root user `pvtest` with
// password-protected sudo. Independent of the lab.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TEST_USER = "pvtest";
const STATE_DIR = "/var/lib/pulumi-virt-test";
const SSHD = "/usr/sbin/sshd";

export interface KeyPair {
  privateKey: string;
  publicKey: string;
  path: string;
}

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}

function genKey(path: string, passphrase = ""): KeyPair {
  sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "pv-test", "-f", path]);
  return { privateKey: readFileSync(path, "utf8"), publicKey: readFileSync(`${path}.pub`, "utf8").trim(), path };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** pvtest exists once per machine; its password is kept so parallel test processes agree on it. */
function ensureTestUser(): string {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const pwFile = join(STATE_DIR, "pvtest.password");
  if (!existsSync(pwFile)) writeFileSync(pwFile, randomBytes(12).toString("base64url"), { mode: 0o600, flag: "wx" });
  const password = readFileSync(pwFile, "utf8").trim();
  const hasUser = () => readFileSync("/etc/passwd", "utf8").split("\n").some((l) => l.startsWith(`${TEST_USER}:`));
  if (!hasUser()) {
    try {
      sh("useradd", ["-m", "-s", "/bin/sh", TEST_USER]);
    } catch (err) {
      if (!hasUser()) throw err; // another test process created it meanwhile
    }
    sh("chpasswd", [], `${TEST_USER}:${password}\n`);
  }
  const sudoers = `/etc/sudoers.d/${TEST_USER}`;
  if (!existsSync(sudoers)) {
    writeFileSync(sudoers, `Defaults:${TEST_USER} lecture=never\n${TEST_USER} ALL=(ALL:ALL) ALL\n`, { mode: 0o440 });
  }
  if (!existsSync("/usr/bin/sudo")) throw new Error("sudo is not installed: apt-get install sudo");
  return password;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** A process is gone when it no longer exists or is a zombie waiting to be reaped. */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z";
  } catch {
    return true;
  }
}

export class TestSshd {
  readonly dir: string;
  readonly hostKey: KeyPair;
  readonly rootKey: KeyPair;
  readonly userKey: KeyPair;
  /** pvtest's key, encrypted with `passphrase`. */
  readonly encryptedKey: KeyPair;
  readonly passphrase = randomBytes(9).toString("base64url");
  readonly userPassword: string;
  port = 0;
  private proc?: ChildProcess;
  private agent?: ChildProcess;

  private constructor() {
    this.userPassword = ensureTestUser();
    this.dir = mkdtempSync(join(tmpdir(), "pv-sshd-"));
    chmodSync(this.dir, 0o755); // pvtest's sshd child reads its authorized_keys below here
    this.hostKey = genKey(join(this.dir, "host_ed25519"));
    this.rootKey = genKey(join(this.dir, "root_key"));
    this.userKey = genKey(join(this.dir, "user_key"));
    this.encryptedKey = genKey(join(this.dir, "user_key_enc"), this.passphrase);
    const ak = join(this.dir, "authorized_keys");
    mkdirSync(ak, { mode: 0o755 });
    writeFileSync(join(ak, "root"), this.rootKey.publicKey + "\n", { mode: 0o644 });
    writeFileSync(join(ak, TEST_USER), `${this.userKey.publicKey}\n${this.encryptedKey.publicKey}\n`, { mode: 0o644 });
  }

  static async start(): Promise<TestSshd> {
    const s = new TestSshd();
    s.port = await freePort();
    await s.launch();
    return s;
  }

  /** "ssh-ed25519 AAAA..." as ssh-keyscan prints it. */
  get hostKeyLine(): string {
    return this.hostKey.publicKey.split(" ").slice(0, 2).join(" ");
  }

  get hostKeyFingerprint(): string {
    return sh("ssh-keygen", ["-lf", `${this.hostKey.path}.pub`]).split(" ")[1];
  }

  private writeConfig(): string {
    const cfg = join(this.dir, "sshd_config");
    writeFileSync(
      cfg,
      [
        `Port ${this.port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${this.hostKey.path}`,
        `PidFile ${join(this.dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${join(this.dir, "authorized_keys", "%u")}`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "MaxSessions 10",
        "MaxStartups 100:30:200",
        "LogLevel ERROR",
        "Subsystem sftp /usr/lib/openssh/sftp-server",
        "",
      ].join("\n"),
    );
    return cfg;
  }

  private async launch(): Promise<void> {
    mkdirSync("/run/sshd", { recursive: true });
    const cfg = this.writeConfig();
    const proc = spawn(SSHD, ["-D", "-e", "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
    this.proc = proc;
    for (let i = 0; i < 200; i++) {
      if (proc.exitCode !== null) throw new Error(`sshd exited: ${stderr}`);
      if (await canConnect(this.port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`sshd did not listen on ${this.port}: ${stderr}`);
  }

  /** Kill sshd and every per-connection sshd it forked (the established connections drop). */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.pid === undefined) return;
    const kids = childrenOf(proc.pid);
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGKILL");
    for (const k of kids) {
      try {
        process.kill(k, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await exited;
    this.proc = undefined;
  }

  /** Kill, then start again on the same port with the same host key. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** Established TCP connections to this sshd, as the server side sees them. */
  establishedConnections(): number {
    const out = sh("ss", ["-Htn", "state", "established", `( sport = :${this.port} )`]);
    return out.split("\n").filter((l) => l.trim()).length;
  }

  /** Start an ssh-agent holding pvtest's key; returns its socket path. */
  async startAgent(): Promise<string> {
    const sock = join(this.dir, "agent.sock");
    if (this.agent && this.agent.exitCode === null) return sock;
    const agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
    this.agent = agent;
    for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
    execFileSync("ssh-add", ["-q", this.userKey.path], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: "ignore" });
    return sock;
  }

  /** A connection for root with key auth. */
  rootConnection(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { host: "127.0.0.1", port: this.port, user: "root", privateKey: this.rootKey.privateKey, hostKey: this.hostKeyLine, ...extra };
  }

  /** A connection for pvtest with password auth (and sudo password). */
  userConnection(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { host: "127.0.0.1", port: this.port, user: TEST_USER, password: this.userPassword, hostKey: this.hostKeyLine, ...extra };
  }

  async stop(): Promise<void> {
    await this.kill();
    if (this.agent && this.agent.exitCode === null) {
      const exited = new Promise((r) => this.agent!.once("exit", r));
      this.agent.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}
