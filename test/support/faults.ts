// Fault injection for the `faults` tier (issue 12): break a lab host in a controlled way while the real
// `pulumi` CLI works against it, then inspect what is left on the host.
//
// The lab is shared: faults touch only what a test owns where that is possible (its own SSH sessions,
// its own containers' processes), and every fault has a matching repair that leaves the host healthy
// (sshd listening, lab.json's monitorPid pointing at it, the link up).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import assert from "node:assert/strict";
import { CliError, CliResult, REPO_ROOT, StackOptions, TestStack, pulumiBinDir, run as runCommand } from "../e2e/harness";
import { LabHost, labCacheDir, labDir, labHost, labJsonPath, loadLab, onHost, run } from "./lab";

export const FIXTURE = "test/e2e/fixtures/matrix";
/** The host faults are injected into. h1 carries the e2e tier's stacks; h2 has LXC and libvirt too. */
export const FAULT_HOST = "h2";

export function faultHost(): LabHost {
  return labHost(FAULT_HOST, loadLab());
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value; fails with `what` after timeoutMs. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A short unique prefix per test file, so names never collide with other stacks on the shared host. */
export function uniquePrefix(tag: string): string {
  return `pvf${tag}${Date.now().toString(36).slice(-4)}`;
}

// ---------- consumer: reuse what `npm run build` produced ----------

const WORK_ROOT = path.join(os.tmpdir(), "pulumi-virt-e2e");

/**
 * The tier runs after `npm run build`; the harness would build again in every test process. Instead pack
 * the built dist once, install it into a consumer directory keyed by the tarball's hash (the harness's
 * layout, so either can reuse the other's), and point PULUMI_VIRT_E2E_CONSUMER at it.
 */
export async function useBuiltConsumer(): Promise<string> {
  const preset = process.env.PULUMI_VIRT_E2E_CONSUMER;
  if (preset) return preset;
  fs.mkdirSync(WORK_ROOT, { recursive: true });
  const lock = path.join(WORK_ROOT, "build.lock");
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
      break;
    } catch {
      const holder = Number(fs.readFileSync(path.join(lock, "pid"), "utf8") || "0");
      if (holder && !fs.existsSync(`/proc/${holder}`)) fs.rmSync(lock, { recursive: true, force: true });
      else await sleep(500);
    }
  }
  const packDir = fs.mkdtempSync(path.join(WORK_ROOT, "pack-"));
  try {
    const packed = await runCommand("npm", ["pack", "--silent", "--pack-destination", packDir], { cwd: REPO_ROOT });
    const tgz = fs.readFileSync(path.join(packDir, packed.stdout.trim().split("\n").pop()!));
    const dir = path.join(WORK_ROOT, `consumer-${createHash("sha256").update(tgz).digest("hex").slice(0, 16)}`);
    if (!fs.existsSync(path.join(dir, ".ready"))) {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "pulumi-virt.tgz"), tgz);
      const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
      const v = (n: string) => pkg.devDependencies?.[n] ?? pkg.dependencies?.[n];
      const deps = { "pulumi-virt": "file:./pulumi-virt.tgz", "@pulumi/pulumi": v("@pulumi/pulumi"), typescript: v("typescript"), "@types/node": v("@types/node") };
      fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "pulumi-virt-e2e-consumer", private: true, dependencies: deps }, null, 2));
      await runCommand("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir });
      fs.writeFileSync(path.join(dir, ".ready"), new Date().toISOString());
    }
    process.env.PULUMI_VIRT_E2E_CONSUMER = dir;
    return dir;
  } finally {
    fs.rmSync(packDir, { recursive: true, force: true });
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

// ---------- stacks that keep a transcript (for the secret checks) ----------

export interface HostTransport {
  dialTimeoutMs?: number;
  commandTimeoutMs?: number;
  maxChannels?: number;
}

/** Stack config of the matrix fixture for one lab host with an lxc (and kvm) hypervisor. */
export function fixtureConfig(host: LabHost, transport: HostTransport = {}): Record<string, string> {
  return {
    hosts: JSON.stringify({ [host.name]: { address: host.address, port: host.port, user: host.user, hostKey: host.hostKey, ...transport } }),
    hypervisors: JSON.stringify({
      lxc1: { host: host.name, kind: "lxc", bridge: host.bridge },
      ...(host.libvirt ? { kvm1: { host: host.name, kind: "kvm", bridge: host.bridge, allowEmulation: true } } : {}),
    }),
  };
}

/** A small busybox container's fixture args. */
export function smallContainer(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { hypervisor: "lxc1", name, memory: "64MiB", cpus: 1, stopTimeoutSec: 2, ...extra };
}

export interface Transcript {
  command: string;
  code: number;
  stdout: string;
  stderr: string;
}

export interface Running {
  pid: number;
  done: Promise<CliResult>;
  /** SIGKILL the CLI and everything it started (language host, program, dynamic provider). */
  kill(): void;
}

/** A TestStack whose every CLI run is recorded, so a test can assert the key never appeared in any output. */
export class FaultStack {
  readonly transcript: Transcript[] = [];
  private constructor(
    readonly stack: TestStack,
    private readonly key: string,
  ) {}

  static async create(opts: StackOptions & { privateKey: string }): Promise<FaultStack> {
    await useBuiltConsumer();
    const { privateKey, ...rest } = opts;
    const stack = await TestStack.create({ ...rest, secrets: { ...(rest.secrets ?? {}), privateKey } });
    return new FaultStack(stack, privateKey);
  }

  async setConfig(key: string, value: unknown): Promise<void> {
    await this.stack.setConfig(key, typeof value === "string" ? value : JSON.stringify(value));
  }

  private record(command: string, r: CliResult): CliResult {
    this.transcript.push({ command, ...r });
    return r;
  }

  /** `pulumi <args>`; exit codes other than okCodes throw (after recording). */
  async pulumi(args: string[], okCodes = [0]): Promise<CliResult> {
    const shown = `pulumi ${args.join(" ")}`;
    try {
      return this.record(shown, await this.stack.pulumi(args, { okCodes }));
    } catch (e) {
      if (e instanceof CliError) this.record(shown, e.result);
      throw e;
    }
  }

  up(extra: string[] = []): Promise<CliResult> {
    return this.pulumi(["up", "--yes", "--skip-preview", ...extra]);
  }

  /** An `up` that must fail; returns its output. */
  async upFails(extra: string[] = []): Promise<CliResult> {
    const r = await this.pulumi(["up", "--yes", "--skip-preview", ...extra], [0, 1, 255]);
    assert.notEqual(r.code, 0, `up was expected to fail but succeeded:\n${r.stdout.slice(-3000)}`);
    return r;
  }

  refresh(opts: { expectNoChanges?: boolean; okCodes?: number[] } = {}): Promise<CliResult> {
    return this.pulumi(["refresh", "--yes", "--skip-preview", ...(opts.expectNoChanges ? ["--expect-no-changes"] : [])], opts.okCodes);
  }

  destroy(): Promise<CliResult> {
    return this.pulumi(["destroy", "--yes", "--skip-preview"]);
  }

  /** After a killed CLI: the file backend keeps the stack's lock until `pulumi cancel` removes it. */
  cancel(): Promise<CliResult> {
    return this.pulumi(["cancel", "--yes"]);
  }

  async outputs(): Promise<Record<string, any>> {
    return JSON.parse((await this.pulumi(["stack", "output", "--json"])).stdout);
  }

  async exportState(): Promise<string> {
    return (await this.pulumi(["stack", "export"])).stdout;
  }

  /** Starts `pulumi up` without waiting, so a test can break things while it runs (or kill it). */
  async spawnUp(extra: string[] = []): Promise<Running> {
    const bin = await pulumiBinDir();
    // The harness keeps the stack's environment private; the CLI must see exactly that environment.
    const env = (this.stack as unknown as { env: NodeJS.ProcessEnv }).env;
    const args = ["up", "--yes", "--skip-preview", ...extra, "--stack", this.stack.stack, "--non-interactive", "--color", "never"];
    const child = spawn(path.join(bin, "pulumi"), args, { cwd: this.stack.dir, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    const done = new Promise<CliResult>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code, signal) => {
        const r = { code: code ?? 128, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() + (signal ? `\n[killed by ${signal}]` : "") };
        resolve(this.record(`pulumi ${args.join(" ")}`, r));
      });
    });
    return {
      pid: child.pid!,
      done,
      kill: () => {
        // The whole tree: plugins may sit in process groups of their own.
        for (const p of processTree(child.pid!)) {
          try {
            process.kill(p, "SIGKILL");
          } catch {
            /* already gone */
          }
        }
      },
    };
  }

  /** The private key's body never appears in state, in any recorded CLI output, or in error text. */
  async assertNoKeyLeak(): Promise<void> {
    const state = await this.exportState();
    for (const line of keyBodyLines(this.key)) {
      assert.ok(!state.includes(line), "a line of the private key appears in the exported state");
      for (const t of this.transcript) {
        assert.ok(!t.stdout.includes(line) && !t.stderr.includes(line), `a line of the private key appears in the output of \`${t.command}\``);
      }
    }
  }

  /** Destroys (best effort) and removes the stack. */
  async dispose(): Promise<void> {
    await this.destroy().catch(() => undefined);
    await this.stack.rm().catch(() => undefined);
  }
}

