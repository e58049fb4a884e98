// Container: an LXC system container. Plans every change (live / restart / replace) at check time,
// shows it in preview, and applies exactly that plan on update.
import { randomBytes, randomUUID } from "node:crypto";
import { containerArgsSchema, ContainerArgs } from "../../models/container";
import type { HypervisorRef } from "../../models/hypervisor";
import type { ConnectionArgs } from "../../ssh/connection";
import { containerRules } from "../../plan/rules";
import { describePlan, Plan, planChanges, PlanValue, sameValue } from "../../plan/planner";
import type { CapabilityTable } from "../../plan/types";
import type * as Lxc from "../../drivers/lxc";
import { hostChanged, readContainerCoalesced } from "../../drivers/lxc";
import { recordPlan, diffFromPlan, replacementKey } from "./planned";
import { hasUnknowns, hypervisorRefFailures, isUnknown, nowIso, ownedElsewhereMessage, ownerTokenOf, parseArgs, partialCreate, remoteFor, stepError } from "./common";

type Props = Record<string, any>;
const NON_ARGS = ["hypervisor", "plannedChanges", "plannedAction", "observed", "lastApplied", "connection", "containerId", "ownerToken", "ownerKey"];

function lxc(): typeof Lxc {
  return require("../../drivers/lxc");
}

/** Capability key -> the input property a user edits (for messages and Pulumi replace keys). */
const INPUT_NAME: Record<string, string> = {
  memoryMiB: "memory", swapMiB: "swap", diskSizeMiB: "disk", diskFstype: "disk", diskBacking: "disk", hostIdentity: "hypervisor",
};
/** Capability key -> what the user edits, as shown in plans and messages. */
export const DISPLAY_NAME: Record<string, string> = {
  memoryMiB: "memory", swapMiB: "swap", diskSizeMiB: "disk.size", diskFstype: "disk.fstype", diskBacking: "disk", hostIdentity: "hypervisor (host)",
};
export function inputNameOf(key: string): string {
  return INPUT_NAME[key] ?? key;
}

/** Rows the glue owns: properties that are about where/what the container is rather than how LXC applies it. */
const GLUE_CAPS: CapabilityTable = {
  // Changing the template is an explicit request to rebuild the rootfs: a replacement, shown in preview, not gated.
  template: { change: { action: "replace", reason: "the template builds the rootfs at create time: a new container is built from it (the old rootfs is discarded)" } },
  osFamily: { change: { action: "replace", reason: "a different OS needs a new container (it shares the host's kernel)" } },
  diskFstype: { change: { action: "replace", reason: "changing the root filesystem type reformats the disk", destroysData: true } },
  diskBacking: { change: { action: "replace", reason: "moving between a directory and a loop-image root filesystem rebuilds the rootfs", destroysData: true } },
  hostIdentity: { change: { action: "replace", reason: "the container moves to another host: a new container is created there and the old one destroyed" } },
};

/** Plan keys whose values can carry secrets: rendered as [secret] in plans, lastApplied and failures. */
export const SECRET_KEYS = ["environment"];

export function capabilitiesFor(fstype: string | undefined): CapabilityTable {
  const d = lxc() as any;
  const base: CapabilityTable = typeof d.capabilitiesFor === "function" ? d.capabilitiesFor(fstype ?? "xfs") : d.lxcCapabilities;
  return { ...base, ...GLUE_CAPS };
}

/** The flat view the planner compares. Keys are capability keys. */
export function planView(p: Props): Record<string, PlanValue> {
  const hv = p.hypervisor as HypervisorRef | undefined;
  return {
    name: p.name,
    template: p.template,
    osFamily: p.osFamily,
    memoryMiB: p.memory,
    swapMiB: p.swap,
    cpus: p.cpus,
    cpuQuotaPercent: p.cpuQuotaPercent,
    cpuShares: p.cpuShares,
    diskBacking: p.disk ? "loop" : "dir",
    diskSizeMiB: p.disk?.size,
    diskFstype: p.disk?.fstype,
    network: p.network,
    environment: p.environment,
    autostart: p.autostart,
    running: p.running,
    hostIdentity: hv && !isUnknown(hv) ? `${hv.host.facts.machineId}/${hv.host.facts.hostname}` : undefined,
  };
}

