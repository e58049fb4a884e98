// The contract every backend (lxc, kvm, xen, and any added later) implements, and the one lifecycle
// (provider/lifecycle/machine.ts) drives. A driver knows nothing of Pulumi: it gets typed state and a Remote.
import type { HostFacts } from "../models/host";
import type { HypervisorKind, HypervisorRef } from "../models/hypervisor";
import type { MachineState } from "../models/state";
import type { CapabilityTable, PlanView } from "../plan/types";
import type { MachineAllocation } from "../plan/capacity";
import type { ExecOptions, Remote } from "../ssh/types";

/** One vocabulary for how a stop ended, in every driver. */
export type StopOutcome = "graceful" | "destroyed" | "already-off";

/** One vocabulary for create and destroy, in every driver. */
export type CreateOutcome = "created" | "adopted" | "resumed";
export type DestroyOutcome = "destroyed" | "absent";

/** A machine of that name exists on the host and is not ours (create without adopt). */
export class MachineExistsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MachineExistsError";
  }
}

/** A machine of that name on the host belongs to another pulumi-virt resource (its owner token is not ours). */
export class MachineOwnedElsewhereError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MachineOwnedElsewhereError";
  }
}

/**
 * Who may change a machine: the token that says on the host which resource owns it (derived from the resource's id),
 * and whether the program takes over a machine another resource owns (adopt).
 */
export interface Owner {
  token: string;
  adopt: boolean;
  /**
   * The resource's stable key (organization, project, stack, name) when its class computes one: a create of this very
   * resource that the engine never recorded (the CLI was killed) is resumed by it; another stack's is not.
   */
  key?: string;
}

/** The machine a same-name replacement replaces, for a backend that builds the new one beside it. */
export interface ReplacedMachine {
  name: string;
  token: string;
  stopTimeoutSec: number;
  wasRunning: boolean;
}

/** A problem with the desired state, naming the input property, found without the host. */
export interface SpecProblem {
  property: string;
  reason: string;
}

/** A driver's spec validation (which throws on the first problem) as the problem list check reports. */
export function problemsOf(validate: () => void): SpecProblem[] {
  try {
    validate();
    return [];
  } catch (e) {
    return [{ property: "(spec)", reason: (e as Error).message }];
  }
}

/** What a failed create left on the host: nothing (forget it) or something a later `up` resumes. */
export type CreateLeftover = "nothing" | "resumable";

/** What a rename did: some drivers rename by redefining the whole machine, which already applies a restart. */
export interface RenameResult {
  stopped?: StopOutcome;
  /** The machine already runs with the new spec: no separate restart is needed. */
  restarted: boolean;
}

export interface ChangeContext<S> {
  olds: S;
  news: S;
  owner: Owner;
  /** View keys the plan changes (e.g. memoryMiB, dataDiskSizeMiB:logs). */
  changed: ReadonlySet<string>;
}

/**
 * A backend for one kind of machine. `S` is the resource's typed state, `K` the keys of the view the planner compares,
 * `O` what a read observes on the host.
 */
export interface MachineDriver<S extends MachineState, K extends string, O> {
  readonly kind: HypervisorKind;
  /** Which resource this backend serves (a Container on lxc, a Guest on kvm or xen). */
  readonly resource: "Container" | "Guest";
  /** The form this backend runs, as the reference names it (e.g. "full", "para", "lxc"). */
  readonly form: string;
  /** Prefix of the ids of machines it creates. */
  readonly idPrefix: string;

  // ---- planning (pure)
  /** The typed flat map of plannable properties. */
  view(state: S): PlanView<K>;
  /** Lines two views up before comparing (e.g. a data disk that appears compares as absent 0 → present 1). */
  alignViews?(old: PlanView<K>, next: PlanView<K>): [PlanView<K>, PlanView<K>];
  /** The effective capability table: the only one (planner, Hypervisor.capabilities, schema.json, README). */
  capabilities(old: S | undefined): CapabilityTable<K>;
  /** Named variants of the table for the reference (e.g. per container filesystem); key → a representative state. */
  readonly referenceVariants?: Readonly<Record<string, Partial<S>>>;
  /** What the user edits for a view key: for messages (`disk.size`) and for the engine's replace keys (`disk`). */
  displayName(key: string): string;
  inputName(key: string): string;
  /** Refusals the driver would make, found at check from the typed state (must be empty for model-valid input). */
  specProblems(state: S): SpecProblem[];
  /** View keys whose values can carry secrets: planned as [secret]. */
  readonly secretKeys: readonly string[];
  /**
   * How a replacement that keeps the name on the same host goes: "beside" (the new machine is built under a temporary
   * name and switched in; the engine may create before it deletes) or "delete-first" (preview says so).
   */
  readonly sameNameReplacement: "beside" | "delete-first";

