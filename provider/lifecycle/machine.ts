// One lifecycle for every machine (Container, full and para Guest): check → plan → apply → observe.
// It plans with the pure planner and acts only through the driver the registry gives for the hypervisor's kind;
// the resource glue (resources/impl) only hands the engine's calls over.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { BACKEND_KINDS, backendFor } from "../drivers/registry";
import { MachineDriver, MachineExistsError, MachineOwnedElsewhereError, Owner, ReplacedMachine } from "../drivers/contract";
import type { HypervisorKind, HypervisorRef } from "../models/hypervisor";
import { EngineProps, fromEngine, LastApplied, MachineState, toEngine } from "../models/state";
import { describePlan, Plan, planChanges, sameValue, show } from "../plan/planner";
import type { RuleFailure } from "../plan/rules";
import type { PlanView } from "../plan/types";
import type { Remote } from "../ssh/types";
import { waitUntilReady } from "./readiness";
import { safetyNetLine, safetyNetProblems, snapshotFirst, withSnapshotNote } from "./safety-net";
import { checkCapacity } from "./capacity";
import { Failure, forRefresh, hasUnknowns, hypervisorRefFailures, isUnknown, nowIso, ownedElsewhereMessage, ownerTokenOf, parseArgs, partialCreate, remoteFor, stepError } from "./support";

type Driver<S extends MachineState> = MachineDriver<S, string, unknown>;

/** What differs between Container and Guest: their model, their domain rules and their derived inputs. */
export interface MachineResource<S extends MachineState> {
  /** "container" / "guest", for messages. */
  noun: string;
  schema: z.ZodType;
  /** Inputs that are not args (references, outputs). */
  nonArgs: readonly string[];
  /** Provider settings: changing only these touches no machine. */
  settings: readonly string[];
  /** Domain rules that need only the hypervisor and the raw inputs: reported first, even when an arg is invalid. */
  domainRules(raw: EngineProps, hv: HypervisorRef): RuleFailure[];
  /** Rules on the checked inputs against the host (e.g. more CPUs than the host has). */
  hostRules(state: S): RuleFailure[];
  /** Inputs derived at check, visible in preview (e.g. a container's default osFamily). */
  derived(state: S): Partial<S>;
  /** The driver for this resource on a hypervisor of that kind, if that kind runs it. */
  driverFor(kind: HypervisorKind): Driver<S> | undefined;
  /** The message for a create that found a machine of that name it does not own. */
  existsMessage(state: S): string;
}

/** Picks a backend's Container or Guest driver from the registry. */
export function containerDriverFor(kind: HypervisorKind) {
  return backendFor(kind).container;
}
export function guestDriverFor(kind: HypervisorKind) {
  return backendFor(kind).guest;
}

const SETTINGS_ONLY = "settings only";

/** What a delete-first same-name replacement does first, as preview shows it. */
export const DELETE_FIRST = (noun: string) =>
  `delete-first: the old ${noun} is destroyed before the new one is built (same name, disk files and data disks), so a failed build leaves no ${noun}`;

/**
 * The old state as check plans from it. The inputs `pulumi import` wrote hold the machine's Hypervisor ref as
 * `importedHypervisor` (see importMachine), every other state as `hypervisor`: the plan, the host identity and the
 * capacity check read the same ref either way.
 */
function plannedOld<S extends MachineState>(olds: S): S {
  return olds.hypervisor === undefined && olds.importedHypervisor ? { ...olds, hypervisor: olds.importedHypervisor } : olds;
}

/** A replacement that keeps the name on the same host: the old machine must go before a new one can take the name. */
function isDeleteFirst(replaces: string[], olds: MachineState, news: MachineState): boolean {
  return replaces.length > 0 && olds.name === news.name && !replaces.includes("hypervisor");
}

/** Same-name replacements built beside the old machine, planned in this provider process (diff → create). */
const replacing = new Map<string, ReplacedMachine>();

/**
 * Settings changes, as plannedChanges shows them: `allowRestart: "settings only: false → true (...)"`. A setting the
 * old state does not hold (saved before the setting existed) counts as its default, so adding a setting to a model
 * does not show every existing machine as changed.
 */