export function planFor(olds: Props | undefined, news: Props): Plan {
  const plan = planChanges(olds ? planView(olds) : undefined, planView(news), capabilitiesFor(olds?.disk?.fstype), {
    allowRestart: !!news.allowRestart,
    allowDataLoss: !!news.allowDataLoss,
    names: DISPLAY_NAME,
    secret: SECRET_KEYS,
  });
  plan.failures = plan.failures.map((f) => ({ ...f, property: inputNameOf(f.property) }));
  return plan;
}

export function specOf(p: Props): Lxc.ContainerSpec {
  const hv = p.hypervisor as HypervisorRef;
  const a = p as ContainerArgs;
  const template: Lxc.ContainerSpec["template"] =
    a.template === "busybox" ? { kind: "busybox" }
      : a.template.startsWith("debian:") ? { kind: "debian", release: a.template.slice("debian:".length) }
        : { kind: "tarball", path: a.template };
  return {
    name: a.name,
    template,
    cpus: a.cpus,
    cpuQuotaPercent: a.cpuQuotaPercent,
    cpuShares: a.cpuShares,
    memoryMiB: a.memory,
    swapMiB: a.swap,
    disk: a.disk ? { sizeMiB: a.disk.size, fstype: a.disk.fstype } : undefined,
    network: { bridge: a.network?.bridge ?? hv.bridge, address: a.network?.address, gateway: a.network?.gateway, hwaddr: a.network?.hwaddr },
    environment: a.environment,
    running: a.running,
    autostart: a.autostart,
  };
}

/** One hop as a @pulumi/command-style connection: its pinned host key, credentials, and the rest of its chain. */
function hopOf(c: ConnectionArgs): Record<string, unknown> {
  const hop: Record<string, unknown> = { host: c.host, port: c.port, user: c.user };
  if (c.hostKey) hop.hostKey = c.hostKey;
  // A host the program reaches without a pinned key says so here too: nothing is pinned that was not.
  if (c.insecureSkipHostKeyCheck) hop.insecureSkipHostKeyCheck = true;
  if (c.privateKey) hop.privateKey = c.privateKey;
  if (c.privateKeyPassword !== undefined) hop.privateKeyPassword = c.privateKeyPassword;
  if (c.password !== undefined) hop.password = c.password;
  if (c.agentSocket) hop.agentSocketPath = c.agentSocket;
  // @pulumi/command takes one proxy hop; the rest of the host's chain is kept (pulumi-virt's Host accepts it).
  if (c.proxy) hop.proxy = hopOf(c.proxy);
  return hop;
}

/**
 * A connection shaped like @pulumi/command's remote.Connection, reaching the container through its host with the
 * host's whole connection (pinned key, credentials, proxy chain). The container's own SSH host key is not known to
 * pulumi-virt, so it is not pinned: `insecureSkipHostKeyCheck: true` says so instead of inventing a key.
 * The Container class declares this output secret (it holds the host's credentials).
 */
export function connectionOf(p: Props): Record<string, unknown> | undefined {
  const hv = p.hypervisor as HypervisorRef;
  const address = typeof p.network?.address === "string" ? p.network.address.split("/")[0] : undefined;
  if (!address) return undefined;
  const c = hv.host.connection;
  const own: Record<string, unknown> = { host: address, port: 22, user: "root", insecureSkipHostKeyCheck: true };
  if (c.privateKey) own.privateKey = c.privateKey;
  if (c.privateKeyPassword !== undefined) own.privateKeyPassword = c.privateKeyPassword;
  return { ...own, proxy: hopOf(c) };
}

