// Desired configuration (ContainerSpec), observed live state (ContainerObserved) and a live change
// (LiveChange) of one LXC system container. Plain data: no I/O, no Pulumi.

export type Fstype = "xfs" | "btrfs" | "ext4";

export type TemplateSpec =
  | { kind: "busybox" }
  | { kind: "debian"; release: string }
  /** A rootfs tarball already on the host (extracted into the container's rootfs). */
  | { kind: "tarball"; path: string };

export interface NetworkSpec {
  bridge: string;
  /** IPv4 with prefix, e.g. "10.77.101.20/24". Static: DHCP blocks the boot of systemd containers. */
  address?: string;
  gateway?: string;
  hwaddr?: string;
}

export interface MountSpec {
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
}

export interface ContainerSpec {
  name: string;
  template: TemplateSpec;
  cpus?: number;
  /** CPU time cap in percent of one CPU (200 = two CPUs). */
  cpuQuotaPercent?: number;
  cpuShares?: number;
  memoryMiB: number;
  /** Swap allowed on top of memory. Absent: not limited. */
  swapMiB?: number;
  /** Loop-image rootfs. Absent: a plain directory rootfs. */
  disk?: { sizeMiB: number; fstype: Fstype };
  /** Absent: the host's /etc/lxc/default.conf network. */
  network?: NetworkSpec;
  environment?: Record<string, string>;
  mounts?: MountSpec[];
  /**
   * Installed into the rootfs when it is created (never into an adopted one): the SSH host key pulumi-virt
   * generated (OpenSSH's ed25519 host key files; every other host key is removed, so the server offers only the
   * pinned one) and a public key root may log in with.
   */
  ssh?: { hostPrivateKey: string; hostPublicKey: string; authorizedKey?: string };
  running: boolean;
  autostart: boolean;
}

export interface ContainerObserved {
  name: string;
  running: boolean;
  /** LXC's state: RUNNING, STOPPED, FROZEN, ... */
  state?: string;
  initPid?: number;
  /** Live cgroup limits when running, else the persisted config values. Absent: unlimited. */
  memoryMiB?: number;
  swapMiB?: number;
  cpus?: number;
  cpuQuotaPercent?: number;
  cpuShares?: number;
  /** Size of the loop image (what the disk was created or grown to). */
  diskSizeMiB?: number;
  /** Size of the mounted filesystem as the container sees it (running only; smaller than the image by fs overhead). */
  fsSizeMiB?: number;
  fstype?: string;
  loopImage?: string;
  loopDevice?: string;
  autostart: boolean;
  address?: string;
  /** Every address of the running container (IPv4 and IPv6, no link-local), from `lxc-info -i`. */
  ips?: string[];
  hwaddr?: string;
  bridge?: string;
  /** "busybox", "debian:<release>" or "tarball:<path>", as recorded at create time. */
  template?: string;
  /** The owning resource's token from the host's register ("" = registered before tokens; absent = not registered). */
  ownerToken?: string;
}

/**
 * A change applied to a running container without restart. `null` removes a limit.
 * Properties left out are unchanged.
 */
export interface LiveChange {
  memoryMiB?: number;
  swapMiB?: number | null;
  cpus?: number | null;
  cpuQuotaPercent?: number | null;
  cpuShares?: number | null;
  diskSizeMiB?: number;
  autostart?: boolean;
  running?: boolean;
}

export type CgroupVersion = 1 | 2;

/** What the host offers, read together with container state. */
export interface HostFacts {
  lxcPath: string;
  cgroupVersion: CgroupVersion;
  /** The host's CPU list, e.g. "0-1". */
  hostCpus: string;
}
