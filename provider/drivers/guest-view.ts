// What the planner compares for a Guest, the same for every VM backend (kvm, xen); only the rows differ.
import { defaultNicMac } from "../models/guest";
import type { GuestState } from "../models/state";
import type { ChangeRule, PlanValue, PlanView } from "../plan/types";

/** The view's keys; the dataDisk* families have one key per disk (`dataDiskSizeMiB:logs`). */
export const GUEST_KEYS = [
  "name", "virtualization", "vcpus", "maxVcpus", "memoryMiB", "maxMemoryMiB", "boot", "baseImage", "rootDiskSizeMiB",
  "rootDiskMode", "network", "cloudInit", "autostart", "running", "emulated", "hostIdentity",
  "dataDiskPresent", "dataDiskSataPresent", "dataDiskSizeMiB", "dataDiskBus",
  "nicPresent", "nicBridge", "nicStatic",
] as const;
export type GuestKey = (typeof GUEST_KEYS)[number];

/** A guest's vCPUs and memory with their ceilings; a ceiling left out is the size itself (nothing to grow into live). */
export function guestSizes(s: GuestState): { vcpus: number; maxVcpus: number; memoryMiB: number; maxMemoryMiB: number } {
  return { vcpus: s.vcpus, maxVcpus: s.maxVcpus ?? s.vcpus, memoryMiB: s.memory, maxMemoryMiB: s.maxMemory ?? s.memory };
}

export function guestView(s: GuestState): PlanView<GuestKey> {
  const hv = s.hypervisor;
  const v: PlanView<GuestKey> = {
    name: s.name,
    virtualization: s.virtualization,
    ...guestSizes(s),
    boot: s.boot,
    // A clone is compared by its source's name: a source replaced later (a new token) does not rebuild its clones.
    baseImage: s.rootDisk ? ("cloneFrom" in s.rootDisk ? `(a copy of guest "${s.rootDisk.cloneFrom.guest}")` : s.rootDisk.baseImage) : undefined,
    rootDiskSizeMiB: s.rootDisk?.size,
    rootDiskMode: s.rootDisk ? s.rootDisk.mode ?? "overlay" : undefined,
    network: s.network,
    cloudInit: s.cloudInit,
    autostart: s.autostart,
    running: s.running,
    emulated: hv?.host?.facts ? hv.emulated : undefined,
    hostIdentity: hv?.host?.facts ? `${hv.kind}/${hv.host.facts.machineId}/${hv.host.facts.hostname}` : undefined,
  };
  for (const d of s.dataDisks ?? []) {
    // A sata disk has a row of its own: QEMU cannot hot-plug an AHCI disk, so adding or removing one costs more.
    v[`${d.bus === "sata" ? "dataDiskSataPresent" : "dataDiskPresent"}:${d.name}`] = 1;
    v[`dataDiskSizeMiB:${d.name}`] = d.size;
    v[`dataDiskBus:${d.name}`] = d.bus;
  }
  // One key family per NIC, by MAC (given, or derived and kept by check): a NIC that appears or goes away, its
  // bridge, and its static configuration ("dhcp" when it has none).
  (s.nics ?? []).forEach((n, i) => {
    const mac = n.mac ?? defaultNicMac(s.name, i);
    v[`nicPresent:${mac}`] = 1;
    v[`nicBridge:${mac}`] = n.bridge;
    const fixed = { addresses: n.addresses ?? [], gateway4: n.gateway4, gateway6: n.gateway6, dhcp4: n.dhcp4 };
    v[`nicStatic:${mac}`] = fixed.addresses.length || n.gateway4 || n.gateway6 || n.dhcp4 === false ? JSON.stringify(fixed) : "dhcp";
  });
  return v;
}

/**
 * Lines two views up for comparison: a data disk that appears or disappears compares as present 1 / absent 0, and
 * its size and bus only when it exists on both sides.
 */