export function settingsChanges(settings: readonly string[], olds: EngineProps, news: EngineProps, defaults: EngineProps = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of settings) {
    const old = olds[k] === undefined ? defaults[k] : olds[k];
    if (!sameValue(old, news[k])) out[k] = `${SETTINGS_ONLY}: ${show(old)} → ${show(news[k])}: a provider setting; the machine is not touched`;
  }
  return out;
}

/** Each setting's default in the model (a field with a default parses undefined to it). */
function settingDefaults(schema: z.ZodType, settings: readonly string[]): EngineProps {
  if (!(schema instanceof z.ZodObject)) return {};
  const shape = schema.shape as Record<string, z.ZodType>;
  const out: EngineProps = {};
  for (const k of settings) {
    const r = shape[k]?.safeParse(undefined);
    if (r?.success && r.data !== undefined) out[k] = r.data;
  }
  return out;
}

/** Delete-first replacements (by resource id) whose delete takes the safety net's snapshot first (diff → delete). */
const snapshotBeforeDelete = new Map<string, MachineState>();

const step0 = (what: string, s: MachineState, step: string) => (e: unknown): never => { throw stepError(what, s.hypervisor.host, step, e); };

/** A replacement's plan, carried across the engine's second check (which has no old inputs). */
const pendingReplacements = new Map<string, { overall: "replace"; changes: Record<string, string> }>();

function replacementKey(s: MachineState): string {
  const hv = s.hypervisor;
  return `${hv && !isUnknown(hv) ? `${hv.host.facts.machineId}/${hv.host.facts.hostname}` : "?"}/${s.name}`;
}

/** The resource's stable key from its class, when it is a well-formed one. */
function ownerKeyIn(s: MachineState): string | undefined {
  return typeof s.ownerKey === "string" && /^[0-9a-f]{32}$/.test(s.ownerKey) ? s.ownerKey : undefined;
}

/** How long the old machine of a replacement gets to stop (its own setting). */
function stopTimeoutOf(s: MachineState): number {
  return "stopTimeoutSec" in s ? s.stopTimeoutSec : "shutdownTimeoutSec" in s ? s.shutdownTimeoutSec : 30;
}

export class MachineLifecycle<S extends MachineState> {
  private readonly defaults: EngineProps;
  constructor(private readonly r: MachineResource<S>) {
    this.defaults = settingDefaults(r.schema, r.settings);
  }

  private driver(s: S): Driver<S> {
    const d = this.r.driverFor(s.hypervisor.kind);
    if (!d) throw new Error(`a ${this.r.noun} cannot run on a ${s.hypervisor.kind} hypervisor`);
    return d;
  }

  /** The driver, or none while the hypervisor is not known yet (a preview whose Hypervisor or Host changes too). */
  private knownDriver(s: S): Driver<S> | undefined {
    const kind = (s.hypervisor as Partial<S["hypervisor"]> | undefined)?.kind;
    return kind !== undefined && BACKEND_KINDS.includes(kind) ? this.r.driverFor(kind) : undefined;
  }

  /** The input a user edits for a view key (every backend of a resource names its inputs alike). */
  inputNameOf(key: string): string {
    const d = BACKEND_KINDS.map((k) => this.r.driverFor(k)).find((x) => x !== undefined);
    return d ? d.inputName(key) : key;
  }

  /** The plan from the engine's old and new inputs (checked): the same at preview (check, diff) and at apply (update). */
  planFor(olds: EngineProps | undefined, news: EngineProps): Plan {
    return this.plan(olds ? fromEngine<S>(olds) : undefined, fromEngine<S>(news));
  }

