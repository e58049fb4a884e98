// Issue 11 benchmarks: runs P1-P5 against the lab, prints a table and writes bench/results.json.
// Every figure is a ratio against a baseline measured in the same run. Nothing here asserts on time.
// Run through `npm run bench` (scripts/bench.sh builds, brings the lab up and provides pulumi first).
// Knobs (environment): BENCH_RUNS (3), BENCH_CONTAINERS (24), BENCH_ONLY (e.g. "P1,P4"; P1 and P3 run together, as do P2 and P5);
// P6 (fleet on the scale lab): BENCH_SCALE_HOSTS ("2,20"), BENCH_SCALE_PER_HOST (5), BENCH_SCALE_PARALLEL (extra
// --parallel values tried at the largest host count, "64"; "" for none), BENCH_SCALE_DEFAULT=0 skips the default --parallel cycles.
import * as fs from "node:fs";
import * as path from "node:path";
import { closeAllRemotes } from "../provider/ssh/remote";
import { pulumiBinDir } from "../test/e2e/harness";
import { prepareConsumer } from "./consumer";
import { BENCH_DIR, BenchHost, benchSshdHealthy, ensureBenchSshd, startBenchSshd, stopBenchSshd } from "./lab-sshd";
import { benchCreate, CreateResults } from "./p1p3-create";
import { benchRead } from "./p2p5-read";
import { benchContainerDowntime, benchGuestDowntime, DowntimeResult } from "./p4-downtime";
import { benchScale, scaleBenchHosts, scaleLabUp, ScaleRun } from "./p6-scale";
import { printScaleTable, scaleGoals } from "./p6-table";
import { log, ratio, RUN_TAG, summarize, Summary } from "./util";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CONTAINERS = Number(process.env.BENCH_CONTAINERS ?? 24);
const ONLY = (process.env.BENCH_ONLY ?? "P1,P2,P3,P4,P5,P6").toUpperCase().split(",");
const SCALE_HOSTS = (process.env.BENCH_SCALE_HOSTS ?? "2,20").split(",").filter(Boolean).map(Number);
const SCALE_PER_HOST = Number(process.env.BENCH_SCALE_PER_HOST ?? 5);
const SCALE_PARALLEL = (process.env.BENCH_SCALE_PARALLEL ?? "64").split(",").filter(Boolean);
const want = (...p: string[]) => p.some((x) => ONLY.includes(x));

interface Row {
  id: string;
  measure: string;
  value: Summary;
  unit: string;
  baseline: string;
  ratio?: Summary;
  goal: string;
  met?: boolean;
}

const fmt = (v: number, unit: string) => (Number.isNaN(v) ? "n/a" : unit === "s" ? (v / 1000).toFixed(1) : unit === "x" ? v.toFixed(2) : Number.isInteger(v) ? String(v) : v.toFixed(1));
const cell = (s: Summary, unit: string) => `${fmt(s.median, unit)} [${fmt(s.min, unit)}-${fmt(s.max, unit)}]`;

function printTable(rows: Row[]): void {
  const lines = [["id", "measure", "median [min-max]", "baseline (same run)", "ratio", "goal", "met"]];
  for (const r of rows) {
    lines.push([r.id, r.measure, `${cell(r.value, r.unit)} ${r.unit === "x" ? "" : r.unit}`.trim(), r.baseline, r.ratio ? `${cell(r.ratio, "x")}x` : "", r.goal, r.met === undefined ? "" : r.met ? "yes" : "NO"]);
  }
  const w = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  for (const l of lines) console.log(l.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd());
}

/** Per-run differences a - b (runs paired by index). */
function minus(a: Summary, b: Summary): Summary {
  return summarize(a.runs.map((x, i) => x - b.runs[i]));
}

