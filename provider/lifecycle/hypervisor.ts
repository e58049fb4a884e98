// The Hypervisor lifecycle: verifies (optionally installs) a backend's stack on a Host through the registry's
// host driver, and publishes the backend's effective capability table. Never removes anything.
import { randomUUID } from "node:crypto";
import { backendFor } from "../drivers/registry";
import { readHostAllocations } from "../drivers/host/allocations";
import { DEFAULT_BRIDGE, DEFAULT_OVERCOMMIT, DEFAULT_STORAGE_DIR, effectiveOvercommit, HypervisorArgs, hypervisorArgsSchema, HypervisorKind, Overcommit } from "../models/hypervisor";
import type { HostRef } from "../models/host";
import { EngineProps, fromEngine, toEngine } from "../models/state";
import { hypervisorRules } from "../plan/rules";
import { sameValue } from "../plan/planner";
import type { CapabilityTable, ChangeRule } from "../plan/types";
import { capacityOf, committedOf, freeOf, limitOf, type Amounts } from "../plan/capacity";
import { Failure, forRefresh, hasUnknowns, isUnknown, parseArgs, remoteFor, stepError } from "./support";

type HypervisorState = HypervisorArgs & {
  host: HostRef;
  emulated?: boolean;
  bridge: string;
  storageDir: string;
  version?: string;
  details?: Record<string, unknown>;
  capabilities?: Record<string, string>;
  capacity?: Amounts;
  committed?: Amounts;
  free?: Amounts;
  overcommit: Overcommit;
};

/** The effective table of the machines a hypervisor of this kind runs (what the planner uses). */
export function capabilitiesOf(kind: HypervisorKind): CapabilityTable {
  const b = backendFor(kind);
  const d = b.container ?? b.guest;
  return d ? d.capabilities(undefined) : {};
}

/** A reviewer-readable summary of what changes live, with a restart, or by replacement. */
export function summarizeCapabilities(table: CapabilityTable): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [prop, cap] of Object.entries(table)) {
    const parts: string[] = [];
    const fmt = (label: string, r: ChangeRule | undefined) => r && parts.push(`${label}: ${r.action}${r.action === "live" ? ` (${r.mechanism})` : ""}`);
    fmt("grow", cap.grow);
    fmt("shrink", cap.shrink);
    fmt("change", cap.change);
    if (cap.liveUpTo) parts.push(`live up to ${cap.liveUpTo}, beyond: ${cap.beyondLimit?.action ?? "restart"}`);
    out[prop] = parts.join("; ");
  }
  return out;
}

export async function check(_olds: EngineProps, news: EngineProps): Promise<{ inputs: EngineProps; failures: Failure[] }> {
  const { value, failures } = parseArgs(hypervisorArgsSchema, news, ["host", "emulated"]);
  if (!value) return { inputs: news, failures };
  const inputs: EngineProps = { ...news, ...value };
  const hostRaw = news.host;
  if (!hostRaw || isUnknown(hostRaw) || hasUnknowns(news)) return { inputs, failures: [] };
  const host = fromEngine<HostRef>(hostRaw as EngineProps);
  // Emulation is an explicit, visible opt-in: it shows in the checked inputs (preview) and in outputs.
  inputs.emulated = value.kind === "kvm" && !host.facts.kvmUsable;
  inputs.bridge = value.bridge ?? DEFAULT_BRIDGE[value.kind];
  inputs.storageDir = value.storageDir ?? DEFAULT_STORAGE_DIR[value.kind];
  inputs.overcommit = effectiveOvercommit(value.kind, value.overcommit);
  return { inputs, failures: hypervisorRules(value.kind, host.facts, value.allowEmulation) };
}

export async function diff(_id: string, oldsRaw: EngineProps, newsRaw: EngineProps) {
  const olds = fromEngine<Partial<HypervisorState>>(oldsRaw);
  const news = fromEngine<Partial<HypervisorState>>(newsRaw);
  const replaces: string[] = [];
  if (olds.kind !== news.kind) replaces.push("kind");
  const a = olds.host?.facts;
  const b = news.host?.facts;
  if (a?.machineId && b?.machineId && (a.machineId !== b.machineId || a.hostname !== b.hostname)) replaces.push("host");
  const keys = ["kind", "allowEmulation", "install", "bridge", "storageDir", "host", "emulated"];
  // State from before overcommit existed had the kind's default.
  const oldOvercommit = olds.overcommit ?? (olds.kind ? DEFAULT_OVERCOMMIT[olds.kind] : undefined);
  const changes = keys.some((k) => !sameValue(oldsRaw[k], newsRaw[k])) || !sameValue(oldOvercommit, news.overcommit);
  return { changes, replaces, deleteBeforeReplace: false };
}

async function apply(s: HypervisorState, refresh = false): Promise<EngineProps> {
  const backend = backendFor(s.kind);
  const remote = refresh ? forRefresh(remoteFor(s.host)) : remoteFor(s.host);
  // A refresh asks for the machines' sizes with its first read, so they share the host's refresh round trip.
  const early = refresh ? readHostAllocations(remote, s.host.facts, [s.storageDir], { refresh }) : undefined;
  early?.catch(() => undefined);
  let verified: { version: string; details: Record<string, unknown> };
  if (refresh) backend.host.prefetchForRefresh?.(remote);
  try {
    verified = await backend.host.verify(remote);
  } catch (e) {
    if (!s.install) throw stepError(`${s.kind} hypervisor`, s.host, "verify the virtualization stack", e);
    await backend.host.install(remote);
    verified = await backend.host.verify(remote);
  }
  // Not on refresh: a read changes nothing on the host.
  if (!refresh) await backend.host.prepare(remote, s.storageDir);
  const overcommit = s.overcommit ?? DEFAULT_OVERCOMMIT[s.kind];
  const host = await (early ?? readHostAllocations(remote, s.host.facts, [s.storageDir]));
  const capacity = capacityOf(host, s.storageDir);
  const committed = committedOf(host.machines, host, s.storageDir);
  return toEngine<HypervisorState>({
    ...s,
    version: verified.version,
    details: verified.details,
    capabilities: summarizeCapabilities(capabilitiesOf(s.kind)),
    overcommit,
    capacity,
    committed,
    free: freeOf(limitOf(capacity, overcommit), committed),
  });
}

export async function create(inputs: EngineProps) {
  const s = fromEngine<HypervisorState>(inputs);
  return { id: `${s.kind}-${randomUUID()}`, outs: await apply(s) };
}

export async function read(id: string, props: EngineProps) {
  return { id, props: await apply({ ...fromEngine<HypervisorState>(props), install: false }, true) };
}

export async function update(_id: string, _olds: EngineProps, news: EngineProps) {
  return { outs: await apply(fromEngine<HypervisorState>(news)) };
}

export async function del(_id: string, _props: EngineProps) {
  // The virtualization stack is left installed: other guests or tools may use it.
}