  private plan(oldState: S | undefined, news: S): Plan {
    const empty: Plan = { overall: "none", properties: [], failures: [] };
    if (!oldState) return empty;
    const olds = plannedOld(oldState);
    const d = this.knownDriver(news);
    if (!d) return empty;
    let oldView: PlanView = d.view(olds);
    let newView: PlanView = d.view(news);
    if (d.alignViews) [oldView, newView] = d.alignViews(oldView, newView);
    const names = Object.fromEntries(Object.keys({ ...oldView, ...newView }).map((k) => [k, d.displayName(k)]));
    const plan = planChanges(oldView, newView, d.capabilities(olds), {
      allowRestart: !!news.allowRestart, allowDataLoss: !!news.allowDataLoss, names, secret: d.secretKeys,
    });
    plan.failures = plan.failures.map((f) => ({ ...f, property: d.inputName(f.property) }));
    // A backend that cannot build a same-name replacement beside the old machine says in preview that it goes first.
    const replaces = plan.properties.filter((p) => p.action === "replace").map((p) => d.inputName(p.property));
    if (d.sameNameReplacement === "delete-first" && isDeleteFirst(replaces, olds, news)) {
      for (const p of plan.properties) if (p.action === "replace") p.reason += `; ${DELETE_FIRST(this.r.noun)}`;
    }
    return plan;
  }

  /** Every problem at once: domain rules first, then the args, the host, the driver and the plan. */
  async check(oldsRaw: EngineProps, newsRaw: EngineProps): Promise<{ inputs: EngineProps; failures: Failure[] }> {
    const hvRaw = newsRaw.hypervisor;
    const known = hvRaw !== undefined && !isUnknown(hvRaw);
    // A hand-built HypervisorRef is validated first: every rule below reads it.
    const refFailures = known ? hypervisorRefFailures(hvRaw) : [];
    const hv = known && refFailures.length === 0 ? fromEngine<HypervisorRef>(hvRaw as EngineProps) : undefined;
    const out: Failure[] = hv ? [...this.r.domainRules(newsRaw, hv)] : [...refFailures];
    const { value, failures } = parseArgs(this.r.schema, newsRaw, [...this.r.nonArgs]);
    out.push(...failures);
    if (refFailures.length) return { inputs: value ? { ...newsRaw, ...(value as EngineProps) } : newsRaw, failures: out };
    if (!value) return { inputs: newsRaw, failures: out };
    const inputs: EngineProps = { ...newsRaw, ...(value as EngineProps) };
    if (!hv || hasUnknowns(newsRaw)) return { inputs, failures: out };
    const news = fromEngine<S>(inputs);
    Object.assign(inputs, this.r.derived(news));
    out.push(...this.r.hostRules(news));
    const d = out.length === 0 ? this.r.driverFor(hv.kind) : undefined;
    // The driver's own refusals, found now instead of during `up`, named by the input they come from.
    if (d) out.push(...d.specProblems(news), ...safetyNetProblems(d, news));
    const hasOld = !!oldsRaw && Object.keys(oldsRaw).length > 0 && oldsRaw.name !== undefined;
    const olds = hasOld ? plannedOld(fromEngine<S>(oldsRaw)) : undefined;
    const plan = this.plan(olds, news);
    out.push(...plan.failures);
    // Capacity last: it may read the host, and only for a machine that is otherwise acceptable.
    if (out.length === 0) out.push(...(await checkCapacity(olds, news)));
    this.recordPlan(inputs, plan, hasOld ? settingsChanges(this.r.settings, oldsRaw, inputs, this.defaults) : undefined);
    return { inputs, failures: out };
  }

  /** Writes the plan into the checked inputs (what `pulumi preview` shows per property). */
  private recordPlan(inputs: EngineProps, plan: Plan, settings: Record<string, string> | undefined): void {
    const state = fromEngine<S>(inputs);
    if (settings) {
      state.plannedAction = plan.overall;
      state.plannedChanges = { ...describePlan(plan), ...settings, ...safetyNetLine(this.r.driverFor(state.hypervisor.kind), state, plan.overall, this.r.noun) };
      return;
    }
    state.plannedAction = "create";
    state.plannedChanges = {};
    const pending = pendingReplacements.get(replacementKey(state));
    if (pending) {
      pendingReplacements.delete(replacementKey(state));
      state.plannedAction = pending.overall;
      state.plannedChanges = pending.changes;
    }
  }

