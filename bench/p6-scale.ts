// P6: one program managing a fleet. H hosts of the scale lab (lab/scale.sh) × (1 lxc Hypervisor + M busybox
// Containers); for H = 2 and H = 20 (M = 5: 140 resources at 20 hosts), five operations in order:
//   up, a no-op preview, refresh, a live memory resize of every container (an `up`), destroy.
// Per operation: wall time; SSH handshakes counted on the hosts (their sshd logs: nobody else uses the scale lab);
// round trips (commands on the wire, from the pool's counters, PULUMI_VIRT_STATS_FILE) in total and per host;
// remote commands (read scripts sent together count one each, from PULUMI_VIRT_TRACE_FILE); and the
// dynamic-provider process's peak RSS and CPU seconds (sampled from /proc while it runs).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { LabHost } from "../test/support/lab";
import { acceptedTotal, BENCH_DIR, BenchHost } from "./lab-sshd";
import { clearStats, createStack, hostLabel, log, readStats, reconfigure, RUN_TAG, setStackEnv, StatsStack, timed } from "./util";

export const SCALE_LAB_DIR = process.env.PULUMI_VIRT_SCALE_LAB_DIR ?? "/run/pulumi-virt-lab-scale";
const MEMORY_MIB = 32;
const RESIZED_MIB = 48;

export type ScaleOp = "up" | "preview" | "refresh" | "refreshWide" | "resize" | "destroy";
/** refreshWide: the same refresh with --parallel as large as the stack, so the engine sends every read at once. */
export const SCALE_OPS: ScaleOp[] = ["up", "preview", "refresh", "refreshWide", "resize", "destroy"];

export interface OpFigures {
  wallMs: number;
  handshakes: number;
  /** Commands on the wire (one SSH exec on a pooled session each), all hosts. */
  roundTrips: number;
  roundTripsPerHostMax: number;
  roundTripsPerHostMean: number;
  /** Remote scripts the provider asked for (read scripts coalesced into one round trip count one each). */
  remoteCommands: number;
  connectionsOpened: number;
  /** Peak resident set of the dynamic-provider process(es) during the operation, MiB (VmHWM). */
  providerPeakRssMiB: number;
  /** User + system CPU of the dynamic-provider process(es), seconds (last sample before exit: up to 0.2 s low). */
  providerCpuSec: number;
  /** What the engine reported (created/updated/deleted/same), from the CLI's summary line. */
  changes: string;
  tracePath: string;
  /** From the trace: when the first remote command started and the last one ended, ms after the CLI started. */
  firstCommandAtMs: number;
  lastCommandEndMs: number;
  /** From the trace: round trips and their summed duration by kind of step ("create container", "3 reads ...", ...). */
  steps: Record<string, { count: number; ms: number }>;
}

export interface ScaleRun {
  hosts: number;
  containersPerHost: number;
  resources: number;
  /** "default" or the --parallel value. */
  parallel: string;
  ops: Partial<Record<ScaleOp, OpFigures>>;
}