export async function check(olds: Props, news: Props) {
  const { value, failures } = parseArgs(containerArgsSchema, news, NON_ARGS);
  if (!value) return { inputs: news, failures };
  const hv = news.hypervisor as HypervisorRef | undefined;
  const inputs: Props = { ...news, ...value };
  if (!hv || isUnknown(hv) || hasUnknowns(news)) return { inputs, failures: [] };
  const refFailures = hypervisorRefFailures(hv);
  if (refFailures.length) return { inputs, failures: refFailures };
  const out = [...containerRules(value.osFamily, hv)];
  inputs.osFamily = value.osFamily ?? hv.host.facts.kernel.name.toLowerCase();
  if (value.cpus && value.cpus > hv.host.facts.cpus) {
    out.push({ property: "cpus", reason: `${value.cpus} CPUs requested but host "${hv.host.facts.hostname}" has ${hv.host.facts.cpus}` });
  }
  const hasOld = olds && Object.keys(olds).length > 0 && olds.name !== undefined;
  const plan = planFor(hasOld ? olds : undefined, inputs);
  out.push(...plan.failures);
  recordPlan(inputs, plan, !!hasOld);
  return { inputs, failures: out };
}

/**
 * Same-name replacements planned in this provider process (the engine's diff, create and delete of one `up` run
 * in it): the new resource's key -> the old resource. Its create builds the new container beside the old one.
 */
const replacing = new Map<string, { oldId: string; oldName: string; stopTimeoutSec: number; wasRunning: boolean }>();

export async function diff(id: string, olds: Props, news: Props) {
  const d = diffFromPlan(planFor(olds, news), olds, news, inputNameOf, ["stopTimeoutSec", "gracefulDestroy"], { sideBySide: true });
  if (d.replaces.length && olds.name === news.name && !d.replaces.includes("hypervisor")) {
    replacing.set(replacementKey(news), { oldId: id, oldName: olds.name, stopTimeoutSec: olds.stopTimeoutSec ?? 30, wasRunning: olds.running !== false });
  }
  return d;
}

/** hostSnapshot: refresh may be answered from a snapshot of all the host's containers (see ssh/read-batch.ts). */
async function observe(p: Props, hostSnapshot = false) {
  const hv = p.hypervisor as HypervisorRef;
  return readContainerCoalesced(remoteFor(hv.host), p.name, { hostSnapshot });
}

export async function create(inputs: Props) {
  const id = `lxc-${randomUUID()}`;
  const old = replacing.get(replacementKey(inputs));
  if (old && old.oldName === inputs.name) {
    replacing.delete(replacementKey(inputs));
    return replaceSideBySide(id, inputs, old);
  }
  return createAs(id, inputs, false);
}

/** The resource's stable key from its class (see resources/container.ts), when it is a well-formed one. */
function ownerKeyIn(p: Props): string | undefined {
  return typeof p.ownerKey === "string" && /^[0-9a-f]{32}$/.test(p.ownerKey) ? p.ownerKey : undefined;
}

/** A temporary name derived from the container's (still a valid container name: at most 63 characters). */
function asideName(name: string, role: "new" | "old", suffix: string): string {
  return `${name.slice(0, 48)}-pv${role}-${suffix}`;
}

/**
 * A replacement with the same name on the same host, without a moment with no container if it fails: the new
 * container is built under a temporary name (stopped: it has the old one's address), then the old one is stopped
 * and renamed aside, the new one renamed into place and started. The engine then deletes the old resource, whose
 * container is found aside by its owner token. If the build fails, the old container was not touched; if the switch
 * fails, the old one is put back and started again.
 */
