import { z } from "zod";
import { bridgeName, hostPath } from "./common";
import type { HostRef } from "./host";
import { connectionSchema } from "../ssh/connection";

export const HYPERVISOR_KINDS = ["lxc", "kvm", "xen"] as const;
export type HypervisorKind = (typeof HYPERVISOR_KINDS)[number];

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