  // ---- effects (drivers only; all remote effects happen here)
  /** resume: finish a create that failed part-way; legacy: that create was recorded before owner tokens. */
  create(remote: Remote, state: S, opts: { owner: Owner; resume: boolean; legacy: boolean }): Promise<{ outcome: CreateOutcome; observed: O | undefined }>;
  /** Builds a same-name replacement beside the old machine, then switches (only for sameNameReplacement "beside"). */
  replaceBeside?(remote: Remote, state: S, old: ReplacedMachine, owner: Owner): Promise<O | undefined>;
  /** Which resource's token the machine carries, from a read ("" or undefined: none, e.g. from before tokens). */
  ownerOf(observed: O): string | undefined;
  /** Writes our token to the machine before a change; refuses (MachineOwnedElsewhereError) one owned elsewhere. */
  claim(remote: Remote, state: S, owner: Owner): Promise<void>;
  /** After a failed create: clean up what can be, and say whether anything was left. */
  afterFailedCreate(remote: Remote, state: S): Promise<CreateLeftover>;
  read(remote: Remote, state: S, opts: { refresh: boolean }): Promise<O | undefined>;
  /** Reads once the machine settled after a create or restart (e.g. a balloon reaching its target). */
  readSettled(remote: Remote, state: S): Promise<O | undefined>;
  applyLive(remote: Remote, change: ChangeContext<S>): Promise<StopOutcome | undefined>;
  rename(remote: Remote, change: ChangeContext<S>): Promise<RenameResult>;
  restart(remote: Remote, change: ChangeContext<S>): Promise<StopOutcome | undefined>;
  /** Refuses (MachineOwnedElsewhereError) a machine of that name another resource owns. */
  destroy(remote: Remote, state: S, owner: Owner): Promise<DestroyOutcome>;
  /** Live values overlaid on the desired ones, so refresh shows drift. */
  withObserved(state: S, observed: O): S;
  /** Derived outputs (e.g. a container's connection; a guest's addresses), from the state and its `observed`. */
  outputs(state: S): Partial<S>;
  /**
   * `pulumi import` (the plugin): the args of an existing machine, from a read, as a program would declare them
   * (before the model's defaults). Absent: the backend cannot be imported. Throws for a machine pulumi-virt could
   * not manage as it is (the message says why).
   */
  importedArgs?(observed: O, facts: HostFacts, hypervisor: HypervisorRef): Record<string, unknown>;
  /**
   * State the provider makes before a create (olds undefined) or an update (e.g. a guest's SSH host key, generated
   * once and then carried over from the old state).
   */
  prepare?(state: S, olds: S | undefined): Partial<S>;
  /** Snapshots of this backend's machines; a backend without them is refused at check (Snapshot, snapshotBefore). */
  readonly snapshots?: SnapshotDriver;
}

/** What one snapshot holds, as the host reports it. */
export interface SnapshotInfo {
  /** The snapshot's name on the host (always "pv-..."). */
  name: string;
  /** When it was taken (ISO 8601). */
  takenAt: string;
  /** Bytes it occupies on the host (see the backend's `method` for what is counted). */
  sizeBytes: number;
  /** What it covers: the disks (by device or "rootfs") and whether the memory state is included. */
  covers: { disks: string[]; memory: boolean };
}

/**
 * Snapshots of one machine, addressed by the machine's name and its owner's token: a snapshot is made with that
 * token on the host and only a call with the same token restores or removes it (never one pulumi-virt did not make).
 */
export interface SnapshotDriver {
  /** How a snapshot is made and what it is, for the reference. */
  readonly method: string;
  /** What a snapshot covers, for preview ("root filesystem"). */
  readonly covers: string;
  /** What of it outlives a replacement of the machine, and how a user restores that by hand (preview, README). */
  readonly afterReplacement: string;
  /** Takes it (idempotent: a snapshot of that name and token already there is reported, not taken again). */
  take(remote: Remote, machine: string, snapshot: string, token: string): Promise<SnapshotInfo>;
  /** Stops the machine, rolls it back to the snapshot and starts it again if it was running (a restart). */
  restore(remote: Remote, machine: string, snapshot: string, token: string): Promise<StopOutcome>;
  remove(remote: Remote, machine: string, snapshot: string, token: string): Promise<"removed" | "absent">;
  /** This token's snapshots of the machine whose names start with `prefix`, oldest first. */
  list(remote: Remote, machine: string, token: string, prefix: string): Promise<SnapshotInfo[]>;
}

/** What a Hypervisor resource needs from a backend. */
export interface HostDriver {
  readonly kind: HypervisorKind;
  /** Debian packages the stack needs (installed on `install: true`). */
  readonly packages: readonly string[];
  verify(remote: Remote): Promise<{ version: string; details: Record<string, unknown> }>;
  /** Prepares the host for machines (e.g. the storage directory); not run on refresh. */
  prepare(remote: Remote, storageDir: string): Promise<void>;
  install(remote: Remote): Promise<void>;
  /**
   * Refresh only: start reading every machine of this kind on the host now, so the engine's later refresh reads of
   * them are answered without a round trip of their own (the read rides with the verify; ssh/read-batch.ts).
   */
  prefetchForRefresh?(remote: Remote): void;
}

/** What one backend reports of every machine of its kind on a host, managed or not, for the capacity check. */
export interface KindAllocations {
  machines: MachineAllocation[];
  /** The host's real capacity when the host's own figures understate it (a Xen dom0 sees only its share). */
  capacity?: { cpus: number; memoryMiB: number };
}

/** A backend's read of its machines' sizes: one read-only script (the caller passes coalescing options). */
export interface AllocationReader {
  readonly kind: HypervisorKind;
  read(remote: Remote, opts: ExecOptions): Promise<KindAllocations>;
}
