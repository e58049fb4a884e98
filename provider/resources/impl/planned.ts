// What Container and Guest share between planning and the engine: the planned-changes display in the checked
// inputs, the diff derived from the same plan, and the memo that carries a replacement's plan across the
// engine's second check (for a replacement the engine re-checks the new inputs with no old ones).
import type { HypervisorRef } from "../../models/hypervisor";
import { describePlan, Plan, sameValue } from "../../plan/planner";
import { isUnknown } from "./common";

type Props = Record<string, any>;

const pendingReplacements = new Map<string, { overall: string; changes: Record<string, string> }>();

export function replacementKey(p: Props): string {
  const hv = p.hypervisor as HypervisorRef | undefined;
  return `${hv && !isUnknown(hv) ? `${hv.host.facts.machineId}/${hv.host.facts.hostname}` : "?"}/${p.name}`;
}

/** Writes the plan into the checked inputs (what `pulumi preview` shows per property). */
export function recordPlan(inputs: Props, plan: Plan, hasOld: boolean): void {
  inputs.plannedAction = hasOld ? plan.overall : "create";
  inputs.plannedChanges = describePlan(plan);
  const pending = hasOld ? undefined : pendingReplacements.get(replacementKey(inputs));
  if (pending) {
    pendingReplacements.delete(replacementKey(inputs));
    inputs.plannedAction = pending.overall;
    inputs.plannedChanges = pending.changes;
  }
}

/** The engine's diff, from the same plan: replace keys are the inputs the user edits. */
/**
 * sideBySide: the resource builds a replacement beside the old machine under a temporary name and switches when it is
 * ready (Container), so the engine may create before it deletes; otherwise a same-name replacement is delete-first.
 */
export function diffFromPlan(plan: Plan, olds: Props, news: Props, inputNameOf: (key: string) => string, settings: string[], opts: { sideBySide?: boolean } = {}) {
  const replaces = [...new Set(plan.properties.filter((p) => p.action === "replace").map((p) => inputNameOf(p.property)))];
  if (replaces.length) pendingReplacements.set(replacementKey(news), { overall: "replace", changes: describePlan(plan) });
  const connectionMoved = !sameValue((olds.hypervisor as HypervisorRef)?.host?.connection, (news.hypervisor as HypervisorRef)?.host?.connection);
  const settingsChanged = ["allowRestart", "allowDataLoss", "adopt", ...settings].some((k) => !sameValue(olds[k], news[k]));
  return {
    changes: plan.properties.length > 0 || connectionMoved || settingsChanged,
    replaces,
    // Names are unique on a host: the old machine must go before its replacement can take the name.
    deleteBeforeReplace: !opts.sideBySide && isDeleteFirst(replaces, olds, news),
  };
}

/** A replacement that keeps the name on the same host: the old machine must go before a new one can take the name. */
export function isDeleteFirst(replaces: string[], olds: Props, news: Props): boolean {
  return replaces.length > 0 && olds.name === news.name && !replaces.includes("hypervisor");
}
