import * as pulumi from "@pulumi/pulumi";
import type { HypervisorRef } from "../models/hypervisor";
import type { Hypervisor } from "./hypervisor";
import { mergeDeps } from "./hypervisor";
import { LazyResource } from "./dynamic";

type Size = number | string;

export interface GuestArgs {
  /** A kvm Hypervisor for virtualization "full", a xen Hypervisor for "para" (or its `ref`). */
  hypervisor: Hypervisor | pulumi.Input<HypervisorRef>;
  name: pulumi.Input<string>;
  virtualization: pulumi.Input<"full" | "para">;
  vcpus: pulumi.Input<number>;
  /** Upper bound for live vCPU changes, fixed at boot (default: vcpus). */
  maxVcpus?: pulumi.Input<number>;
  memory: pulumi.Input<Size>;
  /** Upper bound for live memory changes (balloon), fixed at boot (default: memory). */
  maxMemory?: pulumi.Input<Size>;
  boot: pulumi.Input<
    | { kernel: pulumi.Input<string>; initrd?: pulumi.Input<string>; cmdline?: pulumi.Input<string> }
    | { firmware: pulumi.Input<"bios" | "uefi"> }
    | { bootloader: pulumi.Input<"pygrub"> }
  >;
  rootDisk?: pulumi.Input<{ baseImage: pulumi.Input<string>; size?: pulumi.Input<Size>; mode?: pulumi.Input<"overlay" | "copy"> }>;
  dataDisks?: pulumi.Input<pulumi.Input<{ name: pulumi.Input<string>; size: pulumi.Input<Size>; bus?: pulumi.Input<"virtio" | "scsi" | "sata">; deleteOnDestroy?: pulumi.Input<boolean> }>[]>;
  network?: pulumi.Input<{ bridge?: pulumi.Input<string>; mac?: pulumi.Input<string> }>;
  cloudInit?: pulumi.Input<{ userData: pulumi.Input<string>; metaData?: pulumi.Input<string>; networkConfig?: pulumi.Input<string> }>;
  running?: pulumi.Input<boolean>;
  autostart?: pulumi.Input<boolean>;
  shutdownTimeoutSec?: pulumi.Input<number>;
  /** Allow changes that restart the guest (raising a maximum, removing vCPUs, boot changes). Otherwise they fail at preview. */
  allowRestart?: pulumi.Input<boolean>;
  /** Allow replacements that destroy disk contents (disk shrink). */
  allowDataLoss?: pulumi.Input<boolean>;
  adopt?: pulumi.Input<boolean>;
  /** Snapshot the disks (and memory when running) before a restart or replacement ("restart"), before replacements only ("replace"), or "never" (default). kvm only. */
  snapshotBefore?: pulumi.Input<"never" | "restart" | "replace">;
  /** How many of those snapshots are kept (default 3). */
  keep?: pulumi.Input<number>;
}

/** A VM: full virtualization on KVM/QEMU (libvirt) or paravirtualized on Xen (xl). */
export class Guest extends LazyResource {
  declare public readonly name: pulumi.Output<string>;
  declare public readonly emulated: pulumi.Output<boolean>;
  declare public readonly plannedChanges: pulumi.Output<Record<string, string>>;
  declare public readonly plannedAction: pulumi.Output<string>;
  declare public readonly lastApplied: pulumi.Output<{ at: string; action: string; changes: Record<string, string> }>;
  declare public readonly observed: pulumi.Output<Record<string, unknown>>;
  /** Its Hypervisor's ref (secret), and the token that says on the host which resource owns it: what a Snapshot needs. */
  declare public readonly hypervisor: pulumi.Output<HypervisorRef>;
  declare public readonly ownerToken: pulumi.Output<string>;

  constructor(name: string, args: GuestArgs, opts?: pulumi.CustomResourceOptions) {
    const hv = isHypervisor(args.hypervisor) ? args.hypervisor.ref : pulumi.output(args.hypervisor);
    const { hypervisor: _h, ...rest } = args;
    super(
      "guest",
      name,
      // cloud-init data carries passwords and keys: secret in state even when the program passes it in plain.
      { ...rest, ...(rest.cloudInit !== undefined ? { cloudInit: pulumi.secret(rest.cloudInit) } : {}), hypervisor: pulumi.secret(hv), emulated: undefined, plannedChanges: undefined, plannedAction: undefined, lastApplied: undefined, observed: undefined, ownerToken: undefined },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "hypervisor", "cloudInit"], dependsOn: mergeDeps(opts?.dependsOn, isHypervisor(args.hypervisor) ? args.hypervisor : undefined) },
      "pulumi-virt",
      "Guest",
    );
  }
}

function isHypervisor(h: unknown): h is Hypervisor {
  return pulumi.CustomResource.isInstance(h) && "ref" in h && h.ref !== undefined;
}
