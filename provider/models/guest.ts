import { createHash } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { z } from "zod";
import { safetyNetFields } from "./snapshot";
import { bridgeName, count, guestName, hostPath, macAddress, safeText, sizeMiB, xenDomainNameProblem } from "./common";

export const VIRTUALIZATION_FORMS = ["full", "para"] as const;
export type VirtualizationForm = (typeof VIRTUALIZATION_FORMS)[number];

const kernelBoot = z
  .object({
    kernel: hostPath,
    initrd: hostPath.optional(),
    cmdline: safeText("boot.cmdline").optional(),
  })
  .strict();
const firmwareBoot = z.object({ firmware: z.enum(["bios", "uefi"], { error: 'expected "bios" or "uefi"' }) }).strict();
const bootloaderBoot = z.object({ bootloader: z.literal("pygrub", { error: 'expected "pygrub"' }) }).strict();

export const DISK_BUSES = ["virtio", "scsi", "sata"] as const;

/** Plain addresses only (no zone id): what a guest's static config and gateways take. */
const isIpv6 = (s: string) => isIPv6(s) && !s.includes("%");
const ipAddress = z.string().refine((s) => isIPv4(s) || isIpv6(s), { error: 'expected an IPv4 or IPv6 address, like "10.0.0.5" or "fd00::5"' });
const cidr = z.string().refine((s) => {
  const [a, len, extra] = s.split("/");
  if (extra !== undefined || len === undefined || !/^\d{1,3}$/.test(len)) return false;
  return isIPv4(a) ? Number(len) <= 32 : isIpv6(a) && Number(len) <= 128;
}, { error: 'expected an address with its prefix length, like "10.0.0.5/24" or "fd00::5/64"' });

/**
 * NIC i's MAC when none is given, derived from the guest's name (and kept in state by check): NIC 0 gets the one the
 * single-NIC form (`network`) always had, so moving to `nics` changes no MAC.
 */
