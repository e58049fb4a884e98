// What each container change costs: the effective table the planner, Hypervisor.capabilities, schema.json and the
// README reference all read.
import type { CapabilityTable, ChangeRule } from "../../plan/types";
import type { Fstype } from "./types";

/** The keys of the flat view the planner compares for a container. */
export const CONTAINER_KEYS = [
  "name", "template", "osFamily", "memoryMiB", "swapMiB", "cpus", "cpuQuotaPercent", "cpuShares",
  "diskBacking", "diskSizeMiB", "diskFstype", "network", "environment", "autostart", "running", "hostIdentity",
] as const;
export type ContainerKey = (typeof CONTAINER_KEYS)[number];

const cgroup = (file: string): ChangeRule => ({ action: "live", mechanism: `cgroup ${file} (lxc-cgroup), persisted in the config` });
const restart = (reason: string): ChangeRule => ({ action: "restart", reason });

const DISK_GROW: Record<Fstype, ChangeRule> = {
  xfs: { action: "live", mechanism: "online xfs_growfs" },
  btrfs: { action: "live", mechanism: "online btrfs resize" },
  ext4: restart("ext4 grows only offline here (online resize2fs needs CAP_SYS_RESOURCE)"),
};

/** What each container change costs, for a container whose loop-image rootfs has this filesystem. */
export function capabilitiesFor(fstype: Fstype): CapabilityTable<ContainerKey> {
  return {
    name: { change: restart("LXC renames only stopped containers") },
    // An explicit request to rebuild the rootfs: a replacement shown in preview, like any other replacement.
    template: { change: { action: "replace", reason: "the template builds the rootfs at create time: a new container is built from it (the old rootfs is discarded)" } },
    osFamily: { change: { action: "replace", reason: "a different OS needs a new container (it shares the host's kernel)" } },
    memoryMiB: { grow: cgroup("memory limit"), shrink: cgroup("memory limit") },
    swapMiB: { grow: cgroup("memory+swap limit"), shrink: cgroup("memory+swap limit") },
    cpus: { grow: cgroup("cpuset.cpus"), shrink: cgroup("cpuset.cpus") },
    cpuQuotaPercent: { grow: cgroup("CPU quota"), shrink: cgroup("CPU quota") },
    cpuShares: { grow: cgroup("CPU shares/weight"), shrink: cgroup("CPU shares/weight") },
    diskBacking: { change: { action: "replace", reason: "moving between a directory and a loop-image root filesystem rebuilds the rootfs", destroysData: true } },
    diskSizeMiB: {
      grow: DISK_GROW[fstype],
      shrink: { action: "replace", reason: "filesystems on loop images cannot shrink here", destroysData: true },
    },
    diskFstype: { change: { action: "replace", reason: "changing the root filesystem type reformats the disk", destroysData: true } },
    network: { change: restart("network devices are set up at container start") },
    environment: { change: restart("the environment is given to init at container start") },
    autostart: { change: { action: "live", mechanism: "config only (lxc.start.auto)" } },
    running: { change: { action: "live", mechanism: "lxc-start / lxc-stop" } },
    hostIdentity: { change: { action: "replace", reason: "the container moves to another host: a new container is created there and the old one destroyed" } },
  };
}

/** The table for the default rootfs (loop-backed xfs). */
export const lxcCapabilities: CapabilityTable<ContainerKey> = capabilitiesFor("xfs");
