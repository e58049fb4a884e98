// Shared bits of the benchmarks: summaries of repeated runs, stack handling, provider-side SSH counters.
import * as fs from "node:fs";
import * as path from "node:path";
import { TestStack } from "../test/e2e/harness";
import { BENCH_DIR, BenchHost, benchConnection } from "./lab-sshd";

export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function summarize(runs: number[]): Summary {
  const s = [...runs].sort((a, b) => a - b);
  const m = s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { median: m, min: s[0], max: s[s.length - 1], runs };
}

/** Ratio of medians, with the spread of per-run ratios (runs are paired by index). */
export function ratio(a: Summary, b: Summary): Summary {
  const per = a.runs.map((x, i) => x / b.runs[i]);
  return { ...summarize(per), median: a.median / b.median };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

export function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A short random tag so container names are unique per bench run. */
export const RUN_TAG = Math.random().toString(36).slice(2, 6);

/** Per-stack directory the dynamic-provider process writes its pool counters to (PULUMI_VIRT_STATS_FILE). */
export interface StatsStack {
  stack: TestStack;
  statsDir: string;
}

export interface HostCounters {
  connectionsOpened: number;
  commands: number;
  channelsOpened: number;
  sessionsOpened: number;
  reconnects: number;
}

/** TestStack keeps its environment private; the bench changes PULUMI_VIRT_* knobs between commands. */
function stackEnv(s: TestStack): NodeJS.ProcessEnv {
  return (s as unknown as { env: NodeJS.ProcessEnv }).env;
}

export function setStackEnv(s: TestStack, key: string, value: string | undefined): void {
  const env = stackEnv(s);
  if (value === undefined) delete env[key];
  else env[key] = value;
}

export async function createStack(program: string, hosts: BenchHost[], containers: Record<string, unknown>, privateKey: string): Promise<StatsStack> {
  const statsDir = fs.mkdtempSync(path.join(BENCH_DIR, "stats-"));
  const stack = await TestStack.create({
    program: path.resolve(__dirname, "../../bench/fixtures", program),
    config: configFor(hosts, containers),
    secrets: { privateKey },
    env: { PULUMI_VIRT_STATS_FILE: path.join(statsDir, "{pid}.json") },
  });
  return { stack, statsDir };
}

export function configFor(hosts: BenchHost[], containers: Record<string, unknown>): Record<string, string> {
  return {
    hosts: JSON.stringify(Object.fromEntries(hosts.map((h) => [h.lab.name, benchConnection(h)]))),
    containers: JSON.stringify(containers),
  };
}

export async function reconfigure(s: StatsStack, hosts: BenchHost[], containers: Record<string, unknown>): Promise<void> {
  for (const [k, v] of Object.entries(configFor(hosts, containers))) await s.stack.setConfig(k, v);
}

export function clearStats(s: StatsStack): void {
  for (const f of fs.readdirSync(s.statsDir)) fs.rmSync(path.join(s.statsDir, f));
}

/** Counters summed over every provider process since clearStats, per host label and in total. */
export function readStats(s: StatsStack): { global: HostCounters; hosts: Record<string, HostCounters> } {
  const empty = (): HostCounters => ({ connectionsOpened: 0, commands: 0, channelsOpened: 0, sessionsOpened: 0, reconnects: 0 });
  const out = { global: empty(), hosts: {} as Record<string, HostCounters> };
  for (const f of fs.readdirSync(s.statsDir)) {
    const j = JSON.parse(fs.readFileSync(path.join(s.statsDir, f), "utf8"));
    for (const k of Object.keys(out.global) as (keyof HostCounters)[]) out.global[k] += j.global[k] ?? 0;
    for (const [label, c] of Object.entries(j.hosts as Record<string, HostCounters>)) {
      const h = (out.hosts[label] ??= empty());
      for (const k of Object.keys(h) as (keyof HostCounters)[]) h[k] += c[k] ?? 0;
    }
  }
  return out;
}

/** The pool's label for a bench host ("user@host:port"). */
export function hostLabel(h: BenchHost): string {
  return `${h.lab.user}@${h.lab.address}:${h.port}`;
}
