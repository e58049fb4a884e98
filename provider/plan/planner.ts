// Pure change planning: (old desired state, new desired state, capability table) -> an action per property.
// No I/O. The same function runs at preview (check/diff) and at apply (update), so `up` does what preview said.
import { Action, ACTION_ORDER, CapabilityTable, ChangeRule, PlanValue, PlanView, PropertyCapability, rowKey } from "./types";

export interface PropertyPlan {
  /** The capability key (e.g. memoryMiB). */
  property: string;
  /** What the user edits (e.g. memory, disk.size): used in every message. */
  name: string;
  from: unknown;
  to: unknown;
  action: Exclude<Action, "none">;
  /** For live changes: how it is applied ("virtio balloon"). */
  mechanism?: string;
  /** Why this action: always present, written for a reviewer. */
  reason: string;
  /** A replacement that destroys data (disk shrink). */
  destroysData?: boolean;
}

export interface PlanFailure {
  property: string;
  reason: string;
}

export interface Plan {
  /** The strongest action of all properties (the whole resource's cost). */
  overall: Action;
  properties: PropertyPlan[];
  /** Changes that are not allowed as requested; check turns them into failures. */
  failures: PlanFailure[];
}

export interface PlanOptions {
  /** The user allows changes that restart the machine. */
  allowRestart: boolean;
  /** The user allows replacements that destroy disk contents (e.g. disk shrink). */
  allowDataLoss: boolean;
  /** Capability key -> the input the user edits, for messages (memoryMiB -> memory). */
  names?: Record<string, string>;
  /**
   * Capability keys whose values are or can carry secrets (environment values, cloud-init data): their values
   * are never rendered in a reason, a failure or from/to; the action and the rule's reason stay exact.
   */
  secret?: readonly string[];
}

/** How a secret value is shown: never the value, only whether it changed (and which keys, for a map). */
export const SECRET_MARK = "[secret]";
const SECRET_CHANGED = "[secret, changed]";

