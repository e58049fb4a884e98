import * as pulumi from "@pulumi/pulumi";
import type { HypervisorRef } from "../models/hypervisor";
import type { ImageRef } from "../models/image";
import { imageRefFrom } from "../models/refs";
import type { Hypervisor } from "./hypervisor";
import { LazyResource } from "./dynamic";
import { dependsOnRef, refOf } from "./ref";

export interface ImageArgs {
  /** The Hypervisor whose host keeps the image (or its `ref`); it lives in the hypervisor's storage directory. */
  hypervisor: Hypervisor | pulumi.Input<HypervisorRef>;
  /** An http(s) URL the host downloads from, or an absolute path of a file already on the host. */
  source: pulumi.Input<string>;
  /** "sha256:<hex>" or "sha512:<hex>" of the file at source. Required unless allowUnverified. */
  checksum?: pulumi.Input<string>;
  /** Use the file without verifying it (no checksum). */
  allowUnverified?: pulumi.Input<boolean>;
  /** qcow2, raw or rootfs (an LXC rootfs tarball); detected from the name when omitted. */
  format?: pulumi.Input<"qcow2" | "raw" | "rootfs">;
  /** none, xz, gz or zst; detected from the name when omitted. */
  compression?: pulumi.Input<"none" | "xz" | "gz" | "zst">;
  name?: pulumi.Input<string>;
  /** Upper bound for one download, in seconds (default 3600). */
  downloadTimeoutSec?: pulumi.Input<number>;
}

/**
 * A disk image or container rootfs on a Hypervisor's host, downloaded by the host once per checksum and shared by
 * every Image resource (and stack) asking for the same bytes. Give its `path` to a Guest's `rootDisk.image` or a
 * Container's `template`.
 */
export class Image extends LazyResource {
  /** Where the ready file is on the host (known at preview: it is derived from the checksum). */
  declare public readonly path: pulumi.Output<string>;
  declare public readonly size: pulumi.Output<number>;
  declare public readonly format: pulumi.Output<string>;
  declare public readonly virtualSize: pulumi.Output<number>;
  declare public readonly checksum: pulumi.Output<string>;
  /** What Guests take as rootDisk.image. */
  public readonly ref: pulumi.Output<ImageRef>;

  constructor(name: string, args: ImageArgs, opts?: pulumi.CustomResourceOptions) {
    const hv = refOf(args.hypervisor);
    const { hypervisor: _h, ...rest } = args;
    super(
      "image",
      name,
      { ...rest, hypervisor: pulumi.secret(hv), path: undefined, size: undefined, format: rest.format, virtualSize: undefined, checksum: rest.checksum },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "hypervisor"], dependsOn: dependsOnRef(opts?.dependsOn, args.hypervisor) },
      "pulumi-virt",
      "Image",
    );
    this.ref = pulumi.all([this.path, this.checksum, this.format]).apply(([path, checksum, format]) => imageRefFrom({ path, checksum, format }));
  }
}


export function isImage(i: unknown): i is Image {
  return pulumi.CustomResource.isInstance(i) && "ref" in i && "virtualSize" in i;
}
