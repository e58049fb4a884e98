// P6's table: one line per (hosts, --parallel, operation), then growth from the smallest to the largest fleet and
// the goals that must hold at fleet size (handshakes = hosts, no-op preview without SSH, refresh <= 2 round trips
// per host).
import { SCALE_OPS, ScaleRun } from "./p6-scale";

export interface ScaleGoal {
  goal: string;
  value: string;
  met: boolean;
}

export function scaleGoals(runs: ScaleRun[]): ScaleGoal[] {
  const out: ScaleGoal[] = [];
  for (const r of runs) {
    const at = `${r.hosts} hosts, --parallel ${r.parallel}`;
    for (const op of ["up", "refresh", "resize", "destroy"] as const) {
      const f = r.ops[op];
      if (f) out.push({ goal: `${op}: SSH handshakes = hosts (${at})`, value: String(f.handshakes), met: f.handshakes === r.hosts });
    }
    const p = r.ops.preview;
    if (p) out.push({ goal: `no-op preview: 0 SSH connections (${at})`, value: `${p.connectionsOpened} connections, ${p.handshakes} handshakes`, met: p.connectionsOpened === 0 && p.handshakes === 0 });
    const f = r.ops.refresh;
    if (f) out.push({ goal: `refresh: <= 2 round trips per host (${at})`, value: `max ${f.roundTripsPerHostMax}`, met: f.roundTripsPerHostMax <= 2 });
    const w = r.ops.refreshWide;
    if (w) out.push({ goal: `refresh: <= 2 round trips per host (${r.hosts} hosts, --parallel ${r.resources + 1})`, value: `max ${w.roundTripsPerHostMax}`, met: w.roundTripsPerHostMax <= 2 });
  }
  return out;
}

export function printScaleTable(runs: ScaleRun[]): void {
  const lines = [["hosts", "machines", "parallel", "op", "wall s", "handshakes", "round trips", "max/host", "remote cmds", "provider RSS MiB", "provider CPU s", "engine summary"]];
  for (const r of runs) {
    for (const op of SCALE_OPS) {
      const f = r.ops[op];
      if (!f) continue;
      lines.push([
        String(r.hosts), String(r.hosts * r.containersPerHost), op === "refreshWide" ? String(r.resources + 1) : r.parallel, op === "refreshWide" ? "refresh" : op, (f.wallMs / 1000).toFixed(1), String(f.handshakes), String(f.roundTrips),
        String(f.roundTripsPerHostMax), String(f.remoteCommands), f.providerPeakRssMiB.toFixed(0), f.providerCpuSec.toFixed(1), f.changes,
      ]);
    }
  }
  console.log(`P6: one program, H hosts x (1 lxc Hypervisor + ${runs[0]?.containersPerHost ?? "?"} busybox Containers), scale lab (lab/scale.sh)`);
  const w = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  for (const l of lines) console.log(l.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd());

  const base = runs.filter((r) => r.parallel === "default").sort((a, b) => a.hosts - b.hosts);
  if (base.length >= 2) {
    const [small, large] = [base[0], base[base.length - 1]];
    const k = large.hosts / small.hosts;
    console.log("");
    console.log(`growth from ${small.hosts} to ${large.hosts} hosts (x${k} hosts and machines), default --parallel:`);
    for (const op of SCALE_OPS) {
      const a = small.ops[op];
      const b = large.ops[op];
      if (!a || !b) continue;
      const x = (p: number, q: number) => (p === 0 ? (q === 0 ? "=" : "n/a") : `x${(q / p).toFixed(2)}`);
      const slope = (b.providerPeakRssMiB - a.providerPeakRssMiB) / (large.hosts - small.hosts);
      console.log(
        `  ${op.padEnd(8)} wall ${x(a.wallMs, b.wallMs)}, round trips ${x(a.roundTrips, b.roundTrips)}, max/host ${a.roundTripsPerHostMax} -> ${b.roundTripsPerHostMax}, ` +
          `provider RSS ${a.providerPeakRssMiB.toFixed(0)} -> ${b.providerPeakRssMiB.toFixed(0)} MiB (${slope.toFixed(2)} MiB per host), CPU ${x(a.providerCpuSec, b.providerCpuSec)}`,
      );
    }
  }
  console.log("");
  for (const g of scaleGoals(runs)) console.log(`  ${g.met ? "yes" : "NO "}  ${g.goal}: ${g.value}`);
}
