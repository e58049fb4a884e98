// The contract every backend (lxc, kvm, xen, and any added later) implements, and the one lifecycle
// (provider/lifecycle/machine.ts) drives. A driver knows nothing of Pulumi: it gets typed state and a Remote.
import type { HypervisorKind } from "../models/hypervisor";
import type { MachineState } from "../models/state";
import type { CapabilityTable, PlanView } from "../plan/types";
import type { Remote } from "../ssh/types";

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

/** A problem with the desired state, naming the input property, found without the host. */
export interface SpecProblem {
  property: string;
  reason: string;
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

  // ---- effects (drivers only; all remote effects happen here)
  create(remote: Remote, state: S, opts: { adopt: boolean; resume: boolean }): Promise<{ outcome: CreateOutcome; observed: O | undefined }>;
  /** After a failed create: clean up what can be, and say whether anything was left. */
  afterFailedCreate(remote: Remote, state: S): Promise<CreateLeftover>;
  read(remote: Remote, state: S, opts: { refresh: boolean }): Promise<O | undefined>;
  /** Reads once the machine settled after a create or restart (e.g. a balloon reaching its target). */
  readSettled(remote: Remote, state: S): Promise<O | undefined>;
  applyLive(remote: Remote, change: ChangeContext<S>): Promise<StopOutcome | undefined>;
  rename(remote: Remote, change: ChangeContext<S>): Promise<RenameResult>;
  restart(remote: Remote, change: ChangeContext<S>): Promise<StopOutcome | undefined>;
  destroy(remote: Remote, state: S): Promise<DestroyOutcome>;
  /** Live values overlaid on the desired ones, so refresh shows drift. */
  withObserved(state: S, observed: O): S;
  /** Derived outputs (e.g. a container's connection). */
  outputs(state: S): Partial<S>;
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
}