/** The base64 body lines of a PEM/OpenSSH private key (what must never leak). */
export function keyBodyLines(key: string): string[] {
  return key.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("-----"));
}

/** The `error:` diagnostics of a CLI run, one string each (continuation lines joined). */
export function errorsOf(r: CliResult): string[] {
  const text = `${r.stdout}\n${r.stderr}`;
  const out: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*error: (.*)$/.exec(lines[i]);
    if (!m) continue;
    let msg = m[1];
    const indent = lines[i].search(/\S/);
    while (i + 1 < lines.length && lines[i + 1].trim() && lines[i + 1].search(/\S/) > indent && !/^\s*(error|warning):/.test(lines[i + 1])) msg += "\n" + lines[++i].trim();
    // Several errors of one resource come as "N errors occurred:" and "* ..." bullets.
    for (const part of msg.replace(/^\d+ errors? occurred:\s*/, "").split(/\n?\* /)) if (part.trim()) out.push(part.trim());
  }
  return out;
}

/**
 * The failing run reports at least one error about a resource, and every such error names the host and
 * the step that failed (not a bare "connection refused").
 */
export function assertErrorsNameHostAndStep(r: CliResult, host: LabHost, step: RegExp = /./): string[] {
  const errs = errorsOf(r).filter((e) => !/^(update|preview|refresh|destroy) failed$/.test(e));
  assert.ok(errs.length > 0, `no error diagnostics in the output:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
  const hostRe = new RegExp(`${host.hostname}|${host.address.replace(/\./g, "\\.")}`);
  for (const e of errs) {
    assert.match(e, hostRe, `error does not name the host: ${e}`);
    // Steps show as `<resource> on host "h": <step> failed:` or `<step>: command on user@host:port ...`.
    assert.match(e, /(: [a-z][^:\n]* failed|^[a-z][^:\n]*: command on |cannot read facts of )/m, `error does not name the step: ${e}`);
  }
  assert.ok(errs.some((e) => step.test(e)), `no error names the expected step ${step}: ${errs.join("\n---\n")}`);
  return errs;
}

// ---------- what is on the host ----------

export interface HostView {
  containers: string[];
  running: string[];
  domains: string[];
  /** "loopN BACKFILE" lines whose backing file belongs to one of the names. */
  loops: string[];
  /** Entries in /var/lib/lxc, /var/lib/lxc/.pulumi-virt and the KVM storage dir that belong to the names. */
  files: string[];
}

const VIEW_SCRIPT = `
echo @containers; lxc-ls -1 2>/dev/null
echo @running; lxc-ls -1 --running 2>/dev/null
echo @domains; [ -S /run/libvirt/libvirt-sock ] && timeout 20 virsh -q -c qemu:///system list --all --name 2>/dev/null
echo @loops; losetup -l -n -O NAME,BACK-FILE 2>/dev/null
echo @files
for d in /var/lib/lxc /var/lib/lxc/.pulumi-virt /var/lib/libvirt/images/pulumi-virt; do
  [ -d "$d" ] && for f in "$d"/* "$d"/.[!.]*; do [ -e "$f" ] && echo "$f"; done
done
exit 0
`;

/** What exists on the host for any of the names (exact container/domain names, files named after them). */
export async function hostView(host: LabHost, names: string[]): Promise<HostView> {
  const r = await onHost(host, ["sh", "-c", VIEW_SCRIPT], { timeoutMs: 60_000 });
  const sections: Record<string, string[]> = {};
  let cur = "";
  for (const line of r.stdout.split("\n")) {
    if (line.startsWith("@")) cur = line.slice(1);
    else if (line.trim()) (sections[cur] ??= []).push(line.trim());
  }
  const mine = (s: string) => names.includes(s);
  const mentions = (s: string) => names.some((n) => s.split(/[\s/]/).includes(n));
  return {
    containers: (sections.containers ?? []).filter(mine),
    running: (sections.running ?? []).filter(mine),
    domains: (sections.domains ?? []).filter(mine),
    loops: (sections.loops ?? []).filter(mentions),
    files: (sections.files ?? []).filter(mentions),
  };
}

/** Nothing of `names` is left on the host: no container, domain, loop device, state dir, marker or disk. */
export async function assertNoLeftovers(host: LabHost, names: string[]): Promise<void> {
  // Loop devices are released asynchronously after a container stops (autoclear).
  let v = await hostView(host, names);
  for (let i = 0; i < 30 && v.loops.length; i++) {
    await sleep(200);
    v = await hostView(host, names);
  }
  assert.deepEqual(v, { containers: [], running: [], domains: [], loops: [], files: [] }, `leftovers on ${host.name}`);
}

/** Each name exists exactly once as a running container with exactly one loop device when it has a disk. */
export async function assertRunningOnce(host: LabHost, names: string[], opts: { loopBacked?: boolean } = {}): Promise<HostView> {
  const v = await hostView(host, names);
  assert.deepEqual([...v.containers].sort(), [...names].sort(), "containers on the host");
  assert.deepEqual([...v.running].sort(), [...names].sort(), "running containers on the host");
  if (opts.loopBacked) {
    for (const n of names) assert.equal(v.loops.filter((l) => l.split(/[\s/]/).includes(n)).length, 1, `loop devices of ${n}: ${v.loops.join("; ")}`);
  }
  return v;
}

/** Removes whatever of `names` a failed test left behind (best effort; run in t.after). */
export async function scrubHost(host: LabHost, names: string[]): Promise<void> {
  const script = `
for n in "$@"; do
  lxc-stop -k -n "$n" >/dev/null 2>&1
  for L in $(losetup -l -n -O NAME -j "/var/lib/lxc/$n/rootdev" 2>/dev/null); do losetup -d "$L" 2>/dev/null; done
  lxc-destroy -n "$n" >/dev/null 2>&1
  rm -rf "/var/lib/lxc/$n" "/var/lib/lxc/.pulumi-virt/$n" "/tmp/pulumi-virt-lxc-$n.log"
  if [ -S /run/libvirt/libvirt-sock ]; then
    virsh -q -c qemu:///system destroy "$n" >/dev/null 2>&1
    virsh -q -c qemu:///system undefine "$n" --nvram >/dev/null 2>&1
    rm -rf "/var/lib/libvirt/images/pulumi-virt/$n"
  fi
done
exit 0`;
  await onHost(host, ["sh", "-c", script, "sh", ...names], { timeoutMs: 120_000 });
}

// ---------- the lab lock ----------

/**
 * lab.sh's own lock, held while a host is broken on purpose. Another test's ensureLab() that sees the
 * host unhealthy runs `lab.sh up`, which would rebuild the whole shared lab; holding the lock makes it
 * wait until the host is repaired, and then find the lab healthy.
 */
export class LabLock {
  private constructor(private readonly child: ReturnType<typeof spawn>) {}

  static async acquire(): Promise<LabLock> {
    const file = path.join(labCacheDir, "lab", "lab.lock");
    const child = spawn("flock", ["-w", "300", file, "sh", "-c", "echo locked; exec cat >/dev/null"], { stdio: ["pipe", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => d.toString().includes("locked") && resolve());
      child.on("exit", (code) => reject(new Error(`could not take the lab lock ${file} (flock exited ${code})`)));
    });
    return new LabLock(child);
  }

  /** Runs fn with the lock held. */
  static async during<T>(fn: () => Promise<T>): Promise<T> {
    const lock = await LabLock.acquire();
    try {
      return await fn();
    } finally {
      lock.release();
    }
  }

  release(): void {
    this.child.stdin!.end();
  }
}

// ---------- sshd faults ----------

function netnsPids(netns: string): number[] {
  const ino = fs.statSync(`/var/run/netns/${netns}`).ino;
  const out: number[] = [];
  for (const p of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (fs.readlinkSync(`/proc/${p}/ns/net`) === `net:[${ino}]`) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The command name of a live process ("" when gone or a zombie: PID 1 here does not reap promptly). */
function comm(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return "";
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

function ppidOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return -1;
  }
}

/** `root` and every process below it (the CLI, its language host, program and dynamic provider). */
export function processTree(root: number): Set<number> {
  const children = new Map<number, number[]>();
  for (const p of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    const pp = ppidOf(Number(p));
    if (!children.has(pp)) children.set(pp, []);
    children.get(pp)!.push(Number(p));
  }
  const out = new Set<number>([root]);
  const todo = [root];
  while (todo.length) for (const c of children.get(todo.pop()!) ?? []) if (!out.has(c)) { out.add(c); todo.push(c); }
  return out;
}

/** "users:((\"node\",pid=12,fd=3))" -> [12] */
function ssPids(line: string): number[] {
  return [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
}

/** The sshd processes on `host` serving TCP connections opened by one `pulumi` run (the tree under `rootPid`). */
export async function sshdSessionsOf(host: LabHost, rootPid: number): Promise<number[]> {
  const tree = processTree(rootPid);
  const mine = await run(["ss", "-tnpH", "state", "established", "dst", `${host.address}:${host.port}`]);
  const ports = new Set<string>();
  for (const line of mine.stdout.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    if (ssPids(line).some((p) => tree.has(p))) ports.add(cols[2].split(":").pop()!);
  }
  if (!ports.size) return [];
  const theirs = await onHost(host, ["ss", "-tnpH", "state", "established", "sport", `= :${host.port}`]);
  const pids = new Set<number>();
  for (const line of theirs.stdout.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    if (ports.has(cols[3].split(":").pop()!)) for (const p of ssPids(line)) pids.add(p);
  }
  return [...pids];
}

function sshdPidFile(host: LabHost): string {
  return path.join(labDir, "hosts", host.name, "sshd.pid");
}

/** The host's listening sshd (its pid file), if alive. */
function listenerPid(host: LabHost): number | undefined {
  let pid = 0;
  try {
    pid = Number(fs.readFileSync(sshdPidFile(host), "utf8").trim() || "0");
  } catch {
    return undefined;
  }
  return pid && comm(pid) === "sshd" ? pid : undefined;
}

/** Keeps the host's namespaces enterable while its sshd (their usual anchor, lab.json's monitorPid) is down. */
export class NamespaceAnchor {
  private constructor(readonly pid: number) {}

  static async hold(host: LabHost): Promise<NamespaceAnchor> {
    const child = spawn("nsenter", ["--target", String(host.monitorPid), "--net", "--mount", "--uts", "--", "sleep", "3600"], { stdio: "ignore", detached: true });
    child.unref();
    const pid = child.pid!;
    await waitFor("the namespace anchor", async () => comm(pid) === "sleep", 5000, 20);
    return new NamespaceAnchor(pid);
  }

  release(): void {
    try {
      process.kill(this.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

/**
 * Kills the host's sshd: the listener and the sessions serving one `pulumi` run (the tree under `rootPid`).
 * Other users' sessions on the shared lab host stay up. Returns the killed session pids.
 */
export async function killSshd(host: LabHost, rootPid?: number): Promise<number[]> {
  const sessions = rootPid ? await sshdSessionsOf(host, rootPid) : [];
  const listener = listenerPid(host);
  for (const p of [...(listener ? [listener] : []), ...sessions]) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  return sessions;
}

/**
 * Starts the host's sshd again the way lab/host-init.sh does (same config, inside the host's namespaces,
 * in its cgroup subtree) and points lab.json's monitorPid at it. `anchor` enters the namespaces.
 */
export async function restartSshd(host: LabHost, anchor: NamespaceAnchor): Promise<LabHost> {
  if (listenerPid(host)) return labHost(host.name);
  const dir = path.join(labDir, "hosts", host.name);
  const log = fs.openSync(path.join(dir, "host.log"), "a");
  // detached: a session of its own (what setsid gives lab.sh's hosts); nsenter execs, so this pid becomes sshd.
  const child = spawn(
    "nsenter",
    ["--target", String(anchor.pid), "--net", "--mount", "--uts", "--", "/usr/sbin/sshd", "-D", "-e", "-f", path.join(dir, "sshd_config")],
    { stdio: ["ignore", log, log], detached: true },
  );
  child.unref();
  fs.closeSync(log);
  const pid = child.pid!;
  for (const ctl of fs.readdirSync("/sys/fs/cgroup").map((c) => `/sys/fs/cgroup/${c}`).concat("/sys/fs/cgroup")) {
    const procs = `${ctl}/${host.netns}/host/cgroup.procs`;
    try {
      if (fs.existsSync(procs)) fs.writeFileSync(procs, String(pid));
    } catch {
      /* controller not joinable: host-init ignores these too */
    }
  }
  const inside = { ...host, monitorPid: anchor.pid };
  await waitFor(`sshd of ${host.name} listening`, async () => {
    const r = await onHost(inside, ["ss", "-Hltn", `sport = :${host.port}`]).catch(() => undefined);
    return comm(pid) === "sshd" && !!r?.stdout.trim();
  }, 20_000);
  setMonitorPid(host.name, pid);
  return labHost(host.name);
}

/** lab.json's monitorPid of one host (atomic rewrite; the rest of the file is kept as is). */
function setMonitorPid(name: string, pid: number): void {
  const text = fs.readFileSync(labJsonPath, "utf8");
  const re = new RegExp(`("name": "${name}"[\\s\\S]*?"monitorPid": )\\d+`);
  assert.match(text, re, `lab.json has no monitorPid for ${name}`);
  const tmp = `${labJsonPath}.faults.${process.pid}`;
  fs.writeFileSync(tmp, text.replace(re, `$1${pid}`));
  fs.renameSync(tmp, labJsonPath);
}

// ---------- link faults ----------

/** The root-namespace end of the host's veth (lab.sh: pvl-<host>). */
export function vethOf(host: LabHost): string {
  return `pvl-${host.name}`;
}

export async function setLink(host: LabHost, state: "up" | "down"): Promise<void> {
  const r = await run(["ip", "link", "set", vethOf(host), state]);
  assert.equal(r.code, 0, `ip link set ${vethOf(host)} ${state}: ${r.stderr}`);
}

// ---------- a host restart (for the stack's own containers) ----------

/**
 * What a reboot does to a host's containers, limited to `names` (the lab host is shared): every process
 * in their cgroups (monitor and payload) is killed, their loop devices detach, their cgroups go. State
 * directories stay. The host's sshd is killed and started again.
 */
export async function restartHost(host: LabHost, names: string[], rootPid?: number): Promise<LabHost> {
  const anchor = await NamespaceAnchor.hold(host);
  try {
    await killSshd(host, rootPid);
    const dirs: string[] = [];
    for (const ctl of fs.readdirSync("/sys/fs/cgroup")) {
      for (const n of names) {
        for (const d of [`lxc.payload.${n}`, `lxc.monitor.${n}`]) {
          const p = `/sys/fs/cgroup/${ctl}/${host.netns}/${d}`;
          if (fs.existsSync(p)) dirs.push(p);
        }
      }
    }
    const procsIn = (d: string) => run(["find", d, "-name", "cgroup.procs", "-exec", "cat", "{}", "+"]).then((r) => r.stdout.split("\n").filter(Boolean).map(Number));
    for (let i = 0; i < 20; i++) {
      const pids = [...new Set((await Promise.all(dirs.map(procsIn))).flat())];
      if (!pids.length) break;
      for (const p of pids) {
        try {
          process.kill(p, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      await sleep(200);
    }
    for (const d of dirs) await run(["find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", "+"]);
    // Loop devices of the killed containers detach themselves (autoclear); wait for it like a reboot would.
    const inside = { ...host, monitorPid: anchor.pid };
    await waitFor("loop devices of the killed containers to detach", async () => (await hostView(inside, names)).loops.length === 0, 15_000, 200);
    return await restartSshd(host, anchor);
  } finally {
    anchor.release();
  }
}