/** Brings the scale lab up with n hosts (kept when already up and healthy) and loads its json. */
export function scaleLabUp(n: number): LabHost[] {
  const script = path.resolve(__dirname, "../../lab/scale.sh");
  const r = spawnSync("bash", [script, "up", String(n)], { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`lab/scale.sh up ${n} failed (exit ${r.status})`);
  return (JSON.parse(fs.readFileSync(path.join(SCALE_LAB_DIR, "lab.json"), "utf8")) as { hosts: LabHost[] }).hosts;
}

/** Scale hosts as the bench's hosts: port 22, handshakes counted in the host's own sshd log (private to the bench). */
export function scaleBenchHosts(hosts: LabHost[]): BenchHost[] {
  return hosts.map((h) => ({
    lab: h,
    port: h.port,
    logPath: path.join(SCALE_LAB_DIR, "hosts", h.name, "host.log"),
    pid: h.monitorPid,
    knownHosts: `${h.address} ${h.hostKey}`,
  }));
}

/**
 * Samples the dynamic-provider processes of one stack from /proc: those whose environment carries this stack's
 * PULUMI_VIRT_STATS_FILE (so other engineers' providers are never counted).
 */
class ProviderSampler {
  private timer?: NodeJS.Timeout;
  private readonly seen = new Map<number, { hwmKiB: number; ticks: number }>();
  /** Processes that are not (yet) a provider, by their command line: the plugin wrapper execs node later. */
  private readonly rejected = new Map<number, string>();
  private static readonly TICKS_PER_SEC = 100; // CLK_TCK on Linux/x86-64

  constructor(private readonly marker: string) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 200);
  }

  /** Stops sampling (idempotent) and sums what was seen. */
  stop(): { peakRssMiB: number; cpuSec: number } {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.sample();
    }
    let peak = 0;
    let ticks = 0;
    for (const v of this.seen.values()) {
      peak = Math.max(peak, v.hwmKiB);
      ticks += v.ticks;
    }
    return { peakRssMiB: peak / 1024, cpuSec: ticks / ProviderSampler.TICKS_PER_SEC };
  }

  private sample(): void {
    for (const d of fs.readdirSync("/proc")) {
      const pid = Number(d);
      if (!Number.isInteger(pid)) continue;
      try {
        if (!this.seen.has(pid)) {
          const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
          if (this.rejected.get(pid) === cmd) continue;
          // `node <...>/cmd/dynamic-provider[/index.js] ...`; not the wrapper's `node -e require.resolve(...)`.
          const argv = cmd.split("\0");
          const isProvider = /(^|\/)node$/.test(argv[0]) && /cmd\/dynamic-provider(\/index\.js)?$/.test(argv[1] ?? "");
          if (!isProvider || !fs.readFileSync(`/proc/${pid}/environ`, "utf8").includes(this.marker)) {
            this.rejected.set(pid, cmd);
            continue;
          }
        }
        const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
        const hwm = Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0);
        // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const ticks = Number(f[11]) + Number(f[12]);
        const prev = this.seen.get(pid);
        this.seen.set(pid, { hwmKiB: Math.max(prev?.hwmKiB ?? 0, hwm), ticks: Math.max(prev?.ticks ?? 0, ticks) });
      } catch {
        // Gone between readdir and read (keeps its last sample), or not ours to read.
      }
    }
  }
}

/** Round trips in a trace file (one line each), the remote commands they carried, and where the time went. */
function traceCounts(traceGlobDir: string, prefix: string, startedAt: number) {
  let lines = 0;
  let commands = 0;
  let first = Infinity;
  let last = 0;
  const steps: Record<string, { count: number; ms: number }> = {};
  const files: string[] = [];
  for (const f of fs.readdirSync(traceGlobDir)) {
    if (!f.startsWith(prefix)) continue;
    files.push(path.join(traceGlobDir, f));
    for (const line of fs.readFileSync(path.join(traceGlobDir, f), "utf8").split("\n")) {
      if (!line) continue;
      lines++;
      const [at, ms, , step = ""] = line.split("\t");
      const begin = Date.parse(at) - startedAt;
      first = Math.min(first, begin);
      last = Math.max(last, begin + Number(ms));
      const together = /^(\d+) reads sent together/.exec(step);
      commands += Number(together?.[1] ?? 1);
      // "create container pvs-s1-0" -> "create container"; "12 reads sent together (...)" -> "reads sent together"
      const kind = together ? "reads sent together" : step.replace(/\s+\S*\d\S*$/, "").replace(/ (pvs|pvb)\S*$/, "");
      const k = (steps[kind] ??= { count: 0, ms: 0 });
      k.count++;
      k.ms += Number(ms);
    }
  }
  return { lines, commands, files, first: lines ? first : NaN, last: lines ? last : NaN, steps };
}

function fleet(hosts: BenchHost[], perHost: number, memory: number): Record<string, unknown> {
  // Interleaved by host, so the engine's first creates reach every host, not the first host's queue only.
  const out: Record<string, unknown> = {};
  for (let i = 0; i < perHost; i++) {
    for (const h of hosts) {
      const name = `pvs${RUN_TAG}-${h.lab.name}-${i}`;
      out[name] = { host: h.lab.name, name, memory };
    }
  }
  return out;
}

/** The engine's summary line ("+ 140 created", "~ 100 updated", ...), compacted. */
function changesOf(stdout: string): string {
  const m = /Resources:\n((?:\s+.+\n)+)/.exec(stdout);
  if (!m) return "";
  return m[1]
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^[-+~]?\s*\d+ /.test(l))
    .join(", ");
}

