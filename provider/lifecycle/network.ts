// The Network lifecycle: check (validate, plan with reasons) → diff (the engine's replace keys) → apply through the
// network driver. Same plan at preview and at apply. A host reboot loses the bridge, its rules and dnsmasq (the
// hosts have no boot-time units from pulumi-virt): refresh reports it as drift in `hostState`, the next up restores.
import { randomUUID } from "node:crypto";
import { networkCapabilitiesFor, NETWORK_INPUT, networkView, type NetworkKey } from "../drivers/net/capabilities";
import { networkSpec, runsDnsmasq } from "../drivers/net/config";
import { applyNetwork, destroyNetwork, NetworkOwnedElsewhereError, readNetwork } from "../drivers/net/driver";
import type { NetworkObserved } from "../drivers/net/types";
import type { HostRef } from "../models/host";
import { networkArgsSchema, type NetworkArgs } from "../models/network";
import { EngineProps, fromEngine, toEngine } from "../models/state";
import { describePlan, planChanges, type Plan } from "../plan/planner";
import { rowKey } from "../plan/types";
import { summarizeCapabilities } from "./hypervisor";
import { Failure, forRefresh, hasUnknowns, isUnknown, nowIso, ownerTokenOf, parseArgs, partialCreate, remoteFor, stepError } from "./support";

/** Keys the lifecycle adds to the checked inputs (not the user's). */
const COMPUTED = ["host", "hostMachineId", "hostState", "plannedAction", "plannedChanges", "observed", "lastApplied", "capabilities", "ownerToken"];

/**
 * Plans of replacements diff decided, for the check the engine then runs for the replacement with no old inputs
 * (it would plan "create"): preview shows "replace" with the reasons. Keyed by what identifies the new resource.
 */
const pendingReplacements = new Map<string, { overall: "replace"; changes: Record<string, string> }>();
const replacementKey = (s: Partial<NetworkState>) => `${s.hostMachineId ?? ""}/${s.bridge}`;

export type NetworkState = NetworkArgs & {
  host: HostRef;
  hostMachineId?: string;
  /** "ok", or what a refresh found missing on the host ("drift: bridge, dnsmasq"). */
  hostState?: string;
  plannedAction?: string;
  plannedChanges?: Record<string, string>;
  observed?: NetworkObserved;
  lastApplied?: { at: string; action: string; changes: Record<string, string>; dnsmasq: string };
  capabilities?: Record<string, string>;
  ownerToken?: string;
};

const what = (s: Pick<NetworkArgs, "bridge">) => `network ${s.bridge}`;

export function planNetwork(olds: NetworkState | undefined, news: NetworkState): Plan {
  if (!olds) return { overall: "none", properties: [], failures: [] };
  const oldView = networkView(olds);
  const newView = networkView(news);
  const names = Object.fromEntries(Object.keys({ ...oldView, ...newView }).map((k) => [k, NETWORK_INPUT[rowKey(k) as NetworkKey] + (k.includes(":") ? `[${k.slice(k.indexOf(":") + 1)}]` : "")]));
  // A Network has no machine to restart ("restart" = dnsmasq restarts) and holds no data: nothing needs an opt-in.
  return planChanges(oldView, newView, networkCapabilitiesFor(olds, news), { allowRestart: true, allowDataLoss: true, names });
}

export async function check(oldsRaw: EngineProps | undefined, news: EngineProps): Promise<{ inputs: EngineProps; failures: Failure[] }> {
  const { value, failures } = parseArgs(networkArgsSchema, news, COMPUTED);
  if (!value) return { inputs: news, failures };
  const inputs: EngineProps = { ...news, ...value, hostState: "ok" };
  if (!news.host || isUnknown(news.host) || hasUnknowns(news)) return { inputs, failures: [] };
  const host = fromEngine<HostRef>(news.host as EngineProps);
  inputs.hostMachineId = host.facts?.machineId;
  const olds = oldsRaw && Object.keys(oldsRaw).length ? fromEngine<NetworkState>(oldsRaw) : undefined;
  const next = fromEngine<NetworkState>(inputs);
  const plan = planNetwork(olds, next);
  const changes = describePlan(plan);
  // A new bridge name leaves the machines on the old bridge behind: preview names them (one read of the old bridge).
  if (olds && olds.bridge !== next.bridge && olds.host) {
    const users = await readNetwork(remoteFor(olds.host), olds.bridge).then((o) => o?.users ?? []).catch(() => []);
    if (users.length) changes.bridge += `; attached now, must move to the new bridge: ${users.join(", ")}`;
  }
  inputs.plannedAction = olds ? plan.overall : "create";
  const pending = olds ? undefined : pendingReplacements.get(replacementKey(fromEngine<NetworkState>(inputs)));
  if (pending) pendingReplacements.delete(replacementKey(fromEngine<NetworkState>(inputs)));
  inputs.plannedChanges = pending?.changes ?? changes;
  if (pending) inputs.plannedAction = pending.overall;
  return { inputs, failures: plan.failures };
}