async function replaceSideBySide(id: string, inputs: Props, old: { oldId: string; oldName: string; stopTimeoutSec: number; wasRunning: boolean }) {
  const hv = inputs.hypervisor as HypervisorRef;
  const remote = remoteFor(hv.host);
  const name = inputs.name as string;
  const ownerToken = ownerTokenOf(id);
  const suffix = randomBytes(3).toString("hex");
  const fresh = asideName(name, "new", suffix);
  const aside = asideName(name, "old", suffix);
  const what = `container "${name}" on ${hv.host.facts.hostname ? `host "${hv.host.facts.hostname}"` : "the host"}`;
  try {
    const cur = await lxc().readContainer(remote, name);
    // Nothing of the old one is left: an ordinary create.
    if (!cur) return await createAs(id, inputs, false);
    // The old container must be the old resource's: its token goes into the registration (a state from before
    // tokens claims it here), so that its delete finds it once it is renamed aside.
    await lxc().claimContainer(remote, name, ownerTokenOf(old.oldId), { force: !!inputs.adopt }).catch((e: Error) => {
      if (e.name === "ContainerOwnedElsewhereError") throw new Error(ownedElsewhereMessage(`container "${name}"`, hv.host, "replaced"));
      throw e;
    });
    try {
      await lxc().createContainer(remote, { ...specOf(inputs), name: fresh, running: false }, { ownerToken, ownerKey: ownerKeyIn(inputs) });
    } catch (e) {
      await lxc().destroyContainer(remote, fresh, { ownerToken }).catch(() => undefined);
      throw new Error(
        `${what}: the replacement could not be built (${(e as Error).message}). The old container was not touched and keeps ` +
        `running as before; nothing was changed. Fix the cause and run up again.`,
      );
    }
    let phase = "stop the old container";
    try {
      await lxc().stopContainer(remote, name, old.stopTimeoutSec);
      phase = "rename the old container aside";
      await lxc().renameContainer(remote, name, aside);
      phase = "rename the new container into place";
      await lxc().renameContainer(remote, fresh, name);
      if (inputs.running !== false) {
        phase = "start the new container";
        await lxc().startContainer(remote, name);
      }
    } catch (e) {
      const restored = await putBack(remote, name, fresh, aside, ownerToken, old.wasRunning).then(() => "the old container was put back" + (old.wasRunning ? " and started again" : ""), (u: Error) => `putting the old container back failed too (${u.message}); it is "${aside}" if it is not "${name}"`);
      throw new Error(`${what}: the replacement was built but could not ${phase} (${(e as Error).message}); ${restored}.`);
    }
  } finally {
    hostChanged(remote);
  }
  const observed = await observe(inputs);
  return {
    id,
    outs: { ...inputs, observed, ownerToken, connection: connectionOf(inputs), lastApplied: { at: nowIso(), action: "replace", changes: inputs.plannedChanges ?? {} } },
  };
}

/** Undoes a switch that failed half-way: the new container goes back aside (and away), the old one back in place. */
async function putBack(remote: ReturnType<typeof remoteFor>, name: string, fresh: string, aside: string, ownerToken: string, start: boolean): Promise<void> {
  const atName = await lxc().readContainer(remote, name);
  if (atName?.ownerToken === ownerToken) {
    await lxc().stopContainer(remote, name, 0);
    await lxc().renameContainer(remote, name, fresh);
  }
  if (await lxc().readContainer(remote, aside)) await lxc().renameContainer(remote, aside, name);
  if (start) await lxc().startContainer(remote, name);
  await lxc().destroyContainer(remote, fresh, { ownerToken });
}