  /** The engine's diff, from the same plan: replace keys are the inputs the user edits. */
  async diff(id: string, oldsRaw: EngineProps, newsRaw: EngineProps) {
    const olds = fromEngine<S>(oldsRaw);
    const news = fromEngine<S>(newsRaw);
    const plan = this.plan(olds, news);
    const d = this.knownDriver(news);
    const inputName = (k: string) => (d ? d.inputName(k) : k);
    const replaces = [...new Set(plan.properties.filter((p) => p.action === "replace").map((p) => inputName(p.property)))];
    if (replaces.length) pendingReplacements.set(replacementKey(news), { overall: "replace", changes: { ...describePlan(plan), ...safetyNetLine(d, news, "replace", this.r.noun) } });
    const connectionMoved = !sameValue(olds.hypervisor?.host?.connection, news.hypervisor?.host?.connection);
    const settingsChanged = Object.keys(settingsChanges(this.r.settings, oldsRaw, newsRaw, this.defaults)).length > 0;
    // Names are unique on a host: a same-name replacement goes delete-first, unless the backend builds it beside.
    const sameName = isDeleteFirst(replaces, olds, news);
    const beside = d?.sameNameReplacement === "beside";
    if (sameName && beside) {
      replacing.set(replacementKey(news), { name: olds.name, token: ownerTokenOf(id), stopTimeoutSec: stopTimeoutOf(olds), wasRunning: olds.running !== false });
    }
    if (sameName && !beside && Object.keys(safetyNetLine(d, news, "replace", this.r.noun)).length) snapshotBeforeDelete.set(id, news);
    return {
      changes: plan.properties.length > 0 || connectionMoved || settingsChanged,
      replaces,
      deleteBeforeReplace: sameName && !beside,
    };
  }

  private what(s: S): string {
    return `${this.r.noun} "${s.name}"`;
  }

  private outs(s: S, observed: unknown, owner: Owner, lastApplied: LastApplied): EngineProps {
    const d = this.driver(s);
    return toEngine<S>({ ...s, ...d.outputs({ ...s, observed }), observed, ownerToken: owner.token, lastApplied });
  }

  /** A Guest's waitFor: reads through the driver until the machine is reachable as asked (bounded by timeoutSec). */
  private async ready(d: Driver<S>, remote: Remote, s: S): Promise<void> {
    const waitFor = "waitFor" in s ? s.waitFor : undefined;
    if (!waitFor) return;
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { getRemote } = require("../ssh/remote") as typeof import("../ssh/remote");
    await waitUntilReady(this.what(s), s.hypervisor.host, waitFor, {
      observe: async () => {
        const o = await d.read(remote, s, { refresh: false });
        const outs = d.outputs({ ...s, observed: o }) as { addresses?: { mac: string; bridge: string; ipv4: string[]; ipv6: string[] }[]; connection?: Record<string, unknown> };
        return { addresses: outs.addresses ?? [], connection: outs.connection };
      },
      exec: async (connection, argv, timeoutMs) => {
        const guest = getRemote({ ...connection, dialTimeoutMs: timeoutMs, commandTimeoutMs: timeoutMs, execMode: "exec" });
        return (await guest.exec(argv, { step: "waitFor ssh", okCodes: [0, 1] })).code;
      },
    });
  }

  /** Errors of the driver, in the user's words: a machine that is not ours names the resource, host and action. */
  private explain(s: S, step: string, action: string) {
    return (e: unknown): never => {
      if (e instanceof MachineOwnedElsewhereError) throw new Error(ownedElsewhereMessage(this.what(s), s.hypervisor.host, action));
      throw stepError(this.what(s), s.hypervisor.host, step, e);
    };
  }