export async function diff(_id: string, oldsRaw: EngineProps, newsRaw: EngineProps) {
  const plan = planNetwork(fromEngine<NetworkState>(oldsRaw), fromEngine<NetworkState>(newsRaw));
  const replaces = [...new Set(plan.properties.filter((p) => p.action === "replace").map((p) => p.property === "host" ? "host" : NETWORK_INPUT[rowKey(p.property) as NetworkKey].split(".")[0]))];
  if (replaces.length) pendingReplacements.set(replacementKey(fromEngine<NetworkState>(newsRaw)), { overall: "replace", changes: describePlan(plan) });
  return { changes: plan.overall !== "none", replaces, deleteBeforeReplace: false };
}

async function apply(id: string, s: NetworkState, action: string, changes: Record<string, string>): Promise<EngineProps> {
  const token = ownerTokenOf(id);
  const { dnsmasq, observed } = await applyNetwork(remoteFor(s.host), networkSpec(s, token)).catch((e) => {
    // A refusal (not ours) changed nothing: a failed create then leaves nothing to keep in state.
    throw Object.assign(stepError(what(s), s.host, action === "create" ? "create the network" : "change the network", e), { refused: e instanceof NetworkOwnedElsewhereError });
  });
  return toEngine<NetworkState>({
    ...s,
    hostState: "ok",
    ownerToken: token,
    observed,
    lastApplied: { at: nowIso(), action, changes, dnsmasq },
    capabilities: summarizeCapabilities(networkCapabilitiesFor(s, s)),
  });
}

export async function create(inputs: EngineProps) {
  const id = `net-${randomUUID()}`;
  try {
    const s = fromEngine<NetworkState>(inputs);
    return { id, outs: await apply(id, s, s.plannedAction === "replace" ? "replace" : "create", s.plannedAction === "replace" ? s.plannedChanges ?? {} : {}) };
  } catch (e) {
    if ((e as { refused?: boolean }).refused) throw e;
    // A create can fail after the bridge exists (tagged with this id's token): the engine keeps the resource, so
    // the next up finishes it as an update, or destroy removes it, instead of an orphan no new token may take.
    throw partialCreate(e as Error, id, { ...inputs, hostState: "drift: create did not finish", ownerToken: ownerTokenOf(id) });
  }
}

export async function update(id: string, oldsRaw: EngineProps, newsRaw: EngineProps) {
  const olds = fromEngine<NetworkState>(oldsRaw);
  const news = fromEngine<NetworkState>(newsRaw);
  const plan = planNetwork(olds, news);
  if (plan.failures.length) throw new Error(plan.failures.map((f) => `${f.property}: ${f.reason}`).join("\n"));
  return { outs: await apply(id, news, plan.overall, describePlan(plan)) };
}

/** What the host lacks of the network as specified (empty: it matches). */
export function missingOnHost(s: NetworkArgs, o: NetworkObserved): string[] {
  const missing: string[] = [];
  if (!o.bridgePresent) return ["bridge", ...(runsDnsmasq(s) ? ["dnsmasq"] : []), ...(s.uplink !== "none" ? ["firewall rules"] : [])];
  if (s.ipv4 && !o.addresses.includes(s.ipv4.address)) missing.push("IPv4 address");
  if (s.ipv6 && !o.addresses.includes(s.ipv6.address)) missing.push("IPv6 address");
  if (s.vlan && o.vlanDevices.length === 0) missing.push("VLAN device");
  if (s.uplink !== "none" && o.firewallRules === 0) missing.push("firewall rules");
  if (runsDnsmasq(s) && !o.dnsmasqPid) missing.push("dnsmasq");
  return missing;
}

export async function read(id: string, props: EngineProps) {
  const s = fromEngine<NetworkState>(props);
  const o = await readNetwork(forRefresh(remoteFor(s.host)), s.bridge).catch((e) => {
    throw stepError(what(s), s.host, "read the network", e);
  });
  if (!o) throw stepError(what(s), s.host, "read the network", new Error("the host's answer had no state"));
  if (o.owner && o.owner !== `pulumi-virt:${ownerTokenOf(id)}`) {
    throw new Error(`${what(s)} on the host belongs to another pulumi-virt resource or to no pulumi-virt resource (its tag: ${o.owner}); refresh did not take it`);
  }
  const missing = missingOnHost(s, o);
  const hostState = missing.length ? `drift: ${missing.join(", ")} missing (e.g. after a host reboot); the next up restores them` : "ok";
  const next = toEngine<NetworkState>({ ...s, observed: o, hostState });
  const { observed: _o, lastApplied: _l, ownerToken: _t, capabilities: _c, ...inputs } = next;
  return { id, props: next, inputs };
}

export async function del(id: string, props: EngineProps) {
  const s = fromEngine<NetworkState>(props);
  await destroyNetwork(remoteFor(s.host), s.bridge, ownerTokenOf(id)).catch((e) => {
    throw stepError(what(s), s.host, "delete the network", e);
  });
}