function isPlainMap(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

/** Old and new of a secret property, redacted: a map keeps its keys (names are not secret), values become marks. */
export function redactChange(from: unknown, to: unknown): { from: unknown; to: unknown } {
  if (isPlainMap(from) && isPlainMap(to)) {
    const f: Record<string, string> = {};
    const t: Record<string, string> = {};
    for (const k of Object.keys(from)) if (from[k] !== undefined) f[k] = SECRET_MARK;
    for (const k of Object.keys(to)) if (to[k] !== undefined) t[k] = sameValue(from[k], to[k]) ? SECRET_MARK : SECRET_CHANGED;
    return { from: f, to: t };
  }
  const mark = (v: unknown) => (v === undefined ? undefined : SECRET_MARK);
  return { from: mark(from), to: sameValue(from, to) || to === undefined ? mark(to) : from === undefined ? SECRET_MARK : SECRET_CHANGED };
}

export type { PlanValue } from "./types";

export function strongest(a: Action, b: Action): Action {
  return ACTION_ORDER.indexOf(a) >= ACTION_ORDER.indexOf(b) ? a : b;
}

/** Deterministic structural equality for JSON-like values (key order does not matter). */
export function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

export function canonical(v: unknown): string {
  if (v === undefined) return "undefined";
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  const keys = Object.keys(v as Record<string, unknown>)
    .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
}

export function show(v: unknown): string {
  if (v === undefined) return "unset";
  if (typeof v === "string") return v;
  return canonical(v);
}

/** The row that governs a view key: its own, or its family's (`dataDiskSizeMiB:logs` → `dataDiskSizeMiB`). */
function rowFor(caps: CapabilityTable, property: string): PropertyCapability | undefined {
  const rows: Readonly<Record<string, PropertyCapability | undefined>> = caps;
  return rows[property] ?? rows[rowKey(property)];
}

/** The rule the planner applies to one property change: the single place a capability row is interpreted. */
function ruleFor(
  property: string,
  oldVal: unknown,
  newVal: unknown,
  old: Readonly<Record<string, PlanValue>>,
  caps: CapabilityTable,
): ChangeRule {
  const cap = rowFor(caps, property);
  if (!cap) {
    // Unknown to the driver: the truthful, safe answer is that we cannot apply it in place.
    return { action: "replace", reason: `${property} cannot be changed in place by this driver` };
  }
  const numeric = typeof oldVal === "number" && typeof newVal === "number";
  let rule: ChangeRule | undefined;
  if (numeric) rule = (newVal as number) > (oldVal as number) ? cap.grow : cap.shrink;
  rule = rule ?? cap.change ?? cap.grow ?? cap.shrink;
  if (!rule) return { action: "replace", reason: `${property} cannot be changed in place by this driver` };
  if (rule.action === "live" && cap.liveUpTo && numeric) {
    const limit = old[cap.liveUpTo];
    if (typeof limit === "number" && (newVal as number) > limit) {
      return (
        cap.beyondLimit ?? {
          action: "restart",
          reason: `${property} ${show(newVal)} exceeds ${cap.liveUpTo} ${limit} fixed at boot`,
        }
      );
    }
  }
  return rule;
}

/**
 * Plans the change from `old` to `next` (both flat maps of plannable properties).
 * With `old` undefined the resource is new: nothing to plan per property.
 */
export function planChanges<K extends string>(
  old: PlanView<K> | undefined,
  next: PlanView<K>,
  caps: CapabilityTable<K>,
  opts: PlanOptions,
): Plan {
  const plan: Plan = { overall: "none", properties: [], failures: [] };
  if (!old) return plan;
  const olds: Readonly<Record<string, PlanValue>> = old;
  const news: Readonly<Record<string, PlanValue>> = next;
  const keys = [...new Set([...Object.keys(olds), ...Object.keys(news)])].sort();
  for (const property of keys) {
    let from = olds[property];
    let to = news[property];
    if (sameValue(from, to)) continue;
    const rule = ruleFor(property, from, to, olds, caps);
    const name = opts.names?.[property] ?? property;
    if (opts.secret?.includes(property)) ({ from, to } = redactChange(from, to));
    const change = `${show(from)} → ${show(to)}`;
    let entry: PropertyPlan;
    switch (rule.action) {
      case "live":
        entry = { property, name, from, to, action: "live", mechanism: rule.mechanism, reason: `${change}: applied live (${rule.mechanism})` };
        break;
      case "restart":
        entry = { property, name, from, to, action: "restart", reason: `${change}: ${rule.reason}` };
        if (!opts.allowRestart) {
          plan.failures.push({
            property,
            reason:
              `changing ${name} (${change}) needs a restart: ${rule.reason}. ` +
              `Set allowRestart: true to allow the restart, or keep ${name} at ${show(from)}.`,
          });
        }
        break;
      case "replace":
        entry = { property, name, from, to, action: "replace", reason: `${change}: ${rule.reason}`, destroysData: rule.destroysData };
        if (rule.destroysData && !opts.allowDataLoss) {
          plan.failures.push({
            property,
            reason:
              `changing ${name} (${change}) would replace the machine and destroy its disk contents: ${rule.reason}. ` +
              `Set allowDataLoss: true to allow it, or keep ${name} at ${show(from)}.`,
          });
        }
        break;
      case "refuse":
        entry = { property, name, from, to, action: "replace", reason: `${change}: ${rule.reason}` };
        plan.failures.push({ property, reason: `${name} cannot change from ${show(from)} to ${show(to)}: ${rule.reason}` });
        break;
    }
    plan.properties.push(entry);
    plan.overall = strongest(plan.overall, entry.action);
  }
  return plan;
}

/** One line per property, for previews and logs: `memoryMiB: live — 256 → 512: applied live (virtio balloon)`. */
export function describePlan(plan: Plan): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of plan.properties) out[p.name] = `${p.action}: ${p.reason}`;
  return out;
}
