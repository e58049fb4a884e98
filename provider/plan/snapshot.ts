// Pure planning of snapshots: the safety net's step before a disruptive change, and a Snapshot's own changes.
// No I/O. Preview, `up` and `pulumi-virt review` read the same text.
import type { Action } from "./types";
import { show } from "./planner";

export type SnapshotBeforeSetting = "never" | "restart" | "replace";

/** plannedChanges key of the safety net's step. */
export const SAFETY_NET_KEY = "snapshotBefore";

/** Whether `up` takes a snapshot before applying a change of this overall action. */
export function takesSnapshotFirst(overall: Action, before: SnapshotBeforeSetting | undefined): boolean {
  if (before === "restart") return overall === "restart" || overall === "replace";
  if (before === "replace") return overall === "replace";
  return false;
}

/**
 * The safety net's line in preview: `restart — a snapshot is taken first (...)`. Undefined when no snapshot is taken.
 * `survives` says what of the machine outlives a replacement (the snapshot's way back).
 */
export function safetyNetStep(overall: Action, before: SnapshotBeforeSetting | undefined, keep: number, what: { noun: string; covers: string; survives: string }): string | undefined {
  if (!takesSnapshotFirst(overall, before)) return undefined;
  const kept = `the last ${keep} of the safety net's snapshots are kept`;
  const way = overall === "replace" ? `; it outlives the replacement (${what.survives})` : "";
  return `${overall} — a snapshot is taken first: pv-auto-<time> of the ${what.noun}'s ${what.covers}${way}; ${kept} (snapshotBefore: "${before}")`;
}

/** What a Snapshot's change does, from its old and new inputs (same shape as a machine's plan lines). */
export interface SnapshotPlan {
  overall: Action;
  changes: Record<string, string>;
}

export interface SnapshotPlanInput {
  name: string;
  machineName: string;
  restore?: string;
}

export function planSnapshot(old: SnapshotPlanInput | undefined, next: SnapshotPlanInput, noun: string): SnapshotPlan {
  if (!old) return { overall: "none", changes: {} };
  const changes: Record<string, string> = {};
  let overall: Action = "none";
  if (old.name !== next.name) {
    changes.name = `replace: ${old.name} → ${next.name}: a new snapshot is taken and the old one deleted`;
    overall = "replace";
  }
  if (old.machineName !== next.machineName) {
    changes.machine = `replace: ${old.machineName} → ${next.machineName}: a snapshot of the other machine is taken and this one deleted`;
    overall = "replace";
  }
  if (overall === "none" && next.restore !== undefined && next.restore !== old.restore) {
    changes.restore =
      `restart: ${show(old.restore)} → ${next.restore}: the ${noun} "${next.machineName}" is stopped, rolled back to snapshot "${next.name}" ` +
      `and started again (a new init/QEMU process; name, UUID and MAC stay)`;
    overall = "restart";
  } else if (overall === "none" && next.restore !== old.restore) {
    changes.restore = `settings only: ${show(old.restore)} → ${show(next.restore)}: nothing is restored; the machine is not touched`;
  }
  return { overall, changes };
}
