// The safety net: a snapshot before `up` applies a restart or replacement (snapshotBefore, keep), and the words
// preview and errors use for it. Called by the machine lifecycle (machine.ts) at its disruptive steps.
import type { MachineDriver, SnapshotInfo } from "../drivers/contract";
import { AUTO_PREFIX, autoSnapshotName } from "../models/snapshot";
import type { MachineState } from "../models/state";
import { safetyNetStep, SAFETY_NET_KEY, takesSnapshotFirst } from "../plan/snapshot";
import type { Action } from "../plan/types";
import type { Remote } from "../ssh/types";

type Driver = MachineDriver<MachineState, string, unknown>;

/** The settings of a state saved before the safety net existed read as its defaults. */
function settingsOf(s: MachineState): { before: MachineState["snapshotBefore"]; keep: number } {
  return { before: s.snapshotBefore ?? "never", keep: s.keep ?? 3 };
}

/** The safety net's plannedChanges line for a planned action, if it takes a snapshot. */
export function safetyNetLine(d: Driver | undefined, s: MachineState, overall: Action, noun: string): Record<string, string> {
  const { before, keep } = settingsOf(s);
  if (!d?.snapshots) return {};
  const line = safetyNetStep(overall, before, keep, { noun, covers: d.snapshots.covers, survives: d.snapshots.afterReplacement });
  return line ? { [SAFETY_NET_KEY]: line } : {};
}

/** Refusal at check: the safety net on a backend without snapshots. */
export function safetyNetProblems(d: Driver, s: MachineState): { property: string; reason: string }[] {
  if (settingsOf(s).before === "never" || d.snapshots) return [];
  return [{
    property: "snapshotBefore",
    reason: `${d.kind} machines have no snapshots in pulumi-virt (${NO_SNAPSHOTS[d.kind] ?? "the backend offers none"}), so no snapshot can be taken before a change. ` +
      `Set snapshotBefore: "never" (allowed: "never", "restart", "replace").`,
  }];
}

/** Why a backend has no snapshots, for check's messages. */
export const NO_SNAPSHOTS: Record<string, string> = {
  xen: "xl has no snapshot command: `xl save` checkpoints a PV domain's memory to a file and stops it, its disks are not part of it",
};

/**
 * Takes the safety net's snapshot when the setting asks for one before a change of this action, then removes the
 * oldest beyond `keep`. Returns it (undefined: none asked for).
 */
export async function snapshotFirst(remote: Remote, d: Driver, s: MachineState, machine: string, token: string, overall: Action): Promise<SnapshotInfo | undefined> {
  const { before, keep } = settingsOf(s);
  if (!takesSnapshotFirst(overall, before) || !d.snapshots) return undefined;
  const info = await d.snapshots.take(remote, machine, autoSnapshotName(new Date()), token);
  const all = await d.snapshots.list(remote, machine, token, AUTO_PREFIX);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await d.snapshots.remove(remote, machine, old.name, token);
  return info;
}

/** An apply that failed after the safety net's snapshot: the error names it, and it stays. */
export function withSnapshotNote(err: Error, snap: SnapshotInfo | undefined, machine: string): Error {
  if (!snap) return err;
  err.message += ` The snapshot "${snap.name}" of "${machine}" taken before this change is kept: restore it (a Snapshot resource's restore, or by hand: see README, Snapshots).`;
  return err;
}
