import * as pulumi from "@pulumi/pulumi";
import type { Container } from "./container";
import type { Guest } from "./guest";
import { LazyResource } from "./dynamic";
import { mergeDeps } from "./ref";

export interface SnapshotArgs {
  /** The Container (lxc) or Guest (kvm) it is a snapshot of. Xen PV guests have none (refused at preview). */
  machine: Container | Guest;
  /** 1-40 lowercase letters, digits or '-'; on the host "pv-<name>". A new name takes a new snapshot. */
  name: pulumi.Input<string>;
  /** Set (or change) to roll the machine back to this snapshot, once per new value: a restart, shown in preview. */
  restore?: pulumi.Input<string>;
}

/**
 * A snapshot of a Container (its root filesystem) or a kvm Guest (its qcow2 disks, and its memory when it runs).
 * Deleting the resource deletes the snapshot; `restore` rolls the machine back to it.
 */
export class Snapshot extends LazyResource {
  declare public readonly name: pulumi.Output<string>;
  /** The snapshot's name on the host ("pv-<name>"). */
  declare public readonly hostName: pulumi.Output<string>;
  declare public readonly takenAt: pulumi.Output<string>;
  declare public readonly sizeBytes: pulumi.Output<number>;
  /** What it covers: disks ("rootfs" for a container, device names for a guest) and whether memory is included. */
  declare public readonly covers: pulumi.Output<{ disks: string[]; memory: boolean }>;
  declare public readonly plannedChanges: pulumi.Output<Record<string, string>>;
  declare public readonly plannedAction: pulumi.Output<string>;
  declare public readonly lastApplied: pulumi.Output<{ at: string; action: string; changes: Record<string, string> }>;

  constructor(name: string, args: SnapshotArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      "snapshot",
      name,
      {
        name: args.name,
        restore: args.restore,
        hypervisor: pulumi.secret(args.machine.hypervisor),
        machineName: args.machine.name,
        machineToken: args.machine.ownerToken,
        plannedChanges: undefined, plannedAction: undefined, lastApplied: undefined, hostName: undefined, takenAt: undefined, sizeBytes: undefined, covers: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "hypervisor"], dependsOn: mergeDeps(opts?.dependsOn, args.machine) },
      "pulumi-virt",
      "Snapshot",
    );
  }
}
