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
    rootDisk: z
      .object({
        /** Base image on the host; the root disk is a qcow2 overlay (default) or a copy of it. */
        baseImage: hostPath,
        size: sizeMiB(16, 64 * 1024 * 1024).optional(),
        mode: z.enum(["overlay", "copy"], { error: 'expected "overlay" or "copy"' }).default("overlay"),
      })
      .strict()
      .optional(),
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
    if (g.virtualization === "full" && !g.rootDisk) ctx.addIssue({ code: "custom", path: ["rootDisk"], message: "a full-virtualization guest needs rootDisk: { baseImage: <path of a qcow2/raw image on the host> }" });
    if (g.virtualization === "para" && g.autostart) ctx.addIssue({ code: "custom", path: ["autostart"], message: "autostart is managed for full-virtualization guests only; for Xen domains use xendomains (/etc/xen/auto)" });
    const xenName = g.virtualization === "para" ? xenDomainNameProblem(g.name) : undefined;
    if (xenName) ctx.addIssue({ code: "custom", path: ["name"], message: `${xenName}; choose another name for this paravirtualized (Xen) guest` });
    if (g.virtualization === "para" && "bootloader" in g.boot && !g.rootDisk && g.dataDisks.length === 0)
      ctx.addIssue({ code: "custom", path: ["boot"], message: "pygrub reads the guest's /boot from a disk: give rootDisk (or a data disk) with it" });
    if (g.virtualization === "para" && g.cloudInit) ctx.addIssue({ code: "custom", path: ["cloudInit"], message: "cloudInit is supported for full-virtualization guests only" });
    const names = new Set<string>();
    g.dataDisks.forEach((d, i) => {
      if (names.has(d.name)) ctx.addIssue({ code: "custom", path: ["dataDisks", i, "name"], message: `duplicate data disk name "${d.name}"` });
      names.add(d.name);
    });
  });
export type GuestArgs = z.infer<typeof guestArgsSchema>;
export type GuestArgsInput = z.input<typeof guestArgsSchema>;

/** Provider settings: changing only these touches no guest ("settings only" in plans). */
export const GUEST_SETTINGS = ["allowRestart", "allowDataLoss", "adopt", "shutdownTimeoutSec", "snapshotBefore", "keep"] as const;
