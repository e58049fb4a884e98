import * as pulumi from "@pulumi/pulumi";
import type { HostRef } from "../models/host";
import { effectiveOvercommit, type HypervisorKind, type HypervisorRef } from "../models/hypervisor";
import { hypervisorRefFrom } from "../models/refs";
import type { Host } from "./host";
import { LazyResource } from "./dynamic";
import { dependsOnRef, refOf } from "./ref";

export interface HypervisorArgs {
  /** The Host (or its `ref`). */
  host: Host | pulumi.Input<HostRef>;
  kind: pulumi.Input<HypervisorKind>;
  /** kvm on a host without VT-x/AMD-V: accept QEMU software emulation (TCG). Required there; shown in outputs. */
  allowEmulation?: pulumi.Input<boolean>;
  /** Install missing packages with apt during create. */
  install?: pulumi.Input<boolean>;
  bridge?: pulumi.Input<string>;
  storageDir?: pulumi.Input<string>;
  /** How far the machines' sizes may exceed the host's capacity, checked at preview (defaults per kind: see the README). */
  overcommit?: pulumi.Input<{ cpu?: pulumi.Input<number>; memory?: pulumi.Input<number>; disk?: pulumi.Input<number> }>;
}

/** CPUs, memory and disk (of the storage directory's filesystem). */
export interface CapacityAmounts {
  cpus: number;
  memoryMiB: number;
  diskMiB: number;
}

/** The virtualization layer on a Host: lxc (containers), kvm (libvirt + QEMU), xen (xl, paravirtualization). */
export class Hypervisor extends LazyResource {
  declare public readonly kind: pulumi.Output<HypervisorKind>;
  declare public readonly emulated: pulumi.Output<boolean>;
  declare public readonly version: pulumi.Output<string>;
  declare public readonly capabilities: pulumi.Output<Record<string, string>>;
  /** The host's CPUs and memory (a Xen dom0: the machine's), and the size of the storage directory's filesystem. */
  declare public readonly capacity: pulumi.Output<CapacityAmounts>;
  /** What every machine on the host (any stack, or not pulumi-virt's) is promised; refreshed by `pulumi refresh`. */
  declare public readonly committed: pulumi.Output<CapacityAmounts>;
  /** capacity × overcommit − committed: what is left to promise. */
  declare public readonly free: pulumi.Output<CapacityAmounts>;
  /** The effective overcommit (defaults applied). */
  declare public readonly overcommit: pulumi.Output<{ cpu: number; memory: number; disk: number }>;
  declare public readonly bridge: pulumi.Output<string>;
  declare public readonly storageDir: pulumi.Output<string>;
  declare public readonly details: pulumi.Output<Record<string, unknown>>;
  /** What Guests and Containers need (secret: carries the host connection). */
  public readonly ref: pulumi.Output<HypervisorRef>;

  constructor(name: string, args: HypervisorArgs, opts?: pulumi.CustomResourceOptions) {
    const hostRef = refOf(args.host);
    super(
      "hypervisor",
      name,
      {
        host: pulumi.secret(hostRef),
        kind: args.kind,
        allowEmulation: args.allowEmulation,
        install: args.install,
        bridge: args.bridge,
        storageDir: args.storageDir,
        overcommit: args.overcommit,
        emulated: undefined, version: undefined, capabilities: undefined, capacity: undefined, details: undefined,
        committed: undefined, free: undefined,
      },
      { ...opts, additionalSecretOutputs: ["host"], dependsOn: dependsOnRef(opts?.dependsOn, args.host) },
      "pulumi-virt",
      "Hypervisor",
    );
    this.ref = pulumi.secret(
      // The ratios come from the input, not the `overcommit` output: a state saved before that output existed has
      // none, and a missing output is unknown at preview, which would make every dependent machine's inputs unknown.
      pulumi.all([this.kind, this.emulated, this.bridge, this.storageDir, hostRef, pulumi.output(args.overcommit)]).apply(
        ([kind, emulated, bridge, storageDir, host, given]) =>
          hypervisorRefFrom({ kind, emulated, bridge, storageDir, host }, given ? effectiveOvercommit(kind, given) : undefined) as HypervisorRef,
      ),
    );
  }
}