/** legacy: resuming a create recorded by a release before owner tokens (its registration is empty). */
async function createAs(id: string, inputs: Props, legacy: boolean) {
  const hv = inputs.hypervisor as HypervisorRef;
  const remote = remoteFor(hv.host);
  const name = inputs.name as string;
  const ownerToken = ownerTokenOf(id);
  // Two round trips: the driver registers the name on the host, creates (or resumes an interrupted create of
  // ours) and reads back, then configures, starts and reads back. A container of that name that is not ours
  // is refused before anything on the host changes, unless adopt is set.
  let observed: Lxc.ContainerObserved;
  try {
    observed = await lxc().createContainer(remote, specOf(inputs), { adopt: !!inputs.adopt, ownerToken, legacy, ownerKey: ownerKeyIn(inputs) });
  } catch (e) {
    if ((e as Error).name === "ContainerOwnedElsewhereError") throw new Error(ownedElsewhereMessage(`container "${name}"`, hv.host, "created or changed"));
    if ((e as Error).name === "ContainerExistsError") {
      throw new Error(
        `container "${name}" already exists on host "${hv.host.facts.hostname}" and is not managed by pulumi-virt. ` +
        `Set adopt: true to take it over (its limits will be set to this program's values), or choose another name.`,
      );
    }
    const err = stepError(`container "${name}"`, hv.host, "create", e);
    // Nothing was left (lxc-create cleans up after itself): drop our registration too, so a later refresh that
    // forgets the resource does not orphan it on the host. If the host cannot tell, keep it for the resume.
    const left = await lxc().readContainer(remote, name).catch(() => "unknown" as const);
    if (left === undefined) {
      await lxc().unregisterContainer(remote, name).catch(() => undefined);
      throw err;
    }
    // The engine keeps a partially created container in state (so it is not orphaned); the next `up` resumes it.
    throw partialCreate(err, id, { ...inputs, observed: null, ownerToken });
  } finally {
    // The host changed: a refresh snapshot taken before this must not answer later reads.
    hostChanged(remote);
  }
  return {
    id,
    outs: { ...inputs, observed, ownerToken, connection: connectionOf(inputs), lastApplied: { at: nowIso(), action: inputs.plannedAction === "replace" ? "replace" : "create", changes: inputs.plannedAction === "replace" ? inputs.plannedChanges : {} } },
  };
}

/** Overlays live values on the desired ones so `refresh` shows drift and the next `up` corrects it. */
function withObserved(props: Props, o: Lxc.ContainerObserved): Props {
  const p: Props = { ...props, observed: o };
  if (o.memoryMiB !== undefined) p.memory = o.memoryMiB;
  if (o.swapMiB !== undefined && props.swap !== undefined) p.swap = o.swapMiB;
  if (o.cpus !== undefined && props.cpus !== undefined) p.cpus = o.cpus;
  if (o.cpuQuotaPercent !== undefined && props.cpuQuotaPercent !== undefined) p.cpuQuotaPercent = o.cpuQuotaPercent;
  if (o.cpuShares !== undefined && props.cpuShares !== undefined) p.cpuShares = o.cpuShares;
  if (o.diskSizeMiB !== undefined && props.disk) p.disk = { ...props.disk, size: o.diskSizeMiB };
  p.running = o.running;
  p.autostart = o.autostart;
  return p;
}

/** Refuses a container whose registration holds another resource's token (an empty one is from before tokens). */
function assertOwned(id: string, props: Props, o: Lxc.ContainerObserved, action: string): void {
  if (props.adopt || !o.ownerToken || o.ownerToken === ownerTokenOf(id)) return;
  throw new Error(ownedElsewhereMessage(`container "${props.name}"`, (props.hypervisor as HypervisorRef).host, action));
}

export async function read(id: string, props: Props) {
  const o = await observe(props, true);
  if (!o) return { id: undefined as unknown as string, props: undefined as unknown as Props };
  assertOwned(id, props, o, "read as this resource's");
  const props2 = withObserved(props, o);
  // Inputs follow reality too, so the next preview plans the way back from the drifted value.
  const { observed: _o, lastApplied: _l, connection: _c, ownerToken: _t, ...inputs } = props2;
  return { id, props: props2, inputs };
}

