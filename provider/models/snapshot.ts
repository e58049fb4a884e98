// Snapshots: the Snapshot resource's model, and the safety net (snapshotBefore, keep) of Containers and Guests.
import { z } from "zod";
import { count } from "./common";
import type { HypervisorRef } from "./hypervisor";
import type { LastApplied, PlannedAction } from "./state";

export const SNAPSHOT_BEFORE = ["never", "restart", "replace"] as const;
export type SnapshotBefore = (typeof SNAPSHOT_BEFORE)[number];

/** The safety net's fields, shared by the Container and Guest models. */
export const safetyNetFields = {
  /**
   * Take a snapshot before `up` applies a disruptive change: "restart" before every restart or replacement,
   * "replace" before replacements only, "never" (default).
   */
  snapshotBefore: z.enum(SNAPSHOT_BEFORE, { error: 'expected "never", "restart" or "replace"' }).default("never"),
  /** How many of the safety net's snapshots are kept (the oldest go first). */
  keep: count("snapshots", 1, 100).default(3),
};

/** Prefix of every snapshot pulumi-virt makes on a host; the safety net's have AUTO_PREFIX. */
export const HOST_PREFIX = "pv-";
export const AUTO_PREFIX = "pv-auto-";

export const snapshotArgsSchema = z
  .object({
    /** The snapshot's name (on the host: "pv-<name>"). */
    name: z
      .string({ error: "expected a string" })
      .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { error: "expected 1-40 lowercase letters, digits or '-', starting with a letter or digit" })
      .refine((n) => !n.startsWith("auto-"), { error: 'names starting with "auto-" are the safety net\'s (snapshotBefore); choose another' }),
    /**
     * Set (or change) to roll the machine back to this snapshot: each new value restores once. A restore stops the
     * machine, puts the snapshot back and starts it again: a restart, shown in preview.
     */
    restore: z.string({ error: "expected a string" }).regex(/^[A-Za-z0-9._:-]{1,64}$/, { error: "expected 1-64 letters, digits or . _ : -" }).optional(),
  })
  .strict();
export type SnapshotArgs = z.infer<typeof snapshotArgsSchema>;

/** What the snapshot holds, as the host reported it. */
export interface SnapshotCovers {
  disks: string[];
  memory: boolean;
}

export type SnapshotState = SnapshotArgs & {
  hypervisor: HypervisorRef;
  /** The Container or Guest it is of, and that resource's owner token (only its snapshots are addressed). */
  machineName: string;
  machineToken: string;
  plannedAction?: PlannedAction;
  plannedChanges?: Record<string, string>;
  lastApplied?: LastApplied;
  /** Outputs. */
  hostName?: string;
  takenAt?: string;
  sizeBytes?: number;
  covers?: SnapshotCovers;
};

export function hostSnapshotName(name: string): string {
  return `${HOST_PREFIX}${name}`;
}

/** A safety-net snapshot's name: sortable by time, unique per second. */
export function autoSnapshotName(at: Date): string {
  return `${AUTO_PREFIX}${at.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").toLowerCase()}`;
}