function createRows(c: CreateResults): Row[] {
  const h = c.handshakes;
  const w = c.wallMs;
  const n = `${c.containers} containers / ${c.hosts} hosts`;
  return [
    { id: "P1", measure: `SSH handshakes, pulumi up of ${n}`, value: h.virt, unit: "", baseline: `connection-per-command ${cell(h.percommand, "")}`, ratio: ratio(h.percommand, h.virt), goal: `= ${c.hosts} (hosts)`, met: h.virt.max <= c.hosts },
    { id: "P1", measure: "  (OpenSSH floor, one ssh per host)", value: h.floor, unit: "", baseline: "", goal: "" },
    { id: "P3", measure: `wall time, pulumi up of ${n}`, value: w.virt, unit: "s", baseline: `floor ${cell(w.floor, "s")} s`, ratio: ratio(w.virt, w.floor), goal: "" },
    { id: "P3", measure: "  vs connection-per-command (speed-up)", value: w.virt, unit: "s", baseline: `per-command ${cell(w.percommand, "s")} s`, ratio: ratio(w.percommand, w.virt), goal: ">= 3x faster", met: w.percommand.median / w.virt.median >= 3 },
    { id: "P3", measure: `wall time, pulumi destroy of ${n}`, value: c.destroyMs.virt, unit: "s", baseline: `floor (lxc-destroy -f) ${cell(c.destroyMs.floor, "s")} s`, ratio: ratio(c.destroyMs.virt, c.destroyMs.floor), goal: "" },
    { id: "P3", measure: "  destroy vs connection-per-command (speed-up)", value: c.destroyMs.virt, unit: "s", baseline: `per-command ${cell(c.destroyMs.percommand, "s")} s`, ratio: ratio(c.destroyMs.percommand, c.destroyMs.virt), goal: "" },
    { id: "P3", measure: "  pulumi up of an empty program", value: w.emptyUp, unit: "s", baseline: "(engine + program start-up)", goal: "" },
    // What the containers themselves cost through pulumi-virt, next to what they cost in the shell loop.
    // Provider-attributable time (issue 26): what the containers cost through pulumi-virt beyond the engine's own start-up.
    { id: "P3", measure: "  up minus the empty up", value: minus(w.virt, w.emptyUp), unit: "s", baseline: `floor ${cell(w.floor, "s")} s`, ratio: ratio(minus(w.virt, w.emptyUp), w.floor), goal: "<= 1.3x floor", met: median(minus(w.virt, w.emptyUp)) / w.floor.median <= 1.3 },
    ...commandRows(c),
  ];
}

const median = (s: Summary) => s.median;

/** @pulumi/command's real plugin, when it was installed for this run (three remote.Commands per container). */
function commandRows(c: CreateResults): Row[] {
  const m = c.command;
  if (!m) return [];
  const w = c.wallMs;
  return [
    { id: "P3", measure: "  vs @pulumi/command remote.Command (speed-up)", value: w.virt, unit: "s", baseline: `remote.Command ${cell(m.upMs, "s")} s`, ratio: ratio(m.upMs, w.virt), goal: ">= 2x faster", met: m.upMs.median / w.virt.median >= 2 },
    { id: "P3", measure: "  @pulumi/command handshakes", value: c.handshakes.virt, unit: "", baseline: `remote.Command ${cell(m.handshakes, "")}`, ratio: ratio(m.handshakes, c.handshakes.virt), goal: `= ${c.hosts} (hosts)`, met: c.handshakes.virt.max <= c.hosts },
    { id: "P3", measure: "  destroy vs @pulumi/command", value: c.destroyMs.virt, unit: "s", baseline: `remote.Command ${cell(m.destroyMs, "s")} s`, ratio: ratio(m.destroyMs, c.destroyMs.virt), goal: "" },
  ];
}

function downtimeRows(kind: string, d: DowntimeResult): Row[] {
  return [
    { id: "P4", measure: `${kind}: downtime, live memory resize`, value: d.live.downtimeMs, unit: "s", baseline: `restart ${cell(d.restart.downtimeMs, "s")} s`, goal: "0 (same PID, continuous)", met: d.live.samePid && d.live.continuous },
    { id: "P4", measure: `${kind}:   live resize call itself`, value: d.live.opMs, unit: "s", baseline: d.live.maxStatGapS ? `max PVSTAT gap ${cell(d.live.maxStatGapS, "")} s` : "init PID + start time unchanged", goal: "" },
    {
      id: "P4", measure: `${kind}: downtime, restart (request -> back)`, value: d.restart.downtimeMs, unit: "s",
      baseline: d.restart.callMs ? `stop+start call ${cell(d.restart.callMs, "s")} s, stop: ${[...new Set(d.restart.stopOutcomes)].join("/")}` : "", goal: "",
    },
  ];
}

