// The StoragePool lifecycle: check (validate, plan with reasons) → diff → apply through the pool driver. A host
// reboot unmounts a btrfs/xfs pool's image: refresh reports it as drift in `hostState`, the next up mounts it again.
import { randomUUID } from "node:crypto";
import { POOL_CAPABILITIES, POOL_INPUT, poolView, type PoolKey } from "../drivers/pool/capabilities";
import { applyPool, destroyPool, PoolOwnedElsewhereError, readPool, type PoolObserved } from "../drivers/pool/driver";
import type { HostRef } from "../models/host";
import { poolImage, poolPath, storagePoolArgsSchema, type StoragePoolArgs } from "../models/storage-pool";
import { EngineProps, fromEngine, toEngine } from "../models/state";
import { describePlan, planChanges, type Plan } from "../plan/planner";
import { summarizeCapabilities } from "./hypervisor";
import { Failure, forRefresh, hasUnknowns, isUnknown, nowIso, ownerTokenOf, parseArgs, partialCreate, remoteFor, stepError } from "./support";

const COMPUTED = ["host", "hostMachineId", "hostState", "plannedAction", "plannedChanges", "observed", "lastApplied", "capabilities", "capacityMiB", "freeMiB"];

/**
 * Plans of replacements diff decided, for the check the engine then runs for the replacement with no old inputs
 * (it would plan "create"): preview shows "replace" with the reasons. Keyed by what identifies the new resource.
 */
const pendingReplacements = new Map<string, { overall: "replace"; changes: Record<string, string> }>();
const replacementKey = (s: Partial<StoragePoolState>) => `${s.hostMachineId ?? ""}/${s.name}/${s.path}`;

export type StoragePoolState = StoragePoolArgs & {
  host: HostRef;
  path: string;
  hostMachineId?: string;
  hostState?: string;
  plannedAction?: string;
  plannedChanges?: Record<string, string>;
  observed?: PoolObserved;
  capacityMiB?: number;
  freeMiB?: number;
  lastApplied?: { at: string; action: string; changes: Record<string, string>; outcome: string };
  capabilities?: Record<string, string>;
};

const what = (s: StoragePoolArgs) => `storage pool ${s.name}`;
const imageOf = (s: StoragePoolState) => (s.type === "dir" ? undefined : poolImage(s.path));

export function planPool(olds: StoragePoolState | undefined, news: StoragePoolState): Plan {
  if (!olds) return { overall: "none", properties: [], failures: [] };
  const names = Object.fromEntries(Object.entries(POOL_INPUT));
  // Replacing a pool is refused at delete while it holds anything, so no data-loss opt-in is needed here.
  return planChanges(poolView(olds), poolView(news), POOL_CAPABILITIES, { allowRestart: true, allowDataLoss: true, names });
}

export async function check(oldsRaw: EngineProps | undefined, news: EngineProps): Promise<{ inputs: EngineProps; failures: Failure[] }> {
  const { value, failures } = parseArgs(storagePoolArgsSchema, news, COMPUTED);
  if (!value) return { inputs: news, failures };
  const inputs: EngineProps = { ...news, ...value, path: poolPath(value), hostState: "ok" };
  if (!news.host || isUnknown(news.host) || hasUnknowns(news)) return { inputs, failures: [] };
  inputs.hostMachineId = fromEngine<HostRef>(news.host as EngineProps).facts?.machineId;
  const olds = oldsRaw && Object.keys(oldsRaw).length ? fromEngine<StoragePoolState>(oldsRaw) : undefined;
  const plan = planPool(olds, fromEngine<StoragePoolState>(inputs));
  inputs.plannedAction = olds ? plan.overall : "create";
  const pending = olds ? undefined : pendingReplacements.get(replacementKey(fromEngine<StoragePoolState>(inputs)));
  if (pending) pendingReplacements.delete(replacementKey(fromEngine<StoragePoolState>(inputs)));
  inputs.plannedChanges = pending?.changes ?? describePlan(plan);
  if (pending) inputs.plannedAction = pending.overall;
  return { inputs, failures: plan.failures };
}

