// Typed state of the machine resources: the checked args (from the zod models) plus what check and apply add.
// The engine hands state over as plain JSON; `fromEngine` is the one place that gives it these types.
import type { ContainerArgs } from "./container";
import type { GuestArgs } from "./guest";
import type { HypervisorRef } from "./hypervisor";

/** The planned action shown in preview; "create" for a new resource. */
export type PlannedAction = "none" | "live" | "restart" | "replace" | "create";

/** What the last `up` did. */
export interface LastApplied {
  at: string;
  action: PlannedAction;
  changes: Record<string, string>;
  /** How the machine was stopped, when the change stopped it. */
  stoppedBy?: string;
  /** The safety net's snapshot taken before this change (snapshotBefore). */
  snapshot?: string;
}

/** Inputs every machine (Container, Guest) has besides its args, and the outputs the lifecycle adds. */
export interface MachineCommon {
  name: string;
  hypervisor: HypervisorRef;
  allowRestart: boolean;
  allowDataLoss: boolean;
  adopt: boolean;
  plannedAction?: PlannedAction;
  plannedChanges?: Record<string, string>;
  /** What the host reported; null marks a create that failed part-way (a later `up` resumes it). */
  observed?: unknown;
  lastApplied?: LastApplied;
  /** The token that says on the host which resource owns the machine (see lifecycle/support.ts ownerTokenOf). */
  ownerToken?: string;
  /** The resource's stable key, computed by its class (resources/container.ts); absent for Guests. */
  ownerKey?: string;
  /**
   * Only in the inputs `pulumi import` writes (lifecycle importMachine): the Hypervisor ref the machine was read
   * through. It is not an input property, so the code the import generates never holds the connection, and the first
   * check after the import plans from it as from the `hypervisor` a created machine's inputs hold.
   */
  importedHypervisor?: HypervisorRef;
}

/** A connection shaped like @pulumi/command's remote.Connection (secret: it holds the host's credentials). */
export type CommandConnection = Record<string, unknown>;

export type ContainerState = ContainerArgs & MachineCommon & {
  connection?: CommandConnection;
  /** Its NIC's addresses (output), read in the container's network namespace on the host. */
  addresses?: GuestNicAddresses[];
  /** The SSH host key pulumi-virt generated and installed into the container's rootfs at create (secret). */
  sshHostKey?: GuestSshHostKey;
};
/** A guest's addresses per NIC (output): what it really has, from static config, DHCP leases and the neighbour table. */
export interface GuestNicAddresses {
  mac: string;
  bridge: string;
  ipv4: string[];
  ipv6: string[];
}

/** The SSH host key pulumi-virt generated for a guest and injected through cloud-init (secret; kept in state). */
export interface GuestSshHostKey {
  privateKey: string;
  publicKey: string;
}

export type GuestState = GuestArgs & MachineCommon & {
  emulated?: boolean;
  connection?: CommandConnection;
  addresses?: GuestNicAddresses[];
  sshHostKey?: GuestSshHostKey;
};
export type MachineState = ContainerState | GuestState;

/** Properties as the engine passes them (JSON). */
export type EngineProps = Record<string, unknown>;

/**
 * The engine's JSON as typed state. Old state was written by check/create/update of this provider (checked
 * inputs), so it has the checked shape; new inputs are parsed by the models in check before they get here.
 */
export function fromEngine<S>(props: EngineProps): S {
  return props as unknown as S;
}

/** Typed state back to the engine's JSON. */
export function toEngine<S>(state: S): EngineProps {
  return state as unknown as EngineProps;
}
