// P5: SSH round trips (commands counted by the provider's pool, PULUMI_VIRT_STATS_FILE) of `pulumi refresh` of
// N containers on one host, with the per-host coalescing reader (provider/ssh/read-batch.ts) and without it
// (PULUMI_VIRT_READ_BATCH_MS=0: one round trip per container), in alternating order.
// P2: a no-op `pulumi preview` of 50 resources (2 Hosts, 2 Hypervisors, 46 Containers): SSH connections opened
// (provider counters and handshakes on the hosts) and wall time, against a preview of an empty program.
import { acceptedTotal, BenchHost } from "./lab-sshd";
import { clearStats, createStack, hostLabel, log, readStats, reconfigure, RUN_TAG, setStackEnv, StatsStack, Summary, summarize, timed } from "./util";

const MEMORY_MIB = 32;

export interface RefreshResult {
  n: number;
  /** Commands sent to the host during refresh (Host facts + Hypervisor verify + container reads). */
  commandsBatched: Summary;
  commandsUnbatched: Summary;
  /** The most commands any host of the stack received during that refresh (coalescing on). */
  worstHostBatched: Summary;
  wallMsBatched: Summary;
  wallMsUnbatched: Summary;
}

export interface PreviewResult {
  resources: number;
  changeSummary: Record<string, number>;
  connectionsOpened: Summary;
  commands: Summary;
  handshakes: Summary;
  wallMs: Summary;
  emptyWallMs: Summary;
}

function containers(h: BenchHost, from: number, to: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = from; i < to; i++) {
    const name = `pvb${RUN_TAG}r-${h.lab.name}-${i}`;
    out[name] = { host: h.lab.name, name, memory: MEMORY_MIB };
  }
  return out;
}

async function refreshes(s: StatsStack, hosts: BenchHost[], h: BenchHost, n: number, runs: number): Promise<RefreshResult> {
  const cmds = { on: [] as number[], off: [] as number[] };
  const worst: number[] = [];
  const wall = { on: [] as number[], off: [] as number[] };
  for (let r = 0; r < runs; r++) {
    for (const mode of r % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const)) {
      setStackEnv(s.stack, "PULUMI_VIRT_READ_BATCH_MS", mode === "off" ? "0" : undefined);
      clearStats(s);
      const { ms } = await timed(() => s.stack.refresh());
      const stats = readStats(s);
      const st = stats.hosts[hostLabel(h)];
      cmds[mode].push(st?.commands ?? 0);
      if (mode === "on") worst.push(Math.max(0, ...hosts.map((x) => stats.hosts[hostLabel(x)]?.commands ?? 0)));
      wall[mode].push(ms);
      log(`  refresh N=${n} batch ${mode}: ${st?.commands ?? 0} commands on ${h.lab.name}, ${(ms / 1000).toFixed(1)} s`);
    }
  }
  setStackEnv(s.stack, "PULUMI_VIRT_READ_BATCH_MS", undefined);
  return {
    n,
    commandsBatched: summarize(cmds.on),
    commandsUnbatched: summarize(cmds.off),
    worstHostBatched: summarize(worst),
    wallMsBatched: summarize(wall.on),
    wallMsUnbatched: summarize(wall.off),
  };
}

export async function benchRead(hosts: BenchHost[], privateKey: string, runs: number): Promise<{ refresh: RefreshResult[]; preview: PreviewResult }> {
  const [h1, h2] = hosts;
  log("P5: stack with 10 containers on one host");
  const s = await createStack("virt", [h1], containers(h1, 0, 10), privateKey);
  const empty = await createStack("virt", [], {}, privateKey);
  try {
    await s.stack.up();
    const r10 = await refreshes(s, [h1], h1, 10, runs);
    log("P5/P2: 40 containers on h1, 6 on h2 (50 resources with the Hosts and Hypervisors)");
    await reconfigure(s, [h1, h2], { ...containers(h1, 0, 40), ...containers(h2, 0, 6) });
    await s.stack.up();
    const r40 = await refreshes(s, [h1, h2], h1, 40, runs);

    const conns: number[] = [];
    const commands: number[] = [];
    const handshakes: number[] = [];
    const wall: number[] = [];
    const emptyWall: number[] = [];
    let changeSummary: Record<string, number> = {};
    let resources = 0;
    for (let r = 0; r < runs; r++) {
      clearStats(s);
      const before = acceptedTotal(hosts);
      const { ms, value } = await timed(() => s.stack.preview({ json: true }));
      handshakes.push(acceptedTotal(hosts) - before);
      const st = readStats(s).global;
      conns.push(st.connectionsOpened);
      commands.push(st.commands);
      wall.push(ms);
      changeSummary = value.changeSummary;
      resources = Object.values(value.changeSummary).reduce((a, b) => a + b, 0) - 1; // minus the Stack itself
      const e = await timed(() => empty.stack.preview({ json: true }));
      emptyWall.push(e.ms);
      log(`  preview: ${st.connectionsOpened} connections, ${(ms / 1000).toFixed(1)} s; empty program ${(e.ms / 1000).toFixed(1)} s`);
    }
    return {
      refresh: [r10, r40],
      preview: {
        resources,
        changeSummary,
        connectionsOpened: summarize(conns),
        commands: summarize(commands),
        handshakes: summarize(handshakes),
        wallMs: summarize(wall),
        emptyWallMs: summarize(emptyWall),
      },
    };
  } finally {
    log("P2/P5: destroying");
    for (const x of [s, empty]) {
      await x.stack.destroy().catch((e) => log(`destroy failed: ${(e as Error).message.slice(0, 500)}`));
      await x.stack.rm().catch(() => undefined);
    }
  }
}
