import * as pulumi from "@pulumi/pulumi";
import type { HypervisorRef } from "../models/hypervisor";
import type { ImageRef } from "../models/image";
import type { GuestCloneRef } from "../models/guest";
import type { Hypervisor } from "./hypervisor";
import { isImage, type Image } from "./image";
import { LazyResource } from "./dynamic";
import { dependsOnRef, refOf } from "./ref";

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
  /**
   * The root disk: a qcow2 overlay on (mode "overlay", default) or a copy of (mode "copy") an `image` (an Image, its
   * ref or its path) or a `baseImage` file already on the host, grown to `size`. A new image (another checksum) is a
   * new path: the guest is replaced, as preview shows.
   */
  rootDisk?: pulumi.Input<{
    baseImage?: pulumi.Input<string>;
    image?: Image | pulumi.Input<ImageRef | string>;
    /**
     * A copy of another Guest's root disk (a Guest of this program or its clone ref; on the same host, stopped at
     * the copy: refused at preview when the program wants it running) or of an Image. "overlay" (default) copies
     * only the source's own layer and shares its read-only base image; "copy" makes a standalone file.
     */
    cloneFrom?: Guest | Image | pulumi.Input<GuestCloneRefArgs | ImageRef>;
    size?: pulumi.Input<Size>;
    mode?: pulumi.Input<"overlay" | "copy">;
  }>;
  dataDisks?: pulumi.Input<pulumi.Input<{ name: pulumi.Input<string>; size: pulumi.Input<Size>; bus?: pulumi.Input<"virtio" | "scsi" | "sata">; deleteOnDestroy?: pulumi.Input<boolean> }>[]>;
  network?: pulumi.Input<{ bridge?: pulumi.Input<string>; mac?: pulumi.Input<string> }>;
  /** Several NICs (instead of `network`): each on a bridge (e.g. a Network's `bridge` output), DHCP unless static addresses are given. */
  nics?: pulumi.Input<pulumi.Input<GuestNicArgs>[]>;
  /** Create, restart and replace finish only when the guest is reachable as asked (bounded by timeoutSec, default 300). */
  waitFor?: pulumi.Input<{ address?: pulumi.Input<boolean | "ipv4" | "ipv6">; ssh?: pulumi.Input<boolean>; cloudInit?: pulumi.Input<boolean>; timeoutSec?: pulumi.Input<number> }>;
  /** The image runs cloud-init (NoCloud), so pulumi-virt can inject and pin the SSH host key (default true for "full"). */
  imageCloudInit?: pulumi.Input<boolean>;
  /** Accept a `connection` without a known host key (an image without cloud-init, a para guest). */
  allowUnpinnedConnection?: pulumi.Input<boolean>;
  /** The `connection` output's user (default root). */
  loginUser?: pulumi.Input<string>;
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

/** A Guest's clone ref field by field (what a Guest object gives: its name and ownerToken outputs, host, running). */
export type GuestCloneRefArgs = { [K in keyof GuestCloneRef]: pulumi.Input<GuestCloneRef[K]> };

export interface GuestNicArgs {
  bridge: pulumi.Input<string>;
  /** Derived from the guest's name and the NIC's position when not given, and kept in state. */
  mac?: pulumi.Input<string>;
  /** Static addresses with prefix length: "10.0.0.5/24", "fd00::5/64". */
  addresses?: pulumi.Input<pulumi.Input<string>[]>;
  gateway4?: pulumi.Input<string>;
  gateway6?: pulumi.Input<string>;
  /** DHCPv4 (default: when the NIC has no static IPv4 address). */
  dhcp4?: pulumi.Input<boolean>;
}