export function alignGuestViews(old: PlanView<GuestKey>, next: PlanView<GuestKey>): [PlanView<GuestKey>, PlanView<GuestKey>] {
  const o: Record<string, PlanValue> = { ...old };
  const n: Record<string, PlanValue> = { ...next };
  for (const k of Object.keys({ ...o, ...n })) {
    if (k.startsWith("dataDiskPresent:") || k.startsWith("dataDiskSataPresent:")) { o[k] = o[k] ?? 0; n[k] = n[k] ?? 0; }
    if ((k.startsWith("dataDiskSizeMiB:") || k.startsWith("dataDiskBus:")) && (o[k] === undefined || n[k] === undefined)) {
      delete o[k]; delete n[k];
    }
    if (k.startsWith("nicPresent:")) { o[k] = o[k] ?? 0; n[k] = n[k] ?? 0; }
    if (k.startsWith("nicBridge:") && (o[k] === undefined || n[k] === undefined)) { delete o[k]; delete n[k]; }
    // A new NIC with static addresses needs the guest to read its network-config again (at boot); a new DHCP NIC
    // and a NIC that goes away need nothing more than the plug itself.
    if (k.startsWith("nicStatic:")) {
      if (o[k] === undefined && n[k] !== undefined && n[k] !== "dhcp") o[k] = "(none: a new NIC)";
      else if (o[k] === undefined || n[k] === undefined) { delete o[k]; delete n[k]; }
    }
  }
  return [o, n];
}

const DISPLAY: Partial<Record<GuestKey, string>> = {
  memoryMiB: "memory", maxMemoryMiB: "maxMemory", baseImage: "rootDisk.baseImage", rootDiskSizeMiB: "rootDisk.size",
  rootDiskMode: "rootDisk.mode", hostIdentity: "hypervisor (host)", emulated: "hypervisor (emulated)",
};
const INPUT: Partial<Record<GuestKey, string>> = {
  memoryMiB: "memory", maxMemoryMiB: "maxMemory", baseImage: "rootDisk", rootDiskSizeMiB: "rootDisk", rootDiskMode: "rootDisk",
  hostIdentity: "hypervisor", emulated: "hypervisor",
};
const isKey = (k: string): k is GuestKey => (GUEST_KEYS as readonly string[]).includes(k);

export function guestDisplayName(key: string): string {
  const nic = /^nic(Present|Bridge|Static):(.*)$/.exec(key);
  if (nic) return nic[1] === "Present" ? `nics[${nic[2]}]` : nic[1] === "Bridge" ? `nics[${nic[2]}].bridge` : `nics[${nic[2]}] addresses`;
  const m = /^dataDisk(SizeMiB|Bus|Present|SataPresent):(.*)$/.exec(key);
  if (m) {
    if (m[1] === "SataPresent") return `dataDisks[${m[2]}] (bus sata)`;
    return m[1] === "SizeMiB" ? `dataDisks[${m[2]}].size` : m[1] === "Bus" ? `dataDisks[${m[2]}].bus` : `dataDisks[${m[2]}]`;
  }
  return (isKey(key) ? DISPLAY[key] : undefined) ?? key;
}

export function guestInputName(key: string): string {
  if (key.startsWith("dataDisk")) return "dataDisks";
  if (key.startsWith("nic")) return "nics";
  return (isKey(key) ? INPUT[key] : undefined) ?? key;
}

/** Rows that mean the same on every VM backend. */
export const COMMON_GUEST_ROWS = {
  virtualization: { change: { action: "replace", reason: "the virtualization form is fixed: a new guest is built" } },
  hostIdentity: { change: { action: "replace", reason: "the guest moves to another host: a new guest is created there and the old one destroyed" } },
  // An explicit request to re-image: a replacement shown in preview, like any other replacement. Data disks are kept
  // (unless deleteOnDestroy).
  baseImage: { change: { action: "replace", reason: "the root disk is rebuilt from the new base image (data disks are kept)" } },
  dataDiskPresent: {
    grow: { action: "restart", reason: "data disks are attached at boot" },
    shrink: { action: "restart", reason: "data disks are detached at boot (the disk file is kept unless deleteOnDestroy)" },
  },
  dataDiskSataPresent: {
    grow: { action: "restart", reason: "a sata (AHCI) disk cannot be hot-plugged: it is attached at boot" },
    shrink: { action: "restart", reason: "a sata (AHCI) disk cannot be hot-unplugged: it is detached at boot (the disk file is kept unless deleteOnDestroy)" },
  },
  dataDiskBus: { change: { action: "restart", reason: "a disk's bus is fixed while the guest runs" } },
} satisfies Partial<Record<GuestKey, { change?: ChangeRule; grow?: ChangeRule; shrink?: ChangeRule }>>;
