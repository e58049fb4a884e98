// Where a guest's files live on the host, its device names and its default MAC: pure, derived from the spec.
import { createHash } from "node:crypto";
import type { DataDiskSpec, DomainPaths, DomainSpec } from "./types";

/** XML namespace of the driver's own bookkeeping inside <metadata> (every domain it defines has it). */
export const META_NS = "https://github.com/pulumi-virt/kvm/1";

export function domainPaths(spec: Pick<DomainSpec, "name" | "storageDir" | "dataDisks" | "cloudInit">): DomainPaths {
  const dir = `${spec.storageDir.replace(/\/+$/, "")}/${spec.name}`;
  const dataDisks: Record<string, string> = {};
  for (const d of spec.dataDisks) dataDisks[d.name] = dataDiskPath(dir, d.name);
  return {
    dir,
    rootDisk: `${dir}/root.qcow2`,
    dataDisks,
    // Inside a 0700 directory of its own (cloud-init data holds passwords and keys): see scripts/seed-iso.sh.
    seedIso: spec.cloudInit ? `${dir}/cidata/seed.iso` : undefined,
    consoleLog: `${dir}/console.log`,
    definition: `${dir}/domain.xml`,
  };
}

/** A data disk's image in the guest's directory: the same for a disk defined at boot and one hot-plugged later. */
export function dataDiskPath(guestDir: string, diskName: string): string {
  return `${guestDir}/data-${diskName}.qcow2`;
}

/** The serial a data disk shows the guest (/dev/disk/by-id/virtio-pv-<name>), whatever its device name. */
export const diskSerial = (diskName: string): string => `pv-${diskName}`;

/** The serial console log (written by virtlogd, appended across boots). */
export function consoleLogPath(spec: Pick<DomainSpec, "name" | "storageDir">): string {
  return domainPaths({ ...spec, dataDisks: [] }).consoleLog;
}

/** A locally administered QEMU-range MAC derived from the name, so redefinitions keep it. */
export function stableMac(name: string): string {
  const h = createHash("sha256").update(name).digest();
  return ["52", "54", "00", ...[h[0], h[1], h[2]].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

/** Guest-visible device names: virtio disks vda.., scsi and sata share the sd.. namespace. Root is vda. */
export function diskTargets(dataDisks: DataDiskSpec[]): Record<string, string> {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  let vd = 1;
  let sd = 0;
  const out: Record<string, string> = {};
  for (const d of dataDisks) out[d.name] = d.bus === "virtio" ? `vd${letters[vd++]}` : `sd${letters[sd++]}`;
  return out;
}

/**
 * A clone's machine ID (rootDisk.cloneFrom): the source's /etc/machine-id came with the disk. Derived from the clone's
 * owner token, so it is stable across its restarts and another for a replacement; 32 hex digits, as systemd reads it.
 */
export function cloneMachineId(ownerToken: string): string {
  return createHash("sha256").update(`pulumi-virt machine-id\0${ownerToken}`).digest("hex").slice(0, 32);
}
