import { z } from "zod";
import { bridgeName, hostPath } from "./common";
import type { HostRef } from "./host";
import { connectionSchema } from "../ssh/connection";

export const HYPERVISOR_KINDS = ["lxc", "kvm", "xen"] as const;
export type HypervisorKind = (typeof HYPERVISOR_KINDS)[number];

const ratio = (what: string) =>
  z.number({ error: `expected how many times the host's ${what} may be promised to machines, a number from 0.1 to 64` })
    .min(0.1, { error: "must be at least 0.1" })
    .max(64, { error: "must be at most 64" });

/**
 * How far the sum of the machines' sizes on a host may exceed the host's capacity (1.0: not at all). Checked at
 * preview for every host whose machines the program creates or grows; see DEFAULT_OVERCOMMIT.
 */
export const overcommitSchema = z
  .object({
    /** vCPUs (Guests) and CPU limits (Containers) per host core. */
    cpu: ratio("CPU cores").optional(),
    /** Memory of the machines per byte of host RAM. */
    memory: ratio("memory").optional(),
    /** Disk sizes per byte of the storage directory's filesystem (thin disks can be promised beyond it). */
    disk: ratio("disk space").optional(),
  }, { error: "expected an object: { cpu?, memory?, disk? }" })
  .strict();
export type Overcommit = Required<z.infer<typeof overcommitSchema>>;

export const hypervisorArgsSchema = z
  .object({
    kind: z.enum(HYPERVISOR_KINDS, { error: 'expected one of "lxc" (containers), "kvm" (libvirt + QEMU), "xen" (xl)' }),
    /**
     * Full virtualization without Intel VT-x / AMD-V runs only as QEMU software emulation (TCG), 10-50x slower.
     * It must be asked for explicitly.
     */
    allowEmulation: z.boolean({ error: "expected true or false" }).default(false),
    /** Install missing packages with the host's package manager (apt) during create. */
    install: z.boolean({ error: "expected true or false" }).default(false),
    /** Default bridge guests and containers attach to. */
    bridge: bridgeName.optional(),
    /** Where guest disks live (kvm/xen). */
    storageDir: hostPath.optional(),
    /** Capacity policy, checked at preview; unset ratios take the kind's default (DEFAULT_OVERCOMMIT). */
    overcommit: overcommitSchema.optional(),
  })
  .strict();
export type HypervisorArgs = z.infer<typeof hypervisorArgsSchema>;

/** What Guests and Containers need from their Hypervisor; computed purely at check time so previews know it. */
export interface HypervisorRef {
  kind: HypervisorKind;
  /** kvm only: guests run under QEMU TCG because the host lacks VT-x/AMD-V. */
  emulated: boolean;
  bridge: string;
  storageDir: string;
  host: HostRef;
  /** The effective overcommit (defaults applied); absent in refs made before it existed: the kind's default. */
  overcommit?: Overcommit;
}

/**
 * Safe defaults, chosen so that a program that passes the check cannot make `up` fail or hurt running machines:
 * - memory 1.0 everywhere: a Guest's RAM is really allocated (Xen reserves it at create and refuses beyond it; QEMU
 *   pages it in and the host's OOM killer then kills a whole guest), and a container whose limit cannot be met
 *   pushes the host itself into OOM (which may kill sshd). Raising it is an explicit choice for idle workloads.
 * - disk 1.0: thin disks (qcow2, sparse loop images) that fill their filesystem pause or corrupt guests.
 * - cpu 4 for kvm/xen: vCPUs are time-shared threads; past ~4 per core a guest kernel spinning on a lock held by
 *   a descheduled vCPU wastes the host's time. cpu 16 for lxc: a container's CPU count is a cap on the host's own
 *   scheduler (no guest kernel, nothing spins; each cap is already at most the host's cores), so caps of idle
 *   containers cost nothing; 16 per core still stops a program that gives every container every core by mistake.
 */
export const DEFAULT_OVERCOMMIT: Record<HypervisorKind, Overcommit> = {
  lxc: { cpu: 16, memory: 1, disk: 1 },
  kvm: { cpu: 4, memory: 1, disk: 1 },
  xen: { cpu: 4, memory: 1, disk: 1 },
};

/** The overcommit a Hypervisor works with: its own ratios, the kind's default for the rest. */
export function effectiveOvercommit(kind: HypervisorKind, given: Partial<Overcommit> | undefined): Overcommit {
  return { ...DEFAULT_OVERCOMMIT[kind], ...Object.fromEntries(Object.entries(given ?? {}).filter(([, v]) => v !== undefined)) };
}

export const DEFAULT_STORAGE_DIR: Record<HypervisorKind, string> = {
  lxc: "/var/lib/lxc",
  kvm: "/var/lib/libvirt/images/pulumi-virt",
  xen: "/var/lib/xen/pulumi-virt",
};
export const DEFAULT_BRIDGE: Record<HypervisorKind, string> = { lxc: "lxcbr0", kvm: "virbr0", xen: "xenbr0" };

/**
 * A HypervisorRef as a Container or Guest receives it. A Hypervisor's check computes it, but a program may pass a
 * hand-built one: everything in it that reaches a host (paths, bridge, connection) is validated again.
 */
export const hypervisorRefSchema = z.object({
  kind: z.enum(HYPERVISOR_KINDS, { error: 'expected one of "lxc", "kvm", "xen"' }),
  emulated: z.boolean({ error: "expected true or false" }),
  bridge: bridgeName,
  storageDir: hostPath,
  overcommit: overcommitSchema.optional(),
  host: z.object({
    connection: connectionSchema,
    facts: z.looseObject({
      hostname: z.string({ error: "expected the host's name (a Host's facts)" }).max(255),
      machineId: z.string({ error: "expected the host's machine id (a Host's facts)" }).regex(/^[0-9a-zA-Z-]{0,64}$/, { error: "expected the host's machine id: letters, digits and '-'" }),
      cpus: z.number({ error: "expected the host's CPU count (a Host's facts)" }),
      kernel: z.looseObject({ name: z.string() }),
    }),
  }),
});
