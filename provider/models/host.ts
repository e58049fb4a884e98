import { z } from "zod";
import { connectionSchema } from "../ssh/connection";

export const hostArgsSchema = z
  .object({
    connection: connectionSchema,
  })
  .strict();
export type HostArgs = z.infer<typeof hostArgsSchema>;

/** What a Host is, as read from the machine. Kept in state and refreshed by `pulumi refresh`. */
export interface HostFacts {
  hostname: string;
  machineId: string;
  os: { id: string; versionId: string; prettyName: string };
  kernel: { name: string; release: string };
  arch: string;
  cpus: number;
  memoryMiB: number;
  /** CPU flags for hardware virtualization: Intel VT-x (vmx), AMD-V (svm), or none. */
  hardwareVirtualization: "vmx" | "svm" | "none";
  /** /dev/kvm exists and the CPU has vmx/svm (a /dev/kvm without them, e.g. PVM, is not usable for guests). */
  kvmUsable: boolean;
  xenDom0: boolean;
  cgroupVersion: 1 | 2;
  /** "unified" (v2 only), "hybrid" (v1 controllers with a v2 mount), "legacy" (v1 only). */
  cgroupLayout: "unified" | "hybrid" | "legacy";
  tools: { lxc?: string; libvirt?: string; qemu?: string; xl?: string };
}

/** What dependents (Hypervisors, Guests, Containers) need to know about a Host, computed at check time. */
export interface HostRef {
  connection: z.infer<typeof connectionSchema>;
  facts: HostFacts;
}
