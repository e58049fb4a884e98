// Desired and observed shapes of a Xen PV domain, and host facts. Types only.
import type { NicSpec } from "../kvm/types";

export type XenBoot =
  | { kind: "kernel"; kernel: string; ramdisk?: string; extra?: string }
  | { kind: "bootloader"; bootloader: "pygrub" };

export interface XenDisk {
  /** Image file or block device in dom0. */
  path: string;
  /** Guest device name, e.g. "xvda". */
  vdev: string;
  /** When set and the file is missing, createDomain creates it with this size. */
  sizeMiB?: number;
  format?: "raw" | "qcow2";
  /** The hotplug script libxl runs for it (absolute path); unset: Xen's own `block` script. */
  script?: string;
  /** Read-only (the NoCloud seed). */
  readOnly?: boolean;
}

/** A vif: its bridge and MAC, and the static configuration the seed's network-config gives the guest (the same
 * NIC as a KVM guest's: both get it through the one NoCloud network-config, see ../kvm/network.ts). */
export type XenNic = NicSpec;

/** The NoCloud seed (ISO, label cidata) the guest reads at boot: its SSH host key, login key and NIC config. Secret. */
export interface XenSeed {
  /** The ISO in dom0; attached read-only as the disk after the data disks. */
  path: string;
  vdev: string;
  userData: string;
  metaData: string;
  networkConfig?: string;
  vendorData?: string;
}

export interface XenDomainSpec {
  name: string;
  vcpus: number;
  maxVcpus: number;
  memoryMiB: number;
  maxMemoryMiB: number;
  boot: XenBoot;
  disks: XenDisk[];
  network?: { bridge: string; mac?: string };
  /** Several vifs; when given, `network` is ignored. */
  nics?: XenNic[];
  /** Written before every `xl create` (so a restart reads the current NIC config); none: no seed disk. */
  seed?: XenSeed;
  running: boolean;
  shutdownTimeoutSec: number;
  /** Directory in dom0 for the domain's xl config file, e.g. /etc/xen/pulumi-virt. */
  configDir: string;
}

export type XenDomainState = "running" | "blocked" | "paused" | "shutdown" | "crashed" | "dying" | "absent";

export interface XenDomainObserved {
  name: string;
  exists: boolean;
  domid?: number;
  state: XenDomainState;
  /** Balloon target set at create or by `xl mem-set` (what the planner compares). */
  memoryMiB?: number;
  /** Memory the domain holds right now (`xl list`); lags the target while the balloon moves. */
  actualMemoryMiB?: number;
  maxMemoryMiB?: number;
  /** vCPUs online. */
  vcpus?: number;
  maxVcpus?: number;
  uptimeSec?: number;
  kernel?: string;
  ramdisk?: string;
  extra?: string;
  bootloader?: string;
  /** Whether the provider's config file for this name exists in configDir. */
  configPresent: boolean;
  /** Its text, when present (what the next `xl create` would use). */
  configText?: string;
  /** The owning resource's token, from the file beside the config (absent: a release before tokens, or not ours). */
  ownerToken?: string;
  /** The domain's vifs (`xl network-list`) and the addresses dom0 sees for their MACs (DHCP leases, neighbours). */
  interfaces?: { mac: string; addresses: string[] }[];
}

export type CreateOutcome = "created" | "adopted" | "defined";

export interface XenLiveChange {
  memoryMiB?: number;
  vcpus?: number;
  /** New name (`xl rename`); spec.name must equal it. */
  name?: string;
  /** With a new name: disk images (old path, new path) that follow it, moved while the domain runs. */
  imageMoves?: [string, string][];
}

export type ShutdownOutcome = "graceful" | "destroyed" | "already-off";

export interface XenHostFacts {
  /** This host is Xen's control domain (dom0): /proc/xen/capabilities says control_d and xl answers. */
  dom0: boolean;
  xenVersion?: string;
  freeMemoryMiB?: number;
  totalMemoryMiB?: number;
  nrCpus?: number;
  /** From `xl info` virt_caps, e.g. ["pv", "hvm", "hap"]. */
  virtCaps: string[];
  /** Why dom0 is false, for the user. */
  problem?: string;
}

export interface KernelPvProbe {
  capable: boolean;
  format: "bzImage" | "elf" | "unknown" | "missing";
  compression?: string;
  /** Human explanation of the verdict. */
  reason: string;
}