  async create(inputsRaw: EngineProps) {
    const s = fromEngine<S>(inputsRaw);
    const d = this.driver(s);
    const remote = remoteFor(s.hypervisor.host);
    const id = `${d.idPrefix}-${randomUUID()}`;
    const owner: Owner = { token: ownerTokenOf(id), adopt: !!s.adopt, key: ownerKeyIn(s) };
    const replaced = s.plannedAction === "replace";
    const old = replacing.get(replacementKey(s));
    // State the new machine is built with (a guest's or container's SSH host key), a replacement's too.
    Object.assign(s, d.prepare?.(s, undefined));
    if (old && old.name === s.name && d.replaceBeside) {
      replacing.delete(replacementKey(s));
      const snap = await snapshotFirst(remote, d, s, old.name, old.token, "replace").catch(this.explain(s, "snapshot before the replacement", "replaced"));
      let observed = await d.replaceBeside(remote, s, old, owner).catch((e: unknown) => this.explain(s, "replace", "replaced")(withSnapshotNote(e as Error, snap, old.name)));
      if ("waitFor" in s && s.waitFor) {
        await this.ready(d, remote, s);
        observed = await d.read(remote, s, { refresh: false });
      }
      return { id, outs: this.outs(s, observed, owner, { at: nowIso(), action: "replace", changes: s.plannedChanges ?? {}, ...(snap ? { snapshot: snap.name } : {}) }) };
    }
    let observed: unknown;
    try {
      observed = (await d.create(remote, s, { owner, resume: false, legacy: false })).observed;
      await this.ready(d, remote, s);
      if ("waitFor" in s && s.waitFor) observed = await d.read(remote, s, { refresh: false });
    } catch (e) {
      if (e instanceof MachineExistsError) throw new Error(this.r.existsMessage(s));
      if (e instanceof MachineOwnedElsewhereError) throw new Error(ownedElsewhereMessage(this.what(s), s.hypervisor.host, "created or changed"));
      const err = stepError(this.what(s), s.hypervisor.host, "create", e);
      if ((await d.afterFailedCreate(remote, s)) === "nothing") throw err;
      // The engine keeps a partially created machine in state (so it is not orphaned); the next `up` resumes it.
      throw partialCreate(err, id, { ...toEngine<S>(s), observed: null, ownerToken: owner.token });
    }
    return { id, outs: this.outs(s, observed, owner, { at: nowIso(), action: replaced ? "replace" : "create", changes: replaced ? s.plannedChanges ?? {} : {} }) };
  }

  async read(id: string, propsRaw: EngineProps) {
    const s = fromEngine<S>(propsRaw);
    const d = this.driver(s);
    // A refresh read may wait a little to share a round trip with the host's other refresh reads.
    const o = await d.read(forRefresh(remoteFor(s.hypervisor.host)), s, { refresh: true });
    if (o === undefined) return { id: undefined as unknown as string, props: undefined as unknown as EngineProps };
    const token = d.ownerOf(o);
    if (!s.adopt && token && token !== ownerTokenOf(id)) throw new Error(ownedElsewhereMessage(this.what(s), s.hypervisor.host, "read as this resource's"));
    // Inputs follow reality too, so the next preview plans the way back from a drifted value.
    const props = toEngine<S>(d.withObserved(s, o));
    const { observed: _o, lastApplied: _l, connection: _c, ownerToken: _t, addresses: _a, sshHostKey: _k, ...inputs } = props;
    return { id, props, inputs };
  }

