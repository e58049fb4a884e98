import * as pulumi from "@pulumi/pulumi";
import type { HostRef } from "../models/host";
import type { HypervisorKind, HypervisorRef } from "../models/hypervisor";
import type { Host } from "./host";
import { LazyResource } from "./dynamic";

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
}

/** The virtualization layer on a Host: lxc (containers), kvm (libvirt + QEMU), xen (xl, paravirtualization). */
export class Hypervisor extends LazyResource {
  declare public readonly kind: pulumi.Output<HypervisorKind>;
  declare public readonly emulated: pulumi.Output<boolean>;
  declare public readonly version: pulumi.Output<string>;
  declare public readonly capabilities: pulumi.Output<Record<string, string>>;
  declare public readonly capacity: pulumi.Output<{ cpus: number; memoryMiB: number }>;
  declare public readonly bridge: pulumi.Output<string>;
  declare public readonly storageDir: pulumi.Output<string>;
  declare public readonly details: pulumi.Output<Record<string, unknown>>;
  /** What Guests and Containers need (secret: carries the host connection). */
  public readonly ref: pulumi.Output<HypervisorRef>;

  constructor(name: string, args: HypervisorArgs, opts?: pulumi.CustomResourceOptions) {
    const hostRef = isHost(args.host) ? args.host.ref : pulumi.output(args.host);
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
        emulated: undefined, version: undefined, capabilities: undefined, capacity: undefined, details: undefined,
      },
      { ...opts, additionalSecretOutputs: ["host"], dependsOn: mergeDeps(opts?.dependsOn, isHost(args.host) ? args.host : undefined) },
      "pulumi-virt",
      "Hypervisor",
    );
    this.ref = pulumi.secret(
      pulumi.all([this.kind, this.emulated, this.bridge, this.storageDir, hostRef]).apply(
        ([kind, emulated, bridge, storageDir, host]) => ({ kind, emulated, bridge, storageDir, host }) as HypervisorRef,
      ),
    );
  }
}

function isHost(h: unknown): h is Host {
  return pulumi.CustomResource.isInstance(h) && "ref" in h && h.ref !== undefined;
}

export function mergeDeps(
  a: pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource> | undefined,
  b: pulumi.Resource | undefined,
): pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource> | undefined {
  if (!b) return a;
  if (!a) return [b];
  const deps: pulumi.Output<pulumi.Resource[]> = pulumi.output(a).apply((x) => [...(Array.isArray(x) ? x : [x]), b] as pulumi.Resource[]);
  return deps;
}
