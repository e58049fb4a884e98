// What each kind of container change costs, as data. The planner reads this table; docs are generated from it.
import { CapabilityTable, ChangeRule } from "../../plan/types";
import { Fstype } from "./types";

const cgroup = (file: string): ChangeRule => ({ action: "live", mechanism: `cgroup ${file} (lxc-cgroup), persisted in the config` });
const restart = (reason: string): ChangeRule => ({ action: "restart", reason });

const DISK_GROW: Record<Fstype, ChangeRule> = {
  xfs: { action: "live", mechanism: "online xfs_growfs" },
  btrfs: { action: "live", mechanism: "online btrfs resize" },
  ext4: restart("ext4 grows only offline here (online resize2fs needs CAP_SYS_RESOURCE)"),
};

/** Capability rows for a container whose rootfs has this filesystem (undefined: directory rootfs). */
export function capabilitiesFor(fstype?: Fstype): CapabilityTable {
  return {
    memoryMiB: { grow: cgroup("memory limit"), shrink: cgroup("memory limit"), label: "memory (MiB)" },
    swapMiB: { grow: cgroup("memory+swap limit"), shrink: cgroup("memory+swap limit"), label: "swap (MiB)" },
    cpus: { grow: cgroup("cpuset.cpus"), shrink: cgroup("cpuset.cpus"), label: "CPUs" },
    cpuQuotaPercent: { grow: cgroup("CPU quota"), shrink: cgroup("CPU quota"), label: "CPU quota (% of one CPU)" },
    cpuShares: { grow: cgroup("CPU shares/weight"), shrink: cgroup("CPU shares/weight"), label: "CPU shares" },
    diskSizeMiB: {
      grow: fstype ? DISK_GROW[fstype] : { action: "replace", reason: "a directory rootfs has no size; choose disk at create time", destroysData: true },
      shrink: { action: "replace", reason: "filesystems on loop images cannot shrink here", destroysData: true },
      label: "disk (MiB)",
    },
    "disk.fstype": { change: { action: "replace", reason: "the rootfs filesystem is chosen at create time", destroysData: true } },
    template: { change: { action: "replace", reason: "the template builds the rootfs at create time", destroysData: true } },
    name: { change: restart("LXC renames only stopped containers") },
    // The whole network object (what the planner compares) and its fields.
    network: { change: restart("network devices are set up at container start") },
    "network.bridge": { change: restart("network devices are set up at container start") },
    "network.address": { change: restart("network devices are set up at container start") },
    "network.gateway": { change: restart("network devices are set up at container start") },
    "network.hwaddr": { change: restart("network devices are set up at container start") },
    environment: { change: restart("the environment is given to init at container start") },
    mounts: { change: restart("bind mounts are set up at container start") },
    autostart: { change: { action: "live", mechanism: "config only (lxc.start.auto)" } },
    running: { change: { action: "live", mechanism: "lxc-start / lxc-stop" } },
  };
}

/** The table for the default rootfs (loop-backed xfs). */
export const lxcCapabilities: CapabilityTable = capabilitiesFor("xfs");
