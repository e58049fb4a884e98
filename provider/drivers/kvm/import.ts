// `pulumi import` of a libvirt domain: the Guest args a program would declare for it, from one read. Only a domain
// laid out as pulumi-virt keeps one is accepted, since a restart redefines the domain from the args alone: its root
// disk where the driver keeps it (or it would boot a new root disk), every other disk one of its data disks, no
// media in a CD drive (a redefinition has none), every NIC on a bridge, and the accelerator the Hypervisor's guests
// get (a restart would switch it without preview saying so). Anything else is refused, saying why; nothing is changed.
import type { HypervisorRef } from "../../models/hypervisor";
import type { GuestObserved, ObservedDisk } from "./types";
import { dataDiskPath, domainPaths, stableMac } from "./paths";

const DISK_BUS: Record<string, string> = { virtio: "virtio", scsi: "scsi", sata: "sata" };

function refuse(name: string, why: string): never {
  throw new Error(`guest ${name} cannot be imported: ${why}`);
}

function bootOf(o: GuestObserved): Record<string, unknown> {
  if (o.kernel) return { kernel: o.kernel, ...(o.initrd ? { initrd: o.initrd } : {}), ...(o.cmdline ? { cmdline: o.cmdline } : {}) };
  if (o.firmware === "bios") return { firmware: "bios" };
  if (o.firmware === "efi") return { firmware: "uefi" };
  return refuse(o.name, "it boots neither a direct kernel nor BIOS/UEFI firmware pulumi-virt knows (a custom loader)");
}

/** The root disk's args: an overlay declares its backing image; a plain image stands for itself (nothing says where it came from). */
function rootDiskOf(o: GuestObserved, root: ObservedDisk): Record<string, unknown> {
  const base = o.baseImage ?? root.backingFile;
  return { baseImage: base ?? root.path, ...(root.sizeMiB >= 16 ? { size: root.sizeMiB } : {}), mode: base ? "overlay" : "copy" };
}

function dataDisksOf(o: GuestObserved, dir: string, disks: ObservedDisk[]): Record<string, unknown>[] {
  return disks.map((d) => {
    const m = /\/data-([a-z][a-z0-9-]{0,31})\.qcow2$/.exec(d.path);
    const name = m?.[1];
    if (!name || d.path !== dataDiskPath(dir, name)) refuse(o.name, `disk ${d.target} (${d.path}) is not a data disk of pulumi-virt's (${dataDiskPath(dir, "<name>")})`);
    const bus = DISK_BUS[d.bus ?? (d.target.startsWith("vd") ? "virtio" : "")];
    if (!bus) refuse(o.name, `disk ${d.target} is on a bus pulumi-virt does not manage (${d.bus ?? "unknown"}); expected virtio, scsi or sata`);
    return { name, size: d.sizeMiB, bus };
  });
}

function networkOf(o: GuestObserved, hv: HypervisorRef): Record<string, unknown> {
  const nics = o.interfaces ?? [];
  if (nics.length === 0) refuse(o.name, "it has no NIC (pulumi-virt gives every guest one)");
  const off = nics.find((n) => !n.bridge);
  if (off) refuse(o.name, `NIC ${off.mac} is not on a bridge (pulumi-virt plugs NICs into bridges)`);
  if (nics.length > 1) return { nics: nics.map((n) => ({ bridge: n.bridge, mac: n.mac })) };
  const [nic] = nics;
  // The defaults (the Hypervisor's bridge, the MAC derived from the name) stay implicit, as a program would write it.
  const network = { ...(nic.bridge !== hv.bridge ? { bridge: nic.bridge } : {}), ...(nic.mac !== stableMac(o.name) ? { mac: nic.mac } : {}) };
  return Object.keys(network).length ? { network } : {};
}

function refuseMedia(o: GuestObserved, seedIso: string): void {
  const media = (o.disks ?? []).find((d) => d.device !== "disk" && d.path);
  if (!media) return;
  if (media.path === seedIso) {
    refuse(o.name, `it boots with a cloud-init seed (${media.path}) whose data cannot be read back; declare it in the program with its cloudInit and adopt: true instead`);
  }
  refuse(o.name, `${media.device} ${media.target} holds ${media.path}, which a redefinition would drop; eject it first (virsh change-media ${o.name} ${media.target} --eject --config)`);
}

function refuseAccelerator(o: GuestObserved, hv: HypervisorRef): void {
  if (o.emulated === undefined || o.emulated === hv.emulated) return;
  const how = (emulated: boolean) => (emulated ? "QEMU emulation (domain type qemu)" : "KVM (domain type kvm)");
  refuse(o.name, `it runs under ${how(o.emulated)}, but guests of this Hypervisor run under ${how(hv.emulated)}: a restart would switch it`);
}

/** A guest's args from what libvirt reports (`pulumi import`): what preview then compares the program with. */
export function kvmImportedArgs(o: GuestObserved, hv: HypervisorRef): Record<string, unknown> {
  // Where pulumi-virt keeps this guest's files (the seed's path as if it had cloud-init data).
  const paths = domainPaths({ name: o.name, storageDir: hv.storageDir, dataDisks: [], cloudInit: { userData: "" } });
  const dir = paths.dir;
  refuseAccelerator(o, hv);
  refuseMedia(o, paths.seedIso!);
  const disks = (o.disks ?? []).filter((d) => d.device === "disk");
  const root = disks.find((d) => d.target === "vda");
  const rootPath = `${dir}/root.qcow2`;
  if (!root || root.path !== rootPath) refuse(o.name, `its root disk (vda) is ${root?.path ?? "missing"}; pulumi-virt keeps a guest's root disk at ${rootPath} (move it there to import the guest)`);
  // The definition's values (what the guest gets at its next start), not the balloon's momentary size.
  const vcpus = o.configuredVcpus ?? o.vcpus;
  const memory = o.configuredMemoryMiB ?? o.memoryMiB;
  if (vcpus === undefined || memory === undefined) refuse(o.name, "libvirt reported no vCPU count or memory size");
  const dataDisks = dataDisksOf(o, dir, disks.filter((d) => d !== root));
  return {
    name: o.name,
    virtualization: "full",
    vcpus,
    ...(o.maxVcpus !== undefined && o.maxVcpus !== vcpus ? { maxVcpus: o.maxVcpus } : {}),
    memory,
    ...(o.maxMemoryMiB !== undefined && o.maxMemoryMiB !== memory ? { maxMemory: o.maxMemoryMiB } : {}),
    boot: bootOf(o),
    rootDisk: rootDiskOf(o, root),
    ...(dataDisks.length ? { dataDisks } : {}),
    ...networkOf(o, hv),
    running: o.state === "running" || o.state === "paused",
    autostart: o.autostart ?? false,
  };
}
