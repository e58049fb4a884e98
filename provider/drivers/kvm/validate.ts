// Refusals of a domain spec before anything runs on the host.
import type { DomainSpec } from "./types";

export const OWNER_TOKEN_RE = /^[0-9a-f]{16,64}$/;

export class InvalidDomainSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidDomainSpecError";
  }
}

/** Names become file names and virsh arguments: no slash, no control characters, no leading dash or dot. */
export function validateGuestName(name: string): void {
  if (!name || name.length > 64 || /[/\x00-\x1f\x7f]/.test(name) || /^[-.]/.test(name)) {
    throw new InvalidDomainSpecError(
      `guest name ${JSON.stringify(name)} is not usable: use 1-64 characters, no '/', no control characters, not starting with '-' or '.'`,
    );
  }
  // virsh resolves --domain as an ID, then a UUID, then a name: such a name could address another domain.
  if (/^[0-9]+$/.test(name) || (/^[0-9a-fA-F-]+$/.test(name) && name.replace(/-/g, "").length === 32)) {
    throw new InvalidDomainSpecError(`guest name ${JSON.stringify(name)} is not usable: virsh would read it as a domain ID or UUID`);
  }
}

export function validateDomainSpec(spec: DomainSpec): void {
  validateGuestName(spec.name);
  if (spec.ownerToken !== undefined && !OWNER_TOKEN_RE.test(spec.ownerToken)) throw new InvalidDomainSpecError("ownerToken must be 16-64 lowercase hex digits");
  const posInt = (v: number, what: string) => {
    if (!Number.isInteger(v) || v <= 0) throw new InvalidDomainSpecError(`${what} must be a positive integer, got ${v}`);
  };
  posInt(spec.vcpus, "vcpus");
  posInt(spec.maxVcpus, "maxVcpus");
  posInt(spec.memoryMiB, "memoryMiB");
  posInt(spec.maxMemoryMiB, "maxMemoryMiB");
  if (spec.vcpus > spec.maxVcpus) throw new InvalidDomainSpecError(`vcpus (${spec.vcpus}) exceeds maxVcpus (${spec.maxVcpus}); raise maxVcpus`);
  if (spec.memoryMiB > spec.maxMemoryMiB)
    throw new InvalidDomainSpecError(`memoryMiB (${spec.memoryMiB}) exceeds maxMemoryMiB (${spec.maxMemoryMiB}); raise maxMemoryMiB`);
  if (spec.rootDisk.sizeMiB !== undefined) posInt(spec.rootDisk.sizeMiB, "rootDisk.sizeMiB");
  if (spec.rootDisk.cloneFrom) {
    validateGuestName(spec.rootDisk.cloneFrom.guest);
    if (!OWNER_TOKEN_RE.test(spec.rootDisk.cloneFrom.ownerToken)) throw new InvalidDomainSpecError("rootDisk.cloneFrom.ownerToken must be 16-64 lowercase hex digits");
    if (spec.rootDisk.cloneFrom.guest === spec.name) throw new InvalidDomainSpecError("rootDisk.cloneFrom names the guest itself");
  } else if (!spec.rootDisk.baseImage.startsWith("/")) throw new InvalidDomainSpecError("rootDisk.baseImage must be an absolute path on the host");
  if (!spec.storageDir.startsWith("/")) throw new InvalidDomainSpecError("storageDir must be an absolute path on the host");
  const seen = new Set<string>();
  for (const d of spec.dataDisks) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(d.name)) throw new InvalidDomainSpecError(`data disk name ${JSON.stringify(d.name)}: use 1-32 of [A-Za-z0-9_-]`);
    if (seen.has(d.name)) throw new InvalidDomainSpecError(`data disk name ${d.name} is used twice`);
    seen.add(d.name);
    posInt(d.sizeMiB, `data disk ${d.name} sizeMiB`);
  }
  for (const n of spec.nics ?? []) {
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(n.mac)) throw new InvalidDomainSpecError(`nic mac ${n.mac} is not a MAC address like 52:54:00:12:34:56`);
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/.test(n.bridge)) throw new InvalidDomainSpecError(`nic bridge ${n.bridge} is not an interface name`);
  }
  if (new Set((spec.nics ?? []).map((n) => n.mac.toLowerCase())).size !== (spec.nics ?? []).length) throw new InvalidDomainSpecError("two NICs have the same MAC");
  if (spec.network?.mac && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(spec.network.mac))
    throw new InvalidDomainSpecError(`network.mac ${spec.network.mac} is not a MAC address like 52:54:00:12:34:56`);
  if (!Number.isFinite(spec.shutdownTimeoutSec) || spec.shutdownTimeoutSec < 0) throw new InvalidDomainSpecError("shutdownTimeoutSec must be >= 0");
}
