// What each change costs a running guest. Data, read by the planner and the docs.
import type { CapabilityTable } from "../../plan/types";

export const kvmCapabilities: CapabilityTable = {
  memoryMiB: {
    label: "memory (MiB)",
    grow: { action: "live", mechanism: "virtio balloon" },
    shrink: { action: "live", mechanism: "virtio balloon" },
    liveUpTo: "maxMemoryMiB",
    beyondLimit: { action: "restart", reason: "above maxMemory fixed at boot" },
  },
  maxMemoryMiB: { label: "maximum memory (MiB)", change: { action: "restart", reason: "the memory ceiling is fixed when QEMU starts" } },
  vcpus: {
    label: "vCPUs",
    grow: { action: "live", mechanism: "vCPU hotplug (ACPI)" },
    // Live unplug timed out under TCG and a later reset crashed QEMU (LAB-NOTES).
    shrink: { action: "restart", reason: "vCPU unplug is unreliable; the guest restarts with fewer vCPUs" },
    liveUpTo: "maxVcpus",
    beyondLimit: { action: "restart", reason: "above maxVcpus fixed at boot" },
  },
  maxVcpus: { label: "maximum vCPUs", change: { action: "restart", reason: "the vCPU ceiling is fixed when QEMU starts" } },
  rootDiskSizeMiB: {
    label: "root disk (MiB)",
    grow: { action: "live", mechanism: "blockresize" },
    shrink: { action: "replace", reason: "disks cannot shrink; a new root disk is made from the base image", destroysData: true },
  },
  dataDiskSizeMiB: {
    label: "data disk (MiB)",
    grow: { action: "live", mechanism: "blockresize" },
    shrink: { action: "replace", reason: "disks cannot shrink; the data disk would be recreated empty", destroysData: true },
  },
  dataDisks: { label: "data disks (added/removed/bus)", change: { action: "restart", reason: "data disks are attached when the guest starts" } },
  boot: { label: "boot (kernel/initrd/cmdline/firmware)", change: { action: "restart", reason: "boot settings are read when QEMU starts" } },
  baseImage: { label: "base image", change: { action: "replace", reason: "the root disk is rebuilt from the new base image", destroysData: true } },
  rootDiskMode: { label: "root disk mode", change: { action: "replace", reason: "the root disk is rebuilt", destroysData: true } },
  network: { label: "network bridge", change: { action: "restart", reason: "the NIC is redefined" } },
  mac: { label: "MAC address", change: { action: "restart", reason: "the NIC is redefined" } },
  autostart: { label: "autostart", change: { action: "live", mechanism: "virsh autostart" } },
  running: { label: "running", change: { action: "live", mechanism: "virsh start / shutdown" } },
  shutdownTimeoutSec: { label: "shutdown timeout (s)", change: { action: "live", mechanism: "provider setting only" } },
  // libvirt renames only inactive domains.
  name: { label: "name", change: { action: "restart", reason: "libvirt renames only a stopped domain" } },
  emulated: { label: "emulated (TCG)", change: { action: "restart", reason: "the accelerator is chosen when QEMU starts" } },
  cloudInit: { label: "cloud-init", change: { action: "replace", reason: "cloud-init applies its seed on first boot only", destroysData: true } },
  storageDir: { label: "storage directory", change: { action: "replace", reason: "disks live under the storage directory", destroysData: true } },
};