/** A VM: full virtualization on KVM/QEMU (libvirt) or paravirtualized on Xen (xl). */
export class Guest extends LazyResource {
  declare public readonly name: pulumi.Output<string>;
  declare public readonly emulated: pulumi.Output<boolean>;
  declare public readonly plannedChanges: pulumi.Output<Record<string, string>>;
  declare public readonly plannedAction: pulumi.Output<string>;
  declare public readonly lastApplied: pulumi.Output<{ at: string; action: string; changes: Record<string, string> }>;
  declare public readonly observed: pulumi.Output<Record<string, unknown>>;
  /** Per NIC, the addresses the guest has (static config, the host's DHCP leases and neighbour table). */
  declare public readonly addresses: pulumi.Output<{ mac: string; bridge: string; ipv4: string[]; ipv6: string[] }[]>;
  /** A @pulumi/command remote.Connection into the guest, pinned to the host key pulumi-virt injected, via its host. Secret. */
  declare public readonly connection: pulumi.Output<Record<string, unknown> | undefined>;
  /** Its Hypervisor's ref (secret), and the token that says on the host which resource owns it: what a Snapshot needs. */
  declare public readonly hypervisor: pulumi.Output<HypervisorRef>;
  declare public readonly ownerToken: pulumi.Output<string>;
  /** Whether the program wants it running (its checked input). */
  declare public readonly running: pulumi.Output<boolean>;

  constructor(name: string, args: GuestArgs, opts?: pulumi.CustomResourceOptions) {
    const hv = refOf(args.hypervisor);
    const { hypervisor: _h, ...rest } = args;
    if (rest.rootDisk !== undefined) rest.rootDisk = rootDiskInput(rest.rootDisk);
    super(
      "guest",
      name,
      // cloud-init data carries passwords and keys: secret in state even when the program passes it in plain.
      { ...rest, ...(rest.cloudInit !== undefined ? { cloudInit: pulumi.secret(rest.cloudInit) } : {}), hypervisor: pulumi.secret(hv), emulated: undefined, plannedChanges: undefined, plannedAction: undefined, lastApplied: undefined, observed: undefined, running: rest.running, addresses: undefined, connection: undefined, sshHostKey: undefined, ownerToken: undefined },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "hypervisor", "cloudInit", "connection", "sshHostKey"], dependsOn: dependsOnRef(opts?.dependsOn, args.hypervisor) },
      "pulumi-virt",
      "Guest",
    );
  }
}

type RootDiskArg = NonNullable<GuestArgs["rootDisk"]>;

/**
 * `rootDisk.image` reaches the engine as `rootDisk.baseImage`: the Image's path (which depends on the Image); a Guest
 * or Image as `cloneFrom` as its ref (which depends on it).
 */
function rootDiskInput(rd: RootDiskArg): RootDiskArg {
  const pathOf = (image: unknown): pulumi.Input<string> =>
    isImage(image) ? image.path : pulumi.output(image as pulumi.Input<ImageRef | string>).apply((i) => (typeof i === "string" ? i : i.path));
  if (!pulumi.Output.isInstance(rd) && !(rd instanceof Promise)) {
    const { image, cloneFrom, ...plain } = rd as Exclude<RootDiskArg, pulumi.Output<unknown> | Promise<unknown>>;
    const withClone = cloneFrom === undefined ? plain : { ...plain, cloneFrom: cloneRefOf(cloneFrom) };
    return image === undefined ? withClone : { ...withClone, baseImage: pathOf(image) };
  }
  return pulumi.output(rd).apply((r) => {
    const { image, ...plain } = r as { image?: ImageRef | string; baseImage?: string };
    return image === undefined ? r : { ...plain, baseImage: typeof image === "string" ? image : image.path };
  }) as RootDiskArg;
}

/** A Guest as the clone ref check reads: its name and owner token, its host's name (not secret) and its running. */
function cloneRefOf(src: NonNullable<GuestCloneArg>): pulumi.Input<GuestCloneRefArgs | ImageRef> {
  if (isImage(src)) return src.ref;
  if (!isGuest(src)) return src;
  // Field by field, so a field known at preview (running, host) is seen even while another (the token of a source
  // created in the same up) is not.
  return { guest: src.name, ownerToken: src.ownerToken, host: pulumi.unsecret(src.hypervisor.apply((h) => h.host.facts.hostname)), running: src.running };
}

type GuestCloneArg = Exclude<RootDiskArg, pulumi.Output<unknown> | Promise<unknown>>["cloneFrom"];

function isGuest(g: unknown): g is Guest {
  return pulumi.CustomResource.isInstance(g) && "ownerToken" in g && "sshHostKey" in g;
}
