// What each change costs a running PV domain. Data, read by the planner and the docs.
import type { CapabilityTable } from "../../plan/types";

export const xenCapabilities: CapabilityTable = {
  memoryMiB: {
    label: "memory (MiB)",
    grow: { action: "live", mechanism: "xl mem-set (balloon)" },
    shrink: { action: "live", mechanism: "xl mem-set (balloon)" },
    liveUpTo: "maxMemoryMiB",
    beyondLimit: { action: "restart", reason: "above maxmem, the reservation fixed when the domain is built" },
  },
  maxMemoryMiB: { label: "maximum memory (MiB)", change: { action: "restart", reason: "maxmem is fixed when the domain is built" } },
  vcpus: {
    label: "vCPUs",
    grow: { action: "live", mechanism: "xl vcpu-set" },
    // PV vCPUs are taken offline by the guest kernel through xenstore; no ACPI involved.
    shrink: { action: "live", mechanism: "xl vcpu-set" },
    liveUpTo: "maxVcpus",
    beyondLimit: { action: "restart", reason: "above maxvcpus, fixed when the domain is built" },
  },
  maxVcpus: { label: "maximum vCPUs", change: { action: "restart", reason: "maxvcpus is fixed when the domain is built" } },
  boot: { label: "boot (kernel/ramdisk/extra/bootloader)", change: { action: "restart", reason: "the PV kernel is loaded when the domain is built" } },
  diskSizeMiB: {
    label: "disk size (MiB)",
    // xl has no block-resize command; a new size reaches the guest when its disks are re-attached.
    grow: { action: "restart", reason: "xl cannot resize an attached disk; the guest sees the new size after a restart" },
    shrink: { action: "replace", reason: "disks cannot shrink; the disk would be recreated empty", destroysData: true },
  },
  disks: { label: "disks (added/removed/vdev/format)", change: { action: "restart", reason: "disks are attached when the domain is built" } },
  // Verified on Xen 4.17: `xl rename` on a running domain keeps its domid and uptime.
  name: { label: "name", change: { action: "live", mechanism: "xl rename" } },
  network: { label: "network (bridge/MAC)", change: { action: "restart", reason: "the vif is set up when the domain is built" } },
  running: { label: "running", change: { action: "live", mechanism: "xl create / xl shutdown" } },
  shutdownTimeoutSec: { label: "shutdown timeout (s)", change: { action: "live", mechanism: "provider setting only" } },
  configDir: { label: "config directory", change: { action: "live", mechanism: "the config file is rewritten" } },
};
