import * as pulumi from "@pulumi/pulumi";
import type { HostRef } from "../models/host";
import type { Host } from "./host";
import { LazyResource } from "./dynamic";
import { dependsOnRef, refOf } from "./ref";

export interface StoragePoolArgs {
  /** The Host (or its `ref`). */
  host: Host | pulumi.Input<HostRef>;
  name: pulumi.Input<string>;
  type: pulumi.Input<"dir" | "btrfs" | "xfs">;
  /** Default /var/lib/pulumi-virt/pools/<name>. */
  path?: pulumi.Input<string>;
  /** btrfs/xfs: the image file's size (MiB or "1GiB"). */
  size?: pulumi.Input<number | string>;
}

/** Where disks and images live on a Host: a directory, or btrfs / xfs (reflink) in a loop-mounted image. */
export class StoragePool extends LazyResource {
  /** The pool's directory: pass it as a Hypervisor's storageDir. */
  declare public readonly path: pulumi.Output<string>;
  declare public readonly capacityMiB: pulumi.Output<number>;
  declare public readonly freeMiB: pulumi.Output<number>;
  declare public readonly plannedAction: pulumi.Output<string>;
  declare public readonly plannedChanges: pulumi.Output<Record<string, string>>;
  declare public readonly lastApplied: pulumi.Output<Record<string, unknown>>;
  declare public readonly observed: pulumi.Output<Record<string, unknown>>;
  declare public readonly capabilities: pulumi.Output<Record<string, string>>;
  declare public readonly hostState: pulumi.Output<string>;

  constructor(name: string, args: StoragePoolArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      "storage-pool",
      name,
      {
        host: pulumi.secret(refOf(args.host)),
        name: args.name, type: args.type, path: args.path, size: args.size,
        capacityMiB: undefined, freeMiB: undefined, plannedAction: undefined, plannedChanges: undefined, lastApplied: undefined,
        observed: undefined, capabilities: undefined, hostState: undefined,
      },
      { ...opts, additionalSecretOutputs: ["host"], dependsOn: dependsOnRef(opts?.dependsOn, args.host) },
      "pulumi-virt",
      "StoragePool",
    );
  }
}