  /**
   * `pulumi import` of an existing machine named `name` on `hv` (the plugin's read without state): its args come from
   * what the host reports, with the model's defaults, so a program that declares them previews no change. A machine
   * another resource owns is refused; one nobody owns (made by hand) is claimed by the first update, like a state from
   * before owner tokens. Only reads: the machine is not touched until that update.
   * The inputs hold the Hypervisor ref as `importedHypervisor`, not `hypervisor` (an input property: the engine would
   * write it, connection and key, into the code it generates); the outputs hold it as every state does.
   */
  async importMachine(id: string, hv: HypervisorRef, name: string): Promise<{ id?: string; props?: EngineProps; inputs?: EngineProps }> {
    const seed = fromEngine<S>({ name, hypervisor: hv });
    const d = this.driver(seed);
    if (!d.importedArgs) throw new Error(`a ${this.r.noun} on a ${hv.kind} hypervisor cannot be imported`);
    const o = await d.read(remoteFor(hv.host), seed, { refresh: false });
    if (o === undefined) return {};
    const token = d.ownerOf(o);
    if (token && token !== ownerTokenOf(id)) throw new Error(ownedElsewhereMessage(this.what(seed), hv.host, "imported"));
    const parsed = this.r.schema.safeParse(d.importedArgs(o, hv.host.facts, hv));
    if (!parsed.success) throw new Error(`${this.what(seed)} on ${hv.host.facts.hostname} cannot be imported: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const s = fromEngine<S>({ ...(parsed.data as EngineProps), hypervisor: hv });
    Object.assign(s, this.r.derived(s));
    const { hypervisor: _hv, ...args } = toEngine<S>(s);
    const inputs: EngineProps = { ...args, importedHypervisor: hv };
    return { id, props: { ...this.outs(s, o, { token: ownerTokenOf(id), adopt: false }, { at: nowIso(), action: "none", changes: {} }) }, inputs };
  }

  async update(id: string, oldsRaw: EngineProps, newsRaw: EngineProps) {
    const olds = fromEngine<S>(oldsRaw);
    const news = fromEngine<S>(newsRaw);
    const d = this.driver(news);
    const remote: Remote = remoteFor(news.hypervisor.host);
    const owner: Owner = { token: ownerTokenOf(id), adopt: !!news.adopt, key: ownerKeyIn(news) };
    // A create that failed part-way is in state with observed: null (partialCreate). The engine retries it as an
    // update, whose inputs usually equal the olds: finish the create instead of planning "no change".
    Object.assign(news, d.prepare?.(news, olds));
    if (olds.observed === null) {
      let { observed } = await d.create(remote, news, { owner, resume: true, legacy: olds.ownerToken === undefined })
        .catch(this.explain(news, "finish the interrupted create", "changed"));
      if ("waitFor" in news && news.waitFor) {
        await this.ready(d, remote, news);
        observed = await d.read(remote, news, { refresh: false });
      }
      return { outs: this.outs(news, observed, owner, { at: nowIso(), action: "create", changes: {} }) };
    }
    const plan = this.plan(olds, news);
    if (plan.failures.length) throw new Error(plan.failures.map((f) => `${f.property}: ${f.reason}`).join("\n"));
    // Only the owner changes a machine; a state from before owner tokens claims its machine here (README).
    await d.claim(remote, olds, owner).catch(this.explain(olds, "claim", "changed"));
    const change = { olds, news, owner, changed: new Set(plan.properties.map((p) => p.property)) };
    const snap = await snapshotFirst(remote, d, news, olds.name, owner.token, plan.overall).catch(step0(this.what(news), news, "snapshot before the change"));
    const step = (s: string) => (e: unknown): never => { throw withSnapshotNote(stepError(this.what(news), news.hypervisor.host, s, e), snap, olds.name); };
    let stoppedBy: string | undefined;
    if (plan.overall === "restart") {
      let restarted = false;
      if (change.changed.has("name")) {
        const r = await d.rename(remote, change).catch(step(`rename from "${olds.name}"`));
        stoppedBy = r.stopped;
        restarted = r.restarted;
      }
      if (!restarted) stoppedBy = (await d.restart(remote, change).catch(step("restart with the new configuration"))) ?? stoppedBy;
    } else if (plan.overall === "live") {
      stoppedBy = await d.applyLive(remote, change).catch(step("apply live changes"));
    }
    if (plan.overall === "restart") await this.ready(d, remote, news);
    const observed = plan.overall === "restart" ? await d.readSettled(remote, news) : await d.read(remote, news, { refresh: false });
    const changes = { ...describePlan(plan), ...settingsChanges(this.r.settings, oldsRaw, newsRaw, this.defaults) };
    return { outs: this.outs(news, observed, owner, { at: nowIso(), action: plan.overall, changes: { ...changes, ...safetyNetLine(d, news, plan.overall, this.r.noun) }, ...(stoppedBy ? { stoppedBy } : {}), ...(snap ? { snapshot: snap.name } : {}) }) };
  }

  async delete(id: string, propsRaw: EngineProps) {
    const s = fromEngine<S>(propsRaw);
    const d = this.driver(s);
    const owner: Owner = { token: ownerTokenOf(id), adopt: false };
    const replacement = snapshotBeforeDelete.get(id);
    if (replacement && snapshotBeforeDelete.delete(id)) {
      // The new settings (the program's) decide, as preview showed; the snapshot is of the old machine.
      await snapshotFirst(remoteFor(s.hypervisor.host), d, replacement, s.name, owner.token, "replace").catch(this.explain(s, "snapshot before the replacement", "replaced"));
    }
    const r = await d.destroy(remoteFor(s.hypervisor.host), s, owner).catch(this.explain(s, "destroy", "stopped or destroyed"));
    if (r === "absent") console.warn(`${this.what(s)} on host "${s.hypervisor.host.facts.hostname}" was already gone`);
  }
}