export async function update(id: string, olds: Props, news: Props) {
  // A create that failed part-way is in state with observed: null (partialCreate). The engine retries it as an
  // update, whose inputs usually equal the olds: finish the create instead of planning "no change".
  if (olds.observed === null) return { outs: (await createAs(id, news, olds.ownerToken === undefined)).outs };
  const hv = news.hypervisor as HypervisorRef;
  const remote = remoteFor(hv.host);
  const plan = planFor(olds, news);
  if (plan.failures.length) throw new Error(plan.failures.map((f) => `${f.property}: ${f.reason}`).join("\n"));
  const changed = new Set(plan.properties.map((p) => p.property));
  const name = news.name as string;
  const step = (s: string) => (e: unknown) => { throw stepError(`container "${name}"`, hv.host, s, e); };
  // Only the owner changes a container. A state from before owner tokens claims its container here (documented
  // in the README: the first update after upgrading writes the token); adopt takes it over from another owner.
  const ownerToken = ownerTokenOf(id);
  await lxc().claimContainer(remote, olds.name, ownerToken, { force: !!news.adopt, ownerKey: ownerKeyIn(news) }).catch((e: Error) => {
    if (e.name === "ContainerOwnedElsewhereError") throw new Error(ownedElsewhereMessage(`container "${olds.name}"`, hv.host, "changed"));
    step("claim")(e);
  });
  if (plan.overall === "restart") {
    if (changed.has("name")) {
      await lxc().stopContainer(remote, olds.name, news.stopTimeoutSec ?? 30).catch(step("stop for rename"));
      await lxc().renameContainer(remote, olds.name, name).catch(step(`rename from "${olds.name}"`));
    }
    await lxc().restartContainer(remote, specOf(news)).catch(step("restart with the new configuration"));
  } else if (plan.overall === "live") {
    const live: Record<string, unknown> = {};
    const spec = specOf(news);
    // A limit the program no longer sets is removed (null), not left as it was (undefined).
    if (changed.has("memoryMiB")) live.memoryMiB = spec.memoryMiB;
    if (changed.has("swapMiB")) live.swapMiB = spec.swapMiB ?? null;
    if (changed.has("cpus")) live.cpus = spec.cpus ?? null;
    if (changed.has("cpuQuotaPercent")) live.cpuQuotaPercent = spec.cpuQuotaPercent ?? null;
    if (changed.has("cpuShares")) live.cpuShares = spec.cpuShares ?? null;
    if (changed.has("diskSizeMiB")) live.diskSizeMiB = spec.disk?.sizeMiB;
    if (changed.has("autostart")) live.autostart = spec.autostart;
    if (changed.has("running")) live.running = spec.running;
    await lxc().applyLive(remote, name, live as Parameters<typeof Lxc.applyLive>[2]).catch(step("apply live changes"));
  }
  const observed = await observe(news);
  return {
    outs: {
      ...news,
      observed,
      ownerToken,
      connection: connectionOf(news),
      lastApplied: { at: nowIso(), action: plan.overall, changes: describePlan(plan) },
    },
  };
}

async function del(id: string, props: Props) {
  const hv = props.hypervisor as HypervisorRef;
  const remote = remoteFor(hv.host);
  // One round trip: the destroy script refuses a container another resource owns (nothing is stopped), then stops
  // it and removes it. Nothing of the container survives, so the stop is a kill unless gracefulDestroy asks for a
  // shutdown, bounded by stopTimeoutSec.
  const opts = { ownerToken: ownerTokenOf(id), stopTimeoutSec: props.gracefulDestroy === true ? (props.stopTimeoutSec ?? 30) : 0 };
  let name = props.name as string;
  const destroy = () =>
    lxc().destroyContainer(remote, name, opts).catch((e: Error) => {
      if (e.name === "ContainerOwnedElsewhereError") throw e;
      throw stepError(`container "${name}"`, hv.host, "destroy", e);
    });
  let r: "destroyed" | "absent";
  try {
    r = await destroy();
  } catch (e) {
    if ((e as Error).name !== "ContainerOwnedElsewhereError") throw e;
    // Replaced side by side: this resource's container was renamed aside, and its registration says which it is.
    const aside = await lxc().findContainerByOwner(remote, ownerTokenOf(id)).catch(() => undefined);
    if (!aside) throw new Error(ownedElsewhereMessage(`container "${name}"`, hv.host, "stopped or destroyed"));
    name = aside;
    r = await destroy().catch((e2: Error) => {
      throw e2.name === "ContainerOwnedElsewhereError" ? new Error(ownedElsewhereMessage(`container "${name}"`, hv.host, "destroyed")) : e2;
    });
  }
  if (r === "absent") console.warn(`container "${props.name}" on host "${hv.host.facts.hostname}" was already gone`);
}
export { del as delete };
