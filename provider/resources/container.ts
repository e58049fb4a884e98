import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { HypervisorRef } from "../models/hypervisor";
import type { Hypervisor } from "./hypervisor";
import { isImage, type Image } from "./image";
import { LazyResource } from "./dynamic";
import { dependsOnRef, refOf } from "./ref";

type Size = number | string;

export interface ContainerArgs {
  /** An lxc Hypervisor (or its `ref`). */
  hypervisor: Hypervisor | pulumi.Input<HypervisorRef>;
  name: pulumi.Input<string>;
  /** "busybox" (default), "debian:bookworm", an absolute path to a rootfs tarball on the host, or a rootfs Image (its path). */
  template?: pulumi.Input<string> | Image;
  /** Must be the host's (containers share its kernel). Defaults to the host's. */
  osFamily?: pulumi.Input<string>;
  cpus?: pulumi.Input<number>;
  cpuQuotaPercent?: pulumi.Input<number>;
  cpuShares?: pulumi.Input<number>;
  /** MiB, or a string with a unit ("512MiB", "1GiB"). */
  memory: pulumi.Input<Size>;
  swap?: pulumi.Input<Size>;
  disk?: pulumi.Input<{ size: pulumi.Input<Size>; fstype?: pulumi.Input<"xfs" | "btrfs" | "ext4"> }>;
  network?: pulumi.Input<{ bridge?: pulumi.Input<string>; address?: pulumi.Input<string>; gateway?: pulumi.Input<string>; hwaddr?: pulumi.Input<string> }>;
  environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  running?: pulumi.Input<boolean>;
  autostart?: pulumi.Input<boolean>;
  stopTimeoutSec?: pulumi.Input<number>;
  /** Shut down gracefully (up to stopTimeoutSec) on destroy instead of a kill. */
  gracefulDestroy?: pulumi.Input<boolean>;
  /** Allow changes that restart the container (rename, network). Otherwise they fail at preview. */
  allowRestart?: pulumi.Input<boolean>;
  /** Allow replacements that destroy the container's disk (disk shrink, fstype change). */
  allowDataLoss?: pulumi.Input<boolean>;
  /** Take over an existing container with this name. */
  adopt?: pulumi.Input<boolean>;
  /**
   * Create, restart and replace finish only when the container has an address, or answers SSH with the host key
   * pulumi-virt installed into it (an SSH server in the container is needed), bounded by timeoutSec (default 300).
   */
  waitFor?: pulumi.Input<{ address?: pulumi.Input<boolean | "ipv4" | "ipv6">; ssh?: pulumi.Input<boolean>; timeoutSec?: pulumi.Input<number> }>;
  /** Snapshot the root filesystem before a restart or replacement ("restart"), before replacements only ("replace"), or "never" (default). */
  snapshotBefore?: pulumi.Input<"never" | "restart" | "replace">;
  /** How many of those snapshots are kept (default 3). */
  keep?: pulumi.Input<number>;
}

/** A system container on an lxc Hypervisor. CPU, memory and disk grow change live, without restart. */
export class Container extends LazyResource {
  declare public readonly name: pulumi.Output<string>;
  declare public readonly memory: pulumi.Output<number>;
  declare public readonly cpus: pulumi.Output<number | undefined>;
  /** Per property: the action preview planned (live / restart / replace) and why. */
  declare public readonly plannedChanges: pulumi.Output<Record<string, string>>;
  declare public readonly plannedAction: pulumi.Output<string>;
  /** What the last `up` did. */
  declare public readonly lastApplied: pulumi.Output<{ at: string; action: string; changes: Record<string, string> }>;
  /** Live values read from the host (init PID, limits, disk size). */
  declare public readonly observed: pulumi.Output<Record<string, unknown>>;
  /** Its NIC's addresses as the container has them (read on the host, in its network namespace); refreshed. */
  declare public readonly addresses: pulumi.Output<{ mac: string; bridge: string; ipv4: string[]; ipv6: string[] }[]>;
  /**
   * A @pulumi/command remote.Connection into the container via its host: its static address, or the address it got
   * (DHCP), pinned to the SSH host key pulumi-virt generated and installed into it. Secret.
   */
  declare public readonly connection: pulumi.Output<Record<string, unknown> | undefined>;
  /** Its Hypervisor's ref (secret), and the token that says on the host which resource owns it: what a Snapshot needs. */
  declare public readonly hypervisor: pulumi.Output<HypervisorRef>;
  declare public readonly ownerToken: pulumi.Output<string>;

  constructor(name: string, args: ContainerArgs, opts?: pulumi.CustomResourceOptions) {
    const hv = refOf(args.hypervisor);
    const { hypervisor: _h, template, ...others } = args;
    const rest = { ...others, ...(template !== undefined ? { template: isImage(template) ? template.path : template } : {}) };
    super(
      "container",
      name,
      // Environment values carry passwords and tokens: secret in state even when the program passes them in plain.
      { ...rest, ownerKey: ownerKeyOf(name), ...(rest.environment !== undefined ? { environment: pulumi.secret(rest.environment) } : {}), hypervisor: pulumi.secret(hv), plannedChanges: undefined, plannedAction: undefined, lastApplied: undefined, observed: undefined, addresses: undefined, connection: undefined, sshHostKey: undefined, ownerToken: undefined },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "hypervisor", "connection", "environment", "sshHostKey"], dependsOn: dependsOnRef(opts?.dependsOn, args.hypervisor) },
      "pulumi-virt",
      "Container",
    );
  }
}

/**
 * The container's stable key: its organization, project, stack and resource name. The host records it beside the
 * owner token, so a create of this very resource that the engine never recorded (the CLI was killed) is resumed,
 * while another stack's container of the same name is not.
 */
function ownerKeyOf(name: string): string {
  const org = (() => { try { return pulumi.getOrganization(); } catch { return ""; } })();
  return createHash("sha256").update(JSON.stringify([org, pulumi.getProject(), pulumi.getStack(), "Container", name])).digest("hex").slice(0, 32);
}

