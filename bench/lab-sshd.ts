// A second sshd per lab host, used only by the benchmarks, so SSH handshakes can be counted ON THE HOST
// (its own log's "Accepted publickey" lines) without counting other engineers' tests that share the lab's
// port 22. It runs in the host's network, mount and UTS namespaces and cgroup subtree, with the lab's
// sshd config (same host key and authorized keys) on BENCH_PORT, so every session sees exactly what a
// session on port 22 sees (the host's private /var/lib/lxc, libvirt, hostname).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { ensureLab, LabHost, labDir, loadLab } from "../test/support/lab";

export const BENCH_PORT = 2299;
export const BENCH_DIR = process.env.PULUMI_VIRT_BENCH_DIR ?? "/tmp/pulumi-virt-bench";

export interface BenchHost {
  lab: LabHost;
  port: number;
  logPath: string;
  pid: number;
  /** A known_hosts line for the OpenSSH client ("[addr]:port key"). */
  knownHosts: string;
}

function waitListening(addr: string, port: number, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect({ host: addr, port });
      s.once("connect", () => {
        s.destroy();
        resolve();
      });
      s.once("error", () => {
        s.destroy();
        if (Date.now() > end) reject(new Error(`bench sshd on ${addr}:${port} did not listen within ${deadlineMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** Pid files of the bench sshds this process started (stopped by stopBenchSshd, even after a failed start). */
const started: string[] = [];

/** Starts the bench sshd on each named lab host (replacing one left from an earlier run). */
export async function startBenchSshd(names: string[]): Promise<BenchHost[]> {
  const lab = loadLab();
  fs.mkdirSync(BENCH_DIR, { recursive: true });
  const out: BenchHost[] = [];
  for (const name of names) {
    const h = lab.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`lab has no host ${name}`);
    const dir = path.join(BENCH_DIR, `sshd-${name}`);
    fs.mkdirSync(dir, { recursive: true });
    stopPidFile(path.join(dir, "sshd.pid"));
    const labCfg = fs.readFileSync(path.join(labDir, "hosts", name, "sshd_config"), "utf8");
    const cfg = labCfg
      .split("\n")
      .map((l) => (l.startsWith("ListenAddress ") ? `ListenAddress ${h.address}:${BENCH_PORT}` : l.startsWith("PidFile ") ? `PidFile ${dir}/sshd.pid` : l))
      .join("\n");
    fs.writeFileSync(path.join(dir, "sshd_config"), cfg + "\nLogLevel INFO\n");
    const logPath = path.join(dir, "sshd.log");
    fs.writeFileSync(logPath, "");
    const log = fs.openSync(logPath, "a");
    // Join the host's cgroup subtree like lab/host-init.sh does, then become sshd (same pid).
    const joinCgroup = `for c in /sys/fs/cgroup/*/${h.netns}/host /sys/fs/cgroup/${h.netns}/host; do [ -f "$c/cgroup.procs" ] && echo $$ > "$c/cgroup.procs" 2>/dev/null; done; exec /usr/sbin/sshd -D -e -f "$1"`;
    const child = spawn(
      "nsenter",
      ["--target", String(h.monitorPid), "--net", "--mount", "--uts", "--", "sh", "-c", joinCgroup, "sh", path.join(dir, "sshd_config")],
      { detached: true, stdio: ["ignore", log, log] },
    );
    child.unref();
    fs.closeSync(log);
    fs.writeFileSync(path.join(dir, "sshd.pid"), String(child.pid));
    started.push(path.join(dir, "sshd.pid"));
    await waitListening(h.address, BENCH_PORT, 10_000);
    out.push({ lab: h, port: BENCH_PORT, logPath, pid: child.pid!, knownHosts: `[${h.address}]:${BENCH_PORT} ${h.hostKey}` });
  }
  fs.writeFileSync(path.join(BENCH_DIR, "known_hosts"), out.map((b) => b.knownHosts).join("\n") + "\n");
  return out;
}

function stopPidFile(file: string): void {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(file, "utf8"));
  } catch {
    return;
  }
  if (!(pid > 1)) return;
  try {
    // Only our own sshd: its command line names our config.
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (cmd.includes("sshd") && cmd.includes(path.dirname(file))) process.kill(pid, "SIGTERM");
  } catch {
    /* gone */
  }
}

export function stopBenchSshd(): void {
  for (const f of started.splice(0)) stopPidFile(f);
}

/** Handshakes this host's bench sshd has accepted so far (successful logins). */
export function acceptedLogins(h: BenchHost): number {
  const text = fs.readFileSync(h.logPath, "utf8");
  let n = 0;
  for (const line of text.split("\n")) if (line.startsWith("Accepted publickey")) n++;
  return n;
}

export function acceptedTotal(hosts: BenchHost[]): number {
  return hosts.reduce((s, h) => s + acceptedLogins(h), 0);
}

/** OpenSSH client arguments for the bench port (strict host key checking against the bench's known_hosts). */
export function benchSshArgs(h: BenchHost): string[] {
  return [
    "-F", "/dev/null",
    "-i", h.lab.privateKeyPath,
    "-o", "IdentitiesOnly=yes",
    "-o", `UserKnownHostsFile=${path.join(BENCH_DIR, "known_hosts")}`,
    "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "StrictHostKeyChecking=yes",
    "-o", "BatchMode=yes",
    "-o", "LogLevel=ERROR",
    "-p", String(h.port),
    `${h.lab.user}@${h.lab.address}`,
  ];
}

/** The connection object pulumi-virt's Host (and the per-command fixture) take, for the bench port. */
export function benchConnection(h: BenchHost): { address: string; port: number; user: string; hostKey: string } {
  return { address: h.lab.address, port: h.port, user: h.lab.user, hostKey: h.lab.hostKey };
}

/** Whether every bench sshd still runs and the lab was not rebuilt under it (others share the lab). */
export function benchSshdHealthy(hosts: BenchHost[]): boolean {
  let lab;
  try {
    lab = loadLab();
  } catch {
    return false;
  }
  return hosts.every((h) => {
    if (lab.hosts.find((x) => x.name === h.lab.name)?.monitorPid !== h.lab.monitorPid) return false;
    try {
      process.kill(h.pid, 0);
      return true;
    } catch {
      return false;
    }
  });
}

/** The bench sshds, restarted (after waiting for a healthy lab) if the lab was rebuilt or one of them died. */
export async function ensureBenchSshd(hosts: BenchHost[]): Promise<BenchHost[]> {
  if (hosts.length && benchSshdHealthy(hosts)) return hosts;
  stopBenchSshd();
  await ensureLab();
  return startBenchSshd(hosts.length ? hosts.map((h) => h.lab.name) : ["h1", "h2"]);
}
