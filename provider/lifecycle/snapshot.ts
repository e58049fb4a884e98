// The Snapshot resource's lifecycle: check (refusals and the plan preview shows) → take / restore / delete through
// the backend's snapshot driver (drivers/contract.ts SnapshotDriver). A snapshot addresses only the machine whose
// owner token it was given, and only snapshots made with that token.
import { randomUUID } from "node:crypto";
import { backendFor } from "../drivers/registry";
import type { MachineDriver } from "../drivers/contract";
import type { HypervisorRef } from "../models/hypervisor";
import { hostSnapshotName, snapshotArgsSchema, SnapshotState } from "../models/snapshot";
import { EngineProps, fromEngine, MachineState, toEngine } from "../models/state";
import { planSnapshot } from "../plan/snapshot";
import { sameValue } from "../plan/planner";
import { NO_SNAPSHOTS } from "./safety-net";
import { Failure, hasUnknowns, hypervisorRefFailures, isUnknown, nowIso, parseArgs, remoteFor, stepError } from "./support";

const NON_ARGS = ["hypervisor", "machineName", "machineToken", "plannedAction", "plannedChanges", "lastApplied", "hostName", "takenAt", "sizeBytes", "covers"];

function machineDriver(kind: HypervisorRef["kind"]): MachineDriver<MachineState, string, unknown> | undefined {
  const b = backendFor(kind);
  return b.container ?? b.guest;
}

function nounOf(d: MachineDriver<MachineState, string, unknown> | undefined): string {
  return d?.resource === "Container" ? "container" : "guest";
}

function hostOf(hv: HypervisorRef): string {
  return `host "${hv.host.facts.hostname}"`;
}

export class SnapshotLifecycle {
  async check(oldsRaw: EngineProps, newsRaw: EngineProps): Promise<{ inputs: EngineProps; failures: Failure[] }> {
    const { value, failures } = parseArgs(snapshotArgsSchema, newsRaw, NON_ARGS);
    const out: Failure[] = [...failures];
    const inputs: EngineProps = value ? { ...newsRaw, ...(value as EngineProps) } : newsRaw;
    const hvRaw = newsRaw.hypervisor;
    if (hvRaw === undefined || isUnknown(hvRaw)) return { inputs, failures: out };
    const refFailures = hypervisorRefFailures(hvRaw);
    if (refFailures.length) return { inputs, failures: [...out, ...refFailures.map((f) => ({ ...f, property: "machine" }))] };
    const hv = fromEngine<HypervisorRef>(hvRaw as EngineProps);
    const d = machineDriver(hv.kind);
    if (!d?.snapshots) {
      out.push({
        property: "machine",
        reason: `a ${d?.resource ?? "machine"} on a ${hv.kind} hypervisor has no snapshots in pulumi-virt: ${NO_SNAPSHOTS[hv.kind] ?? "the backend offers none"}. ` +
          `Snapshots are for Containers (lxc) and full-virtualization Guests (kvm); remove this Snapshot.`,
      });
      return { inputs, failures: out };
    }
    if (!value || hasUnknowns(newsRaw)) return { inputs, failures: out };
    const news = fromEngine<SnapshotState>(inputs);
    const hasOld = !!oldsRaw && typeof oldsRaw.name === "string";
    if (hasOld) {
      const plan = planSnapshot(fromEngine<SnapshotState>(oldsRaw), news, nounOf(d));
      news.plannedAction = plan.overall;
      news.plannedChanges = plan.changes;
    } else {
      news.plannedAction = "create";
      news.plannedChanges = {};
    }
    return { inputs, failures: out };
  }

  async diff(_id: string, oldsRaw: EngineProps, newsRaw: EngineProps) {
    const olds = fromEngine<SnapshotState>(oldsRaw);
    const news = fromEngine<SnapshotState>(newsRaw);
    const replaces: string[] = [];
    if (olds.name !== news.name) replaces.push("name");
    const sameHost = sameValue(olds.hypervisor?.host?.facts?.machineId, news.hypervisor?.host?.facts?.machineId);
    if (olds.machineName !== news.machineName || olds.machineToken !== news.machineToken || !sameHost) replaces.push("machine");
    return { changes: replaces.length > 0 || olds.restore !== news.restore || !sameValue(olds.hypervisor?.host?.connection, news.hypervisor?.host?.connection), replaces, deleteBeforeReplace: false };
  }

