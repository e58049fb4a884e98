// What each change costs a running KVM guest: the effective table the planner, Hypervisor.capabilities, schema.json
// and the README reference all read.
import type { CapabilityTable } from "../../plan/types";
import { COMMON_GUEST_ROWS, GuestKey } from "../guest-view";

export const kvmCapabilities: CapabilityTable<GuestKey> = {
  ...COMMON_GUEST_ROWS,
  name: { change: { action: "restart", reason: "libvirt renames only a stopped domain" } },
  memoryMiB: {
    grow: { action: "live", mechanism: "virtio balloon" },
    shrink: { action: "live", mechanism: "virtio balloon" },
    liveUpTo: "maxMemoryMiB",
    beyondLimit: { action: "restart", reason: "above maxMemory fixed at boot" },
  },
  maxMemoryMiB: { change: { action: "restart", reason: "the memory ceiling is fixed when QEMU starts" } },
  vcpus: {
    grow: { action: "live", mechanism: "vCPU hotplug (ACPI)" },
    // Live unplug timed out under TCG and a later reset crashed QEMU (LAB-NOTES).
    shrink: { action: "restart", reason: "vCPU unplug is unreliable; the guest restarts with fewer vCPUs" },
    liveUpTo: "maxVcpus",
    beyondLimit: { action: "restart", reason: "above maxVcpus fixed at boot" },
  },
  maxVcpus: { change: { action: "restart", reason: "the vCPU ceiling is fixed when QEMU starts" } },
  boot: { change: { action: "restart", reason: "boot settings are read when QEMU starts" } },
  rootDiskSizeMiB: {
    grow: { action: "live", mechanism: "blockresize" },
    shrink: { action: "replace", reason: "disks cannot shrink; a new root disk is made from the base image", destroysData: true },
  },
  rootDiskMode: { change: { action: "replace", reason: "the root disk is rebuilt", destroysData: true } },
  // virtio disks are PCI devices (ACPI hotplug); scsi disks sit on a virtio-scsi controller libvirt adds if missing.
  dataDiskPresent: {
    grow: { action: "live", mechanism: "hot-plug: virsh attach-disk --live --config" },
    shrink: { action: "live", mechanism: "hot-unplug: virsh detach-disk --live --config, once the guest releases it (the file is kept unless deleteOnDestroy)" },
  },
  dataDiskSizeMiB: {
    grow: { action: "live", mechanism: "blockresize" },
    shrink: { action: "replace", reason: "disks cannot shrink; the data disk would be recreated empty", destroysData: true },
  },
  network: { change: { action: "restart", reason: "the NIC is redefined" } },
  nicPresent: {
    grow: { action: "live", mechanism: "virsh attach-interface --live --config" },
    shrink: { action: "live", mechanism: "virsh detach-interface --live --config" },
  },
  nicBridge: { change: { action: "restart", reason: "a NIC is plugged into its bridge when it is attached" } },
  nicStatic: { change: { action: "restart", reason: "static addresses reach the guest through cloud-init's network-config, read at boot" } },
  cloudInit: { change: { action: "replace", reason: "cloud-init applies its seed on first boot only", destroysData: true } },
  autostart: { change: { action: "live", mechanism: "virsh autostart" } },
  running: { change: { action: "live", mechanism: "virsh start / shutdown" } },
  emulated: { change: { action: "restart", reason: "the accelerator is chosen when QEMU starts" } },
};