export async function diff(_id: string, oldsRaw: EngineProps, newsRaw: EngineProps) {
  const olds = fromEngine<StoragePoolState>(oldsRaw);
  const news = fromEngine<StoragePoolState>(newsRaw);
  const plan = planPool(olds, news);
  const replaces = plan.properties.filter((p) => p.action === "replace").map((p) => POOL_INPUT[p.property as PoolKey]);
  if (replaces.length) pendingReplacements.set(replacementKey(news), { overall: "replace", changes: describePlan(plan) });
  // The same path cannot hold the old and the new pool at once.
  return { changes: plan.overall !== "none", replaces, deleteBeforeReplace: replaces.length > 0 && olds.path === news.path };
}

async function apply(id: string, s: StoragePoolState, action: string, changes: Record<string, string>): Promise<EngineProps> {
  const { outcome, observed } = await applyPool(remoteFor(s.host), { type: s.type, path: s.path, image: imageOf(s), sizeMiB: s.size, token: ownerTokenOf(id) }).catch((e) => {
    // A refusal (not ours) changed nothing: a failed create then leaves nothing to keep in state.
    throw Object.assign(stepError(what(s), s.host, action === "create" ? "create the pool" : "change the pool", e), { refused: e instanceof PoolOwnedElsewhereError });
  });
  return toEngine<StoragePoolState>({
    ...s,
    hostState: "ok",
    observed,
    capacityMiB: observed.capacityMiB,
    freeMiB: observed.freeMiB,
    lastApplied: { at: nowIso(), action, changes, outcome },
    capabilities: summarizeCapabilities(POOL_CAPABILITIES),
  });
}

export async function create(inputs: EngineProps) {
  const id = `pool-${randomUUID()}`;
  try {
    const s = fromEngine<StoragePoolState>(inputs);
    return { id, outs: await apply(id, s, s.plannedAction === "replace" ? "replace" : "create", s.plannedAction === "replace" ? s.plannedChanges ?? {} : {}) };
  } catch (e) {
    if ((e as { refused?: boolean }).refused) throw e;
    // What a failed create left (a marked directory, an image) is this id's: the engine keeps the resource so the
    // next up finishes it, or destroy removes it.
    throw partialCreate(e as Error, id, { ...inputs, hostState: "drift: create did not finish" });
  }
}

export async function update(id: string, oldsRaw: EngineProps, newsRaw: EngineProps) {
  const plan = planPool(fromEngine<StoragePoolState>(oldsRaw), fromEngine<StoragePoolState>(newsRaw));
  if (plan.failures.length) throw new Error(plan.failures.map((f) => `${f.property}: ${f.reason}`).join("\n"));
  return { outs: await apply(id, fromEngine<StoragePoolState>(newsRaw), plan.overall, describePlan(plan)) };
}

export async function read(id: string, props: EngineProps) {
  const s = fromEngine<StoragePoolState>(props);
  const o = await readPool(forRefresh(remoteFor(s.host)), s.path, imageOf(s)).catch((e) => {
    throw stepError(what(s), s.host, "read the pool", e);
  });
  const token = ownerTokenOf(id);
  const missing: string[] = [];
  if (!o.present) missing.push("directory");
  else if (s.type !== "dir" && !o.mounted) missing.push("mount of its image");
  else if (o.owner !== token) {
    if (o.owner) throw new Error(`${what(s)}: ${s.path} on the host belongs to another pulumi-virt resource; refresh did not take it`);
    missing.push("owner marker");
  }
  const hostState = missing.length ? `drift: ${missing.join(", ")} missing (e.g. after a host reboot); the next up restores them` : "ok";
  const next = toEngine<StoragePoolState>({ ...s, observed: o, hostState, ...(o.mounted || s.type === "dir" ? { capacityMiB: o.capacityMiB, freeMiB: o.freeMiB } : {}) });
  const { observed: _o, lastApplied: _l, capabilities: _c, capacityMiB: _m, freeMiB: _f, ...inputs } = next;
  return { id, props: next, inputs };
}

export async function del(id: string, props: EngineProps) {
  const s = fromEngine<StoragePoolState>(props);
  await destroyPool(remoteFor(s.host), s.path, imageOf(s), ownerTokenOf(id)).catch((e) => {
    throw stepError(what(s), s.host, "delete the pool", e);
  });
}