let hosts: BenchHost[] = [];

/**
 * Runs one benchmark phase. Other engineers share the lab and may rebuild it (which ends the bench sshds):
 * if the phase fails and the lab changed under it, wait for the lab, restart the bench sshds and run it once more.
 */
async function phase<T>(name: string, fn: (hosts: BenchHost[]) => Promise<T>): Promise<T> {
  hosts = await ensureBenchSshd(hosts);
  try {
    return await fn(hosts);
  } catch (e) {
    if (benchSshdHealthy(hosts)) throw e;
    log(`${name}: the lab changed under the benchmark (${(e as Error).message.split("\n")[0].slice(0, 200)}); running it again`);
    closeAllRemotes();
    hosts = await ensureBenchSshd(hosts);
    return fn(hosts);
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const out = path.resolve(__dirname, "../../bench/results.json");
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(fs.readFileSync(out, "utf8"));
  } catch {
    /* first run */
  }
  const results: Record<string, unknown> = { startedAt: new Date().toISOString(), runs: RUNS, runTag: RUN_TAG, machine: { cpus: require("node:os").cpus().length, loadavg: require("node:os").loadavg() } };
  const rows: Row[] = [];
  const keyPath = JSON.parse(fs.readFileSync("/run/pulumi-virt-lab/lab.json", "utf8")).hosts[0].privateKeyPath as string;
  const privateKey = fs.readFileSync(keyPath, "utf8");
  const scale: ScaleRun[] = [];
  try {
    if (want("P1", "P2", "P3", "P4", "P5")) hosts = await startBenchSshd(["h1", "h2"]);
    if (want("P1", "P2", "P3", "P5", "P6")) {
      log("preparing pulumi and the consumer directory (build + pack + npm install, cached by content hash)");
      await Promise.all([pulumiBinDir(), prepareConsumer()]);
    }
    if (want("P1", "P3")) {
      const c = await phase("P1/P3", (h) => benchCreate(h, privateKey, CONTAINERS, RUNS));
      results.create = c;
      rows.push(...createRows(c));
    }
    if (want("P2", "P5")) {
      const r = await phase("P2/P5", (h) => benchRead(h, privateKey, RUNS));
      results.read = r;
      for (const x of r.refresh) {
        rows.push({ id: "P5", measure: `SSH commands on the host, refresh of ${x.n} containers`, value: x.commandsBatched, unit: "", baseline: `no coalescing ${cell(x.commandsUnbatched, "")}`, ratio: ratio(x.commandsUnbatched, x.commandsBatched), goal: "<= 2 per host", met: x.commandsBatched.max <= 2 });
        rows.push({ id: "P5", measure: "  commands on the busiest host of the stack", value: x.worstHostBatched, unit: "", baseline: "", goal: "<= 2 per host", met: x.worstHostBatched.max <= 2 });
        rows.push({ id: "P5", measure: "  wall time of that refresh", value: x.wallMsBatched, unit: "s", baseline: `no coalescing ${cell(x.wallMsUnbatched, "s")} s`, ratio: ratio(x.wallMsBatched, x.wallMsUnbatched), goal: "" });
      }
      const p = r.preview;
      rows.push({ id: "P2", measure: `SSH connections, no-op preview of ${p.resources} resources`, value: p.connectionsOpened, unit: "", baseline: `handshakes on hosts ${cell(p.handshakes, "")}`, goal: "0", met: p.connectionsOpened.max === 0 && p.handshakes.max === 0 });
      rows.push({ id: "P2", measure: "  wall time of that preview", value: p.wallMs, unit: "s", baseline: `empty program ${cell(p.emptyWallMs, "s")} s`, ratio: ratio(p.wallMs, p.emptyWallMs), goal: "" });
    }
    if (want("P4")) {
      const ct = await phase("P4 container", (h) => benchContainerDowntime(h[1], privateKey, RUNS));
      rows.push(...downtimeRows("container", ct));
      let vm: DowntimeResult | { error: string };
      try {
        vm = await phase("P4 guest", (h) => benchGuestDowntime(h[1], privateKey, RUNS));
        rows.push(...downtimeRows("KVM/TCG guest", vm));
      } catch (e) {
        vm = { error: (e as Error).message };
        log(`P4 KVM guest failed: ${vm.error}`);
      }
      results.downtime = { container: ct, kvmGuest: vm };
    }
    if (want("P6") && SCALE_HOSTS.length) {
      const max = Math.max(...SCALE_HOSTS);
      log(`P6: scale lab with ${max} hosts (lab/scale.sh)`);
      const fleetHosts = scaleBenchHosts(scaleLabUp(max));
      const failed: Array<{ hosts: number; parallel: string; error: string }> = [];
      const attempt = async (n: number, p: string) => {
        try {
          scale.push(await benchScale(fleetHosts, n, SCALE_PER_HOST, privateKey, p));
        } catch (e) {
          // A failed cycle is a finding (reported with its error), not the end of the benchmark.
          // The CLI's own "error:" lines say why; the rest of its output is progress.
          const msg = (e as Error).message;
          const errs = [...new Set(msg.split("\n").filter((l) => /error:/.test(l)).map((l) => l.trim().slice(0, 300)))];
          const error = (errs.length ? `${errs.length} distinct error lines, e.g. ${errs.slice(0, 3).join(" | ")}` : msg.replace(/\s+/g, " ")).slice(0, 1200);
          failed.push({ hosts: n, parallel: p, error });
          log(`P6 ${n} hosts, --parallel ${p} failed: ${error}`);
        }
      };
      if (process.env.BENCH_SCALE_DEFAULT !== "0") for (const n of [...SCALE_HOSTS].sort((a, b) => a - b)) await attempt(n, "default");
      for (const p of SCALE_PARALLEL) await attempt(max, p);
      results.scale = { startedAt: new Date().toISOString(), loadavgAfter: require("node:os").loadavg(), runs: scale, failed, goals: scaleGoals(scale) };
      for (const f of failed) console.log(`P6 ${f.hosts} hosts, --parallel ${f.parallel}: FAILED: ${f.error}`);
    }
  } finally {
    closeAllRemotes();
    stopBenchSshd();
    for (const d of fs.readdirSync(BENCH_DIR)) if (d.startsWith("stats-")) fs.rmSync(path.join(BENCH_DIR, d), { recursive: true, force: true });
  }
  results.rows = rows;
  results.totalSeconds = Math.round((Date.now() - t0) / 1000);
  // A partial run (BENCH_ONLY) keeps the other phases' last figures.
  if (!want("P1", "P3")) results.create = previous.create;
  if (!want("P2", "P5")) results.read = previous.read;
  if (!want("P4")) results.downtime = previous.downtime;
  // Rows of phases this run did not measure are carried over (P1 and P3 run together, as do P2 and P5).
  const measured = new Set(rows.map((r) => r.id));
  results.rows = [...rows, ...((previous.rows as Row[] | undefined) ?? []).filter((r) => !measured.has(r.id) && !want(r.id))];
  if (!results.scale) results.scale = previous.scale;
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
  console.log("");
  console.log(`pulumi-virt benchmarks (issue 11): ${RUNS} runs each, medians [min-max]; every baseline measured in this run (${results.totalSeconds} s total)`);
  if (rows.length) printTable(rows);
  if (scale.length) {
    console.log("");
    printScaleTable(scale);
  }
  console.log("");
  console.log("Notes: the connection-per-command baseline is a bench dynamic resource (bench/fixtures/percommand) that opens a NEW");
  console.log("ssh2 connection per command; the @pulumi/command rows (bench/fixtures/command) run only when its plugin is installed.");
  console.log("Handshakes are 'Accepted publickey' lines of a bench-only sshd (port 2299) in each host's namespaces.");
  console.log(`Results: ${out}`);
}

main().catch((e) => {
  console.error(`bench failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