async function measure(s: StatsStack, hosts: BenchHost[], op: ScaleOp, parallel: string, traceDir: string, fn: () => Promise<string>): Promise<OpFigures> {
  const prefix = `${hosts.length}h-p${parallel}-${op}.`;
  for (const f of fs.readdirSync(traceDir)) if (f.startsWith(prefix)) fs.rmSync(path.join(traceDir, f));
  setStackEnv(s.stack, "PULUMI_VIRT_TRACE_FILE", path.join(traceDir, `${prefix}{pid}.tsv`));
  clearStats(s);
  const sampler = new ProviderSampler(`PULUMI_VIRT_STATS_FILE=${s.statsDir}/`);
  const before = acceptedTotal(hosts);
  sampler.start();
  const startedAt = Date.now();
  const res = await timed(fn).finally(() => sampler.stop());
  const usage = sampler.stop();
  const handshakes = acceptedTotal(hosts) - before;
  const stats = readStats(s);
  const perHost = hosts.map((h) => stats.hosts[hostLabel(h)]?.commands ?? 0);
  const trace = traceCounts(traceDir, prefix, startedAt);
  const fig: OpFigures = {
    wallMs: res.ms,
    handshakes,
    roundTrips: stats.global.commands,
    roundTripsPerHostMax: Math.max(0, ...perHost),
    roundTripsPerHostMean: perHost.reduce((a, b) => a + b, 0) / hosts.length,
    remoteCommands: trace.commands,
    connectionsOpened: stats.global.connectionsOpened,
    providerPeakRssMiB: usage.peakRssMiB,
    providerCpuSec: usage.cpuSec,
    changes: changesOf(res.value),
    tracePath: trace.files.join(","),
    firstCommandAtMs: trace.first,
    lastCommandEndMs: trace.last,
    steps: trace.steps,
  };
  log(`  P6 ${hosts.length} hosts, ${op} (parallel ${parallel}): ${(fig.wallMs / 1000).toFixed(1)} s, ${fig.handshakes} handshakes, ${fig.roundTrips} round trips (max ${fig.roundTripsPerHostMax}/host), ${fig.remoteCommands} remote commands, provider ${fig.providerPeakRssMiB.toFixed(0)} MiB / ${fig.providerCpuSec.toFixed(1)} CPU s; SSH from ${(fig.firstCommandAtMs / 1000).toFixed(1)} to ${(fig.lastCommandEndMs / 1000).toFixed(1)} s; ${fig.changes}`);
  log(`    steps: ${Object.entries(fig.steps).map(([k, v]) => `${k} ${v.count}x ${(v.ms / 1000).toFixed(1)} s`).join("; ")}`);
  return fig;
}

/** One fleet cycle (up, no-op preview, refresh, live resize, destroy) on the first n hosts of the scale lab. */
export async function benchScale(all: BenchHost[], n: number, perHost: number, privateKey: string, parallel = "default"): Promise<ScaleRun> {
  const hosts = all.slice(0, n);
  const traceDir = path.join(BENCH_DIR, "p6-traces");
  fs.mkdirSync(traceDir, { recursive: true });
  const par = parallel === "default" ? [] : ["--parallel", parallel];
  log(`P6: ${n} hosts x (1 Hypervisor + ${perHost} Containers), --parallel ${parallel}`);
  const s = await createStack("virt", hosts, fleet(hosts, perHost, MEMORY_MIB), privateKey);
  const run: ScaleRun = { hosts: n, containersPerHost: perHost, resources: n * (2 + perHost), parallel, ops: {} };
  const cli = async (args: string[]) => (await s.stack.pulumi([...args, ...par])).stdout;
  try {
    run.ops.up = await measure(s, hosts, "up", parallel, traceDir, () => cli(["up", "--yes", "--skip-preview"]));
    run.ops.preview = await measure(s, hosts, "preview", parallel, traceDir, () => cli(["preview", "--expect-no-changes"]));
    run.ops.refresh = await measure(s, hosts, "refresh", parallel, traceDir, () => cli(["refresh", "--yes", "--skip-preview"]));
    if (parallel === "default") {
      const wide = ["refresh", "--yes", "--skip-preview", "--parallel", String(run.resources + 1)];
      run.ops.refreshWide = await measure(s, hosts, "refreshWide", parallel, traceDir, async () => (await s.stack.pulumi(wide)).stdout);
    }
    await reconfigure(s, hosts, fleet(hosts, perHost, RESIZED_MIB));
    run.ops.resize = await measure(s, hosts, "resize", parallel, traceDir, () => cli(["up", "--yes", "--skip-preview"]));
    run.ops.destroy = await measure(s, hosts, "destroy", parallel, traceDir, () => cli(["destroy", "--yes", "--skip-preview"]));
  } finally {
    setStackEnv(s.stack, "PULUMI_VIRT_TRACE_FILE", undefined);
    await s.stack.destroy().catch((e) => log(`P6 clean-up destroy failed: ${(e as Error).message.slice(0, 400)}`));
    await s.stack.rm().catch(() => undefined);
  }
  return run;
}
