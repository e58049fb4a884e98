import { z } from "zod";
import { safetyNetFields } from "./snapshot";
import { waitForSchema } from "./guest";
import { bridgeName, count, hostPath, ipv4Address, ipv4Cidr, macAddress, machineName, safeText, sizeMiB, XFS_MIN_MIB } from "./common";

export const OS_FAMILIES = ["linux", "freebsd", "windows", "darwin"] as const;

/** "busybox", "debian:<release>", or an absolute path to a rootfs tarball on the host. */
export const templateSchema = z.union([
  z.literal("busybox"),
  z.string().regex(/^debian:(bookworm|bullseye|trixie)$/, { error: 'expected "debian:bookworm", "debian:bullseye" or "debian:trixie"' }),
  hostPath.refine((p) => /\.(tar|tar\.gz|tgz|tar\.xz|txz)$/.test(p), { error: "a rootfs tarball path must end in .tar, .tar.gz, .tgz, .tar.xz or .txz" }),
], { error: 'expected "busybox", "debian:<release>" or an absolute path to a rootfs tarball on the host' });

const envKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, { error: "environment names are letters, digits and _, not starting with a digit" });

export const containerArgsSchema = z
  .object({
    name: machineName,
    template: templateSchema.default("busybox"),
    /** The container shares the host's kernel: its OS family must be the host's. Defaults to the host's. */
    osFamily: z.enum(OS_FAMILIES, { error: `expected one of ${OS_FAMILIES.join(", ")}` }).optional(),
    cpus: count("CPUs", 1, 1024).optional(),
    /** CPU time cap in percent of one CPU (50 = half a CPU, 200 = two CPUs). */
    cpuQuotaPercent: count("percent", 1, 102400).optional(),
    /** Relative CPU weight (cgroup v1 cpu.shares; mapped to cpu.weight on v2). */
    cpuShares: count("shares", 2, 262144).optional(),
    memory: sizeMiB(16, 16 * 1024 * 1024),
    swap: sizeMiB(0, 16 * 1024 * 1024).optional(),
    disk: z
      .object({
        size: sizeMiB(64, 64 * 1024 * 1024),
        fstype: z.enum(["xfs", "btrfs", "ext4"], { error: 'expected "xfs", "btrfs" or "ext4" (xfs and btrfs grow online; ext4 only offline)' }).default("xfs"),
      })
      .strict()
      .refine((d) => d.fstype !== "xfs" || d.size >= XFS_MIN_MIB, {
        error: `an xfs disk needs at least ${XFS_MIN_MIB} MiB (mkfs.xfs refuses smaller); give a larger size or fstype "btrfs" or "ext4"`,
        path: ["size"],
      })
      .optional(),
    network: z
      .object({
        bridge: bridgeName.optional(),
        address: ipv4Cidr.optional(),
        gateway: ipv4Address.optional(),
        hwaddr: macAddress.optional(),
      })
      .strict()
      .optional(),
    environment: z.record(envKey, safeText("environment value", 4096)).optional(),
    running: z.boolean({ error: "expected true or false" }).default(true),
    autostart: z.boolean({ error: "expected true or false" }).default(false),
    stopTimeoutSec: count("seconds", 0, 3600).default(30),
    /**
     * Destroy asks init to shut down (bounded by stopTimeoutSec) before removing the container, for services that
     * deregister or flush on shutdown. Off: destroy kills it, since its root filesystem goes with it.
     */
    gracefulDestroy: z.boolean({ error: "expected true or false" }).default(false),
    allowRestart: z.boolean({ error: "expected true or false" }).default(false),
    allowDataLoss: z.boolean({ error: "expected true or false" }).default(false),
    /** Take over an existing container of this name instead of failing (dynamic providers cannot `pulumi import`). */
    adopt: z.boolean({ error: "expected true or false" }).default(false),
    /**
     * Create, restart and replace finish only when the container has an address (any, "ipv4" or "ipv6") or answers
     * SSH with the host key pulumi-virt installed (needs an SSH server in the container), within timeoutSec.
     */
    waitFor: waitForSchema.omit({ cloudInit: true }).optional(),
    ...safetyNetFields,
  })
  .strict();
export type ContainerArgs = z.infer<typeof containerArgsSchema>;
export type ContainerArgsInput = z.input<typeof containerArgsSchema>;

/** Provider settings: changing only these touches no container ("settings only" in plans). */
export const CONTAINER_SETTINGS = ["allowRestart", "allowDataLoss", "adopt", "stopTimeoutSec", "gracefulDestroy", "waitFor", "snapshotBefore", "keep"] as const;