export function defaultNicMac(guest: string, index: number): string {
  const h = createHash("sha256").update(index === 0 ? guest : `${guest}/nic${index}`).digest();
  return ["52", "54", "00", ...[h[0], h[1], h[2]].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

/** One NIC of a Guest: on a bridge (or a Network's `bridge` output), DHCP unless it has static addresses. */
export const guestNicSchema = z
  .object({
    bridge: bridgeName,
    /** Generated from the guest's name and the NIC's position (and kept) when not given. */
    mac: macAddress.optional(),
    /** Static addresses in CIDR form, IPv4 and/or IPv6; written into the guest's cloud-init network-config. */
    addresses: z.array(cidr).max(8, { error: "at most 8 addresses per NIC" }).optional(),
    gateway4: ipAddress.optional(),
    gateway6: ipAddress.optional(),
    /** DHCPv4 on this NIC; default: true when it has no static IPv4 address. */
    dhcp4: z.boolean({ error: "expected true or false" }).optional(),
  })
  .strict();
export type GuestNic = z.infer<typeof guestNicSchema>;

/** What create, restart and replace wait for before they report success. */
export const waitForSchema = z
  .object({
    /** An address on some NIC: true (any), "ipv4" or "ipv6". */
    address: z.union([z.boolean(), z.enum(["ipv4", "ipv6"])], { error: 'expected true, false, "ipv4" or "ipv6"' }).optional(),
    /** SSH answers with the pinned host key (implies an address). */
    ssh: z.boolean({ error: "expected true or false" }).optional(),
    /** cloud-init finished inside the guest (checked over SSH: implies ssh). */
    cloudInit: z.boolean({ error: "expected true or false" }).optional(),
    timeoutSec: count("seconds", 1, 3600).default(300),
  })
  .strict();
export type WaitFor = z.infer<typeof waitForSchema>;

/** An Image's `ref` output as a Guest takes it: only the path is used (a new checksum is a new path). */
const imageRefInput = z
  .object({
    path: hostPath,
    checksum: z.string().max(200, { error: "checksum too long" }).optional(),
    format: z.string().max(32, { error: "format too long" }).optional(),
  })
  .strict();

/**
 * Another Guest pulumi-virt manages, as a Guest object gives it (its name and owner token, the host it is on and
 * whether it is meant to run). Only the name and token are kept: they are what the host is asked about at `up`.
 */
export const guestCloneRefSchema = z
  .object({
    guest: guestName,
    ownerToken: z.string().regex(/^[0-9a-f]{16,64}$/, { error: "expected the source Guest's ownerToken output (16-64 lowercase hex digits)" }),
    /** The source's host (its hostname): a clone is made on the source's host. */
    host: safeText("host", 253).optional(),
    /** The source's `running` input: a running guest is not copied (its disk changes under the copy). */
    running: z.boolean({ error: "expected true or false" }).optional(),
  })
  .strict();
export type GuestCloneRef = z.infer<typeof guestCloneRefSchema>;

/**
 * The root disk. `image` is normalised into `baseImage` at check, so state, plans and old stacks only ever see
 * `baseImage` (a stack written with `baseImage` and one written with `image` on the same file plan the same).
 */
const rootDiskSchema = z
  .object({
    /** Base image file on the host (qcow2 or raw); the root disk is a qcow2 overlay (default) or a copy of it. */
    baseImage: hostPath.optional(),
    /** An Image (its `ref` output { path, checksum, format }, or its path): the same as `baseImage` set to the Image's path. */
    image: z
      .union([hostPath, imageRefInput], { error: "expected an Image's ref ({ path, checksum, format }) or the absolute path of an image on the host" })
      .optional(),
    /**
     * A copy of another Guest's root disk (a Guest pulumi-virt manages, on the same host, stopped while it is copied)
     * or of an Image (its ref: the same as `image`). Made once, at create; later changes of the source do not follow.
     */
    cloneFrom: z
      .union([guestCloneRefSchema, imageRefInput], { error: "expected a Guest ({ guest, ownerToken, host?, running? }: a Guest object gives it) or an Image's ref ({ path, checksum, format })" })
      .optional(),
    size: sizeMiB(16, 64 * 1024 * 1024).optional(),
    mode: z.enum(["overlay", "copy"], { error: 'expected "overlay" or "copy"' }).default("overlay"),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.baseImage === undefined && r.image === undefined && r.cloneFrom === undefined)
      ctx.addIssue({ code: "custom", path: ["image"], message: "give image (an Image, its ref or its path) or baseImage (a qcow2/raw file on the host), or cloneFrom (a Guest or an Image)" });
    if (r.baseImage !== undefined && r.image !== undefined)
      ctx.addIssue({ code: "custom", path: ["image"], message: "give either image or baseImage, not both" });
    if (r.cloneFrom !== undefined && (r.baseImage !== undefined || r.image !== undefined))
      ctx.addIssue({ code: "custom", path: ["cloneFrom"], message: "give cloneFrom alone, without image or baseImage (the root disk is a copy of one source)" });
  })
  // A guest clone keeps only the source's name and token; an Image given as cloneFrom is its path, as with `image`.
  .transform(({ image, baseImage, cloneFrom, ...rest }) =>
    cloneFrom && "guest" in cloneFrom
      ? { cloneFrom: { guest: cloneFrom.guest, ownerToken: cloneFrom.ownerToken }, ...rest }
      : { baseImage: baseImage ?? (typeof image === "string" ? image : image?.path ?? cloneFrom?.path ?? ""), ...rest });

export const guestArgsSchema = z
  .object({
    name: guestName,
    virtualization: z.enum(VIRTUALIZATION_FORMS, { error: 'expected "full" (KVM/QEMU, any unmodified OS) or "para" (Xen PV, an OS modified for Xen)' }),
    vcpus: count("vCPUs", 1, 512),
    /** Upper bound for live vCPU hotplug, fixed when the guest boots. Defaults to vcpus. */
    maxVcpus: count("vCPUs", 1, 512).optional(),
    memory: sizeMiB(32, 16 * 1024 * 1024),
    /** Upper bound for live memory (balloon), fixed when the guest boots. Defaults to memory. */
    maxMemory: sizeMiB(32, 16 * 1024 * 1024).optional(),
    boot: z.union([kernelBoot, firmwareBoot, bootloaderBoot], {
      error: "expected { kernel, initrd?, cmdline? } (direct kernel boot), { firmware: \"bios\"|\"uefi\" } (full only) or { bootloader: \"pygrub\" } (para only)",
    }),
    rootDisk: rootDiskSchema.optional(),
    dataDisks: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, { error: "expected 1-32 lowercase letters, digits or '-', starting with a letter" }),
            size: sizeMiB(1, 64 * 1024 * 1024),
            bus: z.enum(DISK_BUSES, { error: `expected one of ${DISK_BUSES.map((b) => `"${b}"`).join(", ")}` }).default("virtio"),
            /** Data disks are kept when the guest is replaced or destroyed unless this is true. */
            deleteOnDestroy: z.boolean({ error: "expected true or false" }).default(false),
          })
          .strict(),
      )
      .max(16, { error: "at most 16 data disks" })
      .default([]),
    network: z.object({ bridge: bridgeName.optional(), mac: macAddress.optional() }).strict().optional(),
    /** Several NICs (replaces `network`): each on a bridge, with a kept MAC and optional static addresses. */
    nics: z.array(guestNicSchema).min(1, { error: "give at least one NIC, or leave nics out" }).max(8, { error: "at most 8 NICs" }).optional(),
    /** Readiness: create / restart / replace finish only when the guest is reachable as asked, within timeoutSec. */
    waitFor: waitForSchema.optional(),
    /**
     * The guest image has cloud-init (NoCloud): pulumi-virt injects the SSH host key it generated (so the `connection`
     * output is pinned) and the NICs' network-config. Default true for full virtualization; a para (Xen PV) guest
     * gets its seed (a read-only disk after the data disks) only with true. Without a seed, `waitFor.ssh` and the
     * `connection` output need allowUnpinnedConnection.
     */
    imageCloudInit: z.boolean({ error: "expected true or false" }).optional(),
    /** Accept a `connection` whose host key pulumi-virt does not know (first use decides). Visible opt-in. */
    allowUnpinnedConnection: z.boolean({ error: "expected true or false" }).default(false),
    /** The user of the `connection` output (its key is the host connection's; cloud-init authorizes it for root). */
    loginUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "expected a Unix user name" }).default("root"),
    cloudInit: z
      .object({
        userData: z.string().max(65536, { error: "userData too long (max 64 KiB)" }),
        metaData: z.string().max(65536).optional(),
        networkConfig: z.string().max(65536).optional(),
      })
      .strict()
      .optional(),
    running: z.boolean({ error: "expected true or false" }).default(true),
    autostart: z.boolean({ error: "expected true or false" }).default(false),
    shutdownTimeoutSec: count("seconds", 0, 3600).default(60),
    allowRestart: z.boolean({ error: "expected true or false" }).default(false),
    allowDataLoss: z.boolean({ error: "expected true or false" }).default(false),
    adopt: z.boolean({ error: "expected true or false" }).default(false),
    ...safetyNetFields,
  })
  .strict()
  .superRefine((g, ctx) => {
    const maxVcpus = g.maxVcpus ?? g.vcpus;
    if (g.vcpus > maxVcpus) ctx.addIssue({ code: "custom", path: ["vcpus"], message: `vcpus ${g.vcpus} exceeds maxVcpus ${maxVcpus}; raise maxVcpus (fixed at boot) or lower vcpus` });
    const maxMemory = g.maxMemory ?? g.memory;
    if (g.memory > maxMemory) ctx.addIssue({ code: "custom", path: ["memory"], message: `memory ${g.memory} MiB exceeds maxMemory ${maxMemory} MiB; raise maxMemory (fixed at boot) or lower memory` });
    if (g.virtualization === "para" && "firmware" in g.boot) ctx.addIssue({ code: "custom", path: ["boot"], message: "a paravirtualized (Xen PV) guest boots a PV kernel directly or via pygrub, not BIOS/UEFI firmware" });
    if (g.virtualization === "full" && "bootloader" in g.boot) ctx.addIssue({ code: "custom", path: ["boot"], message: "pygrub is a Xen PV bootloader; a full-virtualization guest boots firmware or a direct kernel" });
    const cloneOf = g.rootDisk && "cloneFrom" in g.rootDisk ? g.rootDisk.cloneFrom : undefined;
    if (cloneOf && g.virtualization === "para")
      ctx.addIssue({ code: "custom", path: ["rootDisk", "cloneFrom"], message: "copying another guest's disk is for full-virtualization (kvm) guests; a para (Xen PV) guest takes rootDisk.image or rootDisk.baseImage" });
    if (cloneOf && cloneOf.guest === g.name)
      ctx.addIssue({ code: "custom", path: ["rootDisk", "cloneFrom"], message: `a guest cannot be a clone of itself ("${g.name}"): give another Guest` });
    if (g.virtualization === "full" && !g.rootDisk) ctx.addIssue({ code: "custom", path: ["rootDisk"], message: "a full-virtualization guest needs rootDisk: { image: <an Image> } or { baseImage: <path of a qcow2/raw image on the host> }" });
    if (g.virtualization === "para" && g.autostart) ctx.addIssue({ code: "custom", path: ["autostart"], message: "autostart is managed for full-virtualization guests only; for Xen domains use xendomains (/etc/xen/auto)" });
    const xenName = g.virtualization === "para" ? xenDomainNameProblem(g.name) : undefined;
    if (xenName) ctx.addIssue({ code: "custom", path: ["name"], message: `${xenName}; choose another name for this paravirtualized (Xen) guest` });
    if (g.virtualization === "para" && "bootloader" in g.boot && !g.rootDisk && g.dataDisks.length === 0)
      ctx.addIssue({ code: "custom", path: ["boot"], message: "pygrub reads the guest's /boot from a disk: give rootDisk (or a data disk) with it" });
    if (g.virtualization === "para" && g.cloudInit) ctx.addIssue({ code: "custom", path: ["cloudInit"], message: "cloudInit is supported for full-virtualization guests only" });
    (g.virtualization === "para" && g.imageCloudInit !== true ? g.nics ?? [] : []).forEach((n, i) => {
      if (n.addresses?.length || n.gateway4 || n.gateway6 || n.dhcp4 !== undefined)
        ctx.addIssue({ code: "custom", path: ["nics", i], message: "static addresses reach a para (Xen PV) guest through its NoCloud seed, which it gets only with imageCloudInit: true: set it (the image must read NoCloud), or give its NICs only bridge and mac" });
    });
    if (g.network && g.nics) ctx.addIssue({ code: "custom", path: ["nics"], message: "give either network (one NIC) or nics, not both" });
    const macs = new Set<string>();
    (g.nics ?? []).forEach((n, i) => {
      if (n.mac && macs.has(n.mac)) ctx.addIssue({ code: "custom", path: ["nics", i, "mac"], message: `duplicate MAC ${n.mac}` });
      if (n.mac) macs.add(n.mac);
    });
    const pinnable = g.virtualization === "full" ? g.imageCloudInit !== false : g.imageCloudInit === true;
    const wantsSsh = !!(g.waitFor?.ssh || g.waitFor?.cloudInit);
    if (wantsSsh && !pinnable && !g.allowUnpinnedConnection)
      ctx.addIssue({ code: "custom", path: ["waitFor"], message: g.virtualization === "para"
        ? "a para (Xen PV) guest gets a NoCloud seed (and so a pinned SSH host key) only with imageCloudInit: true: set it if its image reads NoCloud, or set allowUnpinnedConnection: true to accept an unpinned connection"
        : "imageCloudInit is false, so pulumi-virt cannot inject and pin the guest's SSH host key: set allowUnpinnedConnection: true to accept an unpinned connection" });
    const names = new Set<string>();
    g.dataDisks.forEach((d, i) => {
      if (names.has(d.name)) ctx.addIssue({ code: "custom", path: ["dataDisks", i, "name"], message: `duplicate data disk name "${d.name}"` });
      names.add(d.name);
    });
  });
export type GuestArgs = z.infer<typeof guestArgsSchema>;
export type GuestArgsInput = z.input<typeof guestArgsSchema>;

/** Provider settings: changing only these touches no guest ("settings only" in plans). */
export const GUEST_SETTINGS = ["allowRestart", "allowDataLoss", "adopt", "shutdownTimeoutSec", "waitFor", "allowUnpinnedConnection", "loginUser", "snapshotBefore", "keep"] as const;
