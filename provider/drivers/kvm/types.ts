// Desired and observed shapes of a libvirt guest. Types only.

export type DiskBus = "virtio" | "scsi" | "sata";

export type BootSpec =
  | { kind: "kernel"; kernel: string; initrd?: string; cmdline?: string }
  | { kind: "firmware"; firmware: "bios" | "uefi" };

export interface DataDiskSpec {
  /** File-name safe: [A-Za-z0-9_-]. */
  name: string;
  sizeMiB: number;
  bus: DiskBus;
  deleteOnDestroy?: boolean;
}

/** One NIC of a domain: on a bridge, with its MAC; addresses and gateways go to the guest via cloud-init. */
export interface NicSpec {
  bridge: string;
  mac: string;
  addresses?: string[];
  gateway4?: string;
  gateway6?: string;
  dhcp4?: boolean;
}

export interface DomainSpec {
  name: string;
  vcpus: number;
  maxVcpus: number;
  memoryMiB: number;
  maxMemoryMiB: number;
  /** true: QEMU software emulation (TCG, domain type 'qemu'); false: hardware KVM. */
  emulated: boolean;
  boot: BootSpec;
  /** baseImage is "" for a clone: its disk is a copy of the stopped guest cloneFrom names (checked by its owner token). */
  rootDisk: { baseImage: string; sizeMiB?: number; mode: "overlay" | "copy"; cloneFrom?: { guest: string; ownerToken: string } };
  dataDisks: DataDiskSpec[];
  network?: { bridge: string; mac?: string };
  /** Several NICs; when given, `network` is ignored. */
  nics?: NicSpec[];
  cloudInit?: { userData: string; metaData?: string; networkConfig?: string; vendorData?: string };
  running: boolean;
  autostart: boolean;
  shutdownTimeoutSec: number;
  /** Host directory holding one sub-directory per guest, e.g. /var/lib/libvirt/images/pulumi-virt. */
  storageDir: string;
  /** The owning resource's token, kept in the domain's <metadata> (ownership by identity, not by name). */
  ownerToken?: string;
  /** A clone's own machine ID (cloneMachineId of its owner token); unset for a guest that is no clone. */
  machineId?: string;
}

/** Where a guest's files live on the host. */
export interface DomainPaths {
  dir: string;
  rootDisk: string;
  dataDisks: Record<string, string>;
  seedIso?: string;
  consoleLog: string;
  definition: string;
}

export type GuestState = "running" | "shutoff" | "paused" | "shutdown" | "crashed" | "pmsuspended" | "other";

export interface ObservedDisk {
  target: string;
  path: string;
  sizeMiB: number;
  device: string;
  /** The target's bus (virtio, scsi, sata, ide...). */
  bus?: string;
  /** The image this one is an overlay of (libvirt lists it in a running domain's XML). */
  backingFile?: string;
}

export interface GuestObserved {
  exists: boolean;
  name: string;
  state?: GuestState;
  qemuPid?: number;
  uuid?: string;
  vcpus?: number;
  maxVcpus?: number;
  /**
   * Memory the guest has now, as libvirt reports it (dominfo "Used memory": the balloon's actual
   * size). Right after start it equals the maximum until the guest's balloon driver reaches the target.
   */
  memoryMiB?: number;
  /** Memory in the persistent definition (what the guest gets at its next start). */
  configuredMemoryMiB?: number;
  /** vCPUs in the persistent definition. */
  configuredVcpus?: number;
  maxMemoryMiB?: number;
  disks?: ObservedDisk[];
  mac?: string;
  bridge?: string;
  /** Every NIC in the live definition, with the addresses the host sees for its MAC (leases, neighbours). */
  interfaces?: { mac: string; bridge: string; addresses: string[] }[];
  autostart?: boolean;
  emulated?: boolean;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  firmware?: string;
  /** The driver's bookkeeping written at define time. */
  rootDiskPath?: string;
  baseImage?: string;
  storageGuestDir?: string;
  consoleLog?: string;
  seedIso?: string;
  dataDiskPaths?: Record<string, string>;
  /** The owning resource's token from <metadata> (absent: defined by a release before tokens, or not ours). */
  ownerToken?: string;
}

/** What the driver needs of `qemu-img info --output=json`: the image's own format and virtual size. */
export interface QemuImageInfo {
  format: string;
  virtualSize: number;
  /** The image's backing file (absolute, as qemu-img resolves it) and its format, when it has one. */
  backingFile?: string;
  backingFormat?: string;
}

export interface LiveChange {
  /** NICs to plug in (PCI hot-plug) and MACs of NICs to unplug, live and in the persistent definition. */
  attachNics?: NicSpec[];
  detachNics?: string[];
  memoryMiB?: number;
  vcpus?: number;
  /** A disk is found by its image path when given (a hot-plugged disk's device name is not its spec position). */
  disks?: { target: string; path?: string; sizeMiB: number }[];
  autostart?: boolean;
}

export type StopOutcome = "acpi" | "destroyed" | "already-off";

export interface KvmHostFacts {
  libvirtVersion: string;
  qemuVersion: string;
  /** /dev/kvm exists (it may still be unusable, e.g. a nested PVM without VT-x). */
  kvmDevice: boolean;
  hardwareVirt: "vmx" | "svm" | "none";
  /** Domain types libvirt offers for x86_64 guests ("qemu" = TCG emulation, "kvm" = hardware). */
  domainTypes: string[];
}
