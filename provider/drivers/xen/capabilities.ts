// What each change costs a running Xen PV guest: the effective table the planner, Hypervisor.capabilities,
// schema.json and the README reference all read.
import type { CapabilityTable } from "../../plan/types";
import { COMMON_GUEST_ROWS, GuestKey } from "../guest-view";

// Every disk is a raw image behind a loop device (scripts/hotplug-block.sh): grown in place, blkback passes the new
// size to the guest's blkfront (measured on Xen 4.17: the guest saw 64 → 96 MiB with the same domid).
const DISK_SIZE = {
  grow: { action: "live", mechanism: "image grown and its loop device re-read (losetup -c), blkback passes the new size to the guest" },
  shrink: { action: "replace", reason: "disks cannot shrink; the disk would be recreated empty", destroysData: true },
} as const;

// A PV disk has no bus: every data disk is a vbd, plugged in and out through xenstore.
const DATA_DISK_PRESENT = {
  grow: { action: "live", mechanism: "xl block-attach" },
  shrink: { action: "live", mechanism: "xl block-detach, once the guest closes the device (the file is kept unless deleteOnDestroy)" },
} as const;

export const xenCapabilities: CapabilityTable<GuestKey> = {
  ...COMMON_GUEST_ROWS,
  // Verified on Xen 4.17: `xl rename` on a running domain keeps its domid and uptime.
  name: { change: { action: "live", mechanism: "xl rename" } },
  memoryMiB: {
    grow: { action: "live", mechanism: "xl mem-set (balloon)" },
    shrink: { action: "live", mechanism: "xl mem-set (balloon)" },
    liveUpTo: "maxMemoryMiB",
    beyondLimit: { action: "restart", reason: "above maxmem, the reservation fixed when the domain is built" },
  },
  maxMemoryMiB: { change: { action: "restart", reason: "maxmem is fixed when the domain is built" } },
  vcpus: {
    grow: { action: "live", mechanism: "xl vcpu-set" },
    // PV vCPUs are taken offline by the guest kernel through xenstore; no ACPI involved.
    shrink: { action: "live", mechanism: "xl vcpu-set" },
    liveUpTo: "maxVcpus",
    beyondLimit: { action: "restart", reason: "above maxvcpus, fixed when the domain is built" },
  },
  maxVcpus: { change: { action: "restart", reason: "maxvcpus is fixed when the domain is built" } },
  boot: { change: { action: "restart", reason: "the PV kernel is loaded when the domain is built" } },
  rootDiskSizeMiB: DISK_SIZE,
  dataDiskSizeMiB: DISK_SIZE,
  dataDiskPresent: DATA_DISK_PRESENT,
  dataDiskSataPresent: DATA_DISK_PRESENT,
  // The PV root disk is always a full copy of the base image; a new mode still rebuilds it.
  rootDiskMode: { change: { action: "replace", reason: "switching between an overlay and a full copy rebuilds the root disk" } },
  network: { change: { action: "restart", reason: "the vif is set up when the domain is built" } },
  // Verified on Xen 4.17 (lab): the guest's netfront sees the vif come and go, same domid.
  nicPresent: {
    grow: { action: "live", mechanism: "xl network-attach (and the saved config)" },
    shrink: { action: "live", mechanism: "xl network-detach (and the saved config)" },
  },
  nicBridge: { change: { action: "restart", reason: "vifs are set up when the domain is built" } },
  nicStatic: { change: { action: "restart", reason: "static addresses reach the guest through its NoCloud seed's network-config, read at boot" } },
  running: { change: { action: "live", mechanism: "xl create / xl shutdown" } },
  // The models refuse these for a PV guest (they are kvm features); the rows say so should one ever reach the planner.
  cloudInit: { change: { action: "refuse", reason: "cloudInit is supported for full-virtualization guests only" } },
  autostart: { change: { action: "refuse", reason: "autostart is managed for full-virtualization guests only; for Xen domains use xendomains (/etc/xen/auto)" } },
  emulated: { change: { action: "refuse", reason: "emulation is a property of kvm hypervisors" } },
};