  private driver(s: SnapshotState) {
    const d = machineDriver(s.hypervisor.kind);
    if (!d?.snapshots) throw new Error(`a ${s.hypervisor.kind} machine has no snapshots`);
    return { snaps: d.snapshots, noun: nounOf(d) };
  }

  async create(inputsRaw: EngineProps) {
    const s = fromEngine<SnapshotState>(inputsRaw);
    const { snaps, noun } = this.driver(s);
    const hostName = hostSnapshotName(s.name);
    const info = await snaps.take(remoteFor(s.hypervisor.host), s.machineName, hostName, s.machineToken).catch((e: unknown) => {
      throw stepError(`snapshot "${s.name}" of ${noun} "${s.machineName}"`, s.hypervisor.host, "take", e);
    });
    const outs: SnapshotState = { ...s, hostName, takenAt: info.takenAt, sizeBytes: info.sizeBytes, covers: info.covers, lastApplied: { at: nowIso(), action: "create", changes: {} } };
    return { id: `snap-${randomUUID()}`, outs: toEngine(outs) };
  }

  async read(id: string, propsRaw: EngineProps) {
    const s = fromEngine<SnapshotState>(propsRaw);
    const { snaps } = this.driver(s);
    const hostName = s.hostName ?? hostSnapshotName(s.name);
    const all = await snaps.list(remoteFor(s.hypervisor.host), s.machineName, s.machineToken, hostName).catch((e: Error) => {
      // The machine is gone (a kvm guest takes its snapshots with it): so is the snapshot.
      if (/does not exist/.test(e.message)) return [];
      throw e;
    });
    const info = all.find((i) => i.name === hostName);
    if (!info) return { id: undefined as unknown as string, props: undefined as unknown as EngineProps };
    return { id, props: toEngine<SnapshotState>({ ...s, takenAt: info.takenAt, sizeBytes: info.sizeBytes, covers: info.covers }) };
  }

  async update(_id: string, oldsRaw: EngineProps, newsRaw: EngineProps) {
    const olds = fromEngine<SnapshotState>(oldsRaw);
    const news = fromEngine<SnapshotState>(newsRaw);
    const { snaps, noun } = this.driver(news);
    const plan = planSnapshot(olds, news, noun);
    const kept = { hostName: olds.hostName, takenAt: olds.takenAt, sizeBytes: olds.sizeBytes, covers: olds.covers };
    let stoppedBy: string | undefined;
    if (plan.overall === "restart") {
      const hostName = olds.hostName ?? hostSnapshotName(olds.name);
      stoppedBy = await snaps.restore(remoteFor(news.hypervisor.host), news.machineName, hostName, news.machineToken).catch((e: unknown) => {
        throw stepError(`${noun} "${news.machineName}"`, news.hypervisor.host, `restore of snapshot "${news.name}"`, e);
      });
    }
    const lastApplied = { at: nowIso(), action: plan.overall, changes: plan.changes, ...(stoppedBy ? { stoppedBy } : {}) };
    return { outs: toEngine<SnapshotState>({ ...news, ...kept, lastApplied }) };
  }

  async delete(_id: string, propsRaw: EngineProps) {
    const s = fromEngine<SnapshotState>(propsRaw);
    const { snaps, noun } = this.driver(s);
    const hostName = s.hostName ?? hostSnapshotName(s.name);
    const r = await snaps.remove(remoteFor(s.hypervisor.host), s.machineName, hostName, s.machineToken).catch((e: unknown) => {
      throw stepError(`snapshot "${s.name}" of ${noun} "${s.machineName}"`, s.hypervisor.host, "delete", e);
    });
    if (r === "absent") console.warn(`snapshot "${s.name}" of ${noun} "${s.machineName}" on ${hostOf(s.hypervisor)} was already gone`);
  }
}
