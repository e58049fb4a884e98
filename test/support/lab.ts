// The local lab as tests see it: lab.json (written by lab/lab.sh up) and helpers to run commands
// "on" a lab host without SSH, for assertions about what really happened there.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";

export interface LabSudoUser {
  user: string;
  privateKeyPath: string;
  /** A 0600 file holding the user's password (sudo requires it). Read it, never log it. */
  passwordFile: string;
}

export interface LabHost {
  name: string; // "h1"
  hostname: string; // "pv-h1"
  address: string; // "10.77.0.11"
  port: number;
  user: string; // "root"
  privateKeyPath: string;
  /** "ssh-ed25519 AAAA..." */
  hostKey: string;
  /** "SHA256:..." */
  hostKeyFingerprint: string;
  netns: string; // "pvlab-h1"
  bridge: string; // "pvbr0", inside the host
  bridgeAddress: string; // "10.77.101.1"
  guestSubnet: string; // "10.77.101.0/24"
  /** PID of the host's sshd: nsenter --target it to act inside the host. */
  monitorPid: number;
  /** Whether the host runs its own libvirtd (h1, h2). */
  libvirt: boolean;
  /** Root of the host's private state dirs on this machine. */
  stateDir: string;
  sudoUser: LabSudoUser;
  /** Reachable only through another host (h3 accepts SSH only from h1). */
  bastionOnly?: boolean;
  via?: string;
}

export interface Lab {
  hosts: LabHost[];
}

export const repoRoot = path.resolve(__dirname, "..", "..", ".."); // dist/test/support -> repo
export const labDir = process.env.PULUMI_VIRT_LAB_DIR ?? "/run/pulumi-virt-lab";
export const labCacheDir = process.env.PULUMI_VIRT_CACHE ?? "/var/cache/pulumi-virt";
export const labJsonPath = path.join(labDir, "lab.json");
export const labKnownHostsPath = path.join(labDir, "known_hosts");
export const labSshConfigPath = path.join(labDir, "ssh_config");
export const labScript = path.join(repoRoot, "lab", "lab.sh");

export function loadLab(): Lab {
  let text: string;
  try {
    text = readFileSync(labJsonPath, "utf8");
  } catch {
    throw new Error(`lab is not up (${labJsonPath} missing): run bash lab/lab.sh up`);
  }
  return JSON.parse(text) as Lab;
}

export function labHost(name: string, lab: Lab = loadLab()): LabHost {
  const host = lab.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`lab has no host ${name} (hosts: ${lab.hosts.map((h) => h.name).join(", ")})`);
  return host;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run argv locally (no shell); resolves with the exit code instead of rejecting on failure. */
export function run(argv: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : -1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
    // A command that exits without reading its stdin is not an error.
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.stdin ?? "");
  });
}

/**
 * Run argv inside the host's network, mount and UTS namespaces (what an SSH session there sees),
 * without going through SSH: for assertions about the host's real state.
 */
export function onHost(host: LabHost, argv: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(["nsenter", "--target", String(host.monitorPid), "--net", "--mount", "--uts", "--", ...argv], opts);
}

/** Like onHost but rejects unless the command exits 0; returns stdout. */
export async function onHostOk(host: LabHost, argv: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await onHost(host, argv, opts);
  if (r.code !== 0) throw new Error(`on ${host.name}: ${argv.join(" ")} exited ${r.code}: ${r.stderr.slice(-500)}`);
  return r.stdout;
}

/** Arguments for the plain OpenSSH client with the lab key and known_hosts (strict host key checking). */
export function sshArgs(host: LabHost, user = host.user, keyPath = host.privateKeyPath): string[] {
  return [
    "-F", "/dev/null",
    "-i", keyPath,
    "-o", "IdentitiesOnly=yes",
    "-o", `UserKnownHostsFile=${labKnownHostsPath}`,
    "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "StrictHostKeyChecking=yes",
    "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=5",
    "-o", "LogLevel=ERROR",
    "-p", String(host.port),
    `${user}@${host.address}`,
  ];
}

/**
 * Make sure the lab is up: runs `lab.sh up` when lab.json is missing or `lab.sh status` fails.
 * Safe from several test files at once: lab.sh serialises on a lock and up is a no-op when healthy.
 */
export async function ensureLab(): Promise<Lab> {
  let healthy = false;
  try {
    loadLab();
    healthy = (await run(["bash", labScript, "status"], { timeoutMs: 60_000 })).code === 0;
  } catch {
    healthy = false;
  }
  if (!healthy) {
    const r = await run(["bash", labScript, "up"], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`lab.sh up failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  }
  return loadLab();
}

/**
 * The lab's guest networking (lab/guest-net.sh): DHCP on h1's and h2's guest bridge and an IPv6 ULA there.
 * Idempotent: starts only what is missing. Runs after ensureLab (a rebuilt lab has no DHCP server yet).
 */
export async function ensureGuestNet(): Promise<void> {
  const r = await run(["bash", path.join(repoRoot, "lab", "guest-net.sh"), "up"], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`guest-net.sh up failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
}
