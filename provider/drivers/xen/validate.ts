// Refusals of a domain spec before anything runs on the host: no value may break out of the xl config.
import { isUnicastMac, xenDomainNameProblem } from "../../models/common";
import type { XenDomainSpec } from "./types";

export class InvalidXenSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidXenSpecError";
  }
}

// xl treats an all-digit argument as a domid, so such names would address the wrong domain.
export const NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const VDEV_RE = /^xvd[a-z]{1,2}$/;
export const BRIDGE_RE = /^[A-Za-z0-9_.-]{1,15}$/;
export const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
// Paths go inside "..." in the config and, for disks, inside a comma-separated disk spec.
export const PATH_RE = /^\/[A-Za-z0-9_.+@/-]*$/;

export function validateDomainName(name: string): void {
  if (typeof name !== "string" || !NAME_RE.test(name) || name === "Domain-0" || xenDomainNameProblem(name) !== undefined)
    throw new InvalidXenSpecError(
      `invalid Xen domain name ${JSON.stringify(name)}: use 1-64 characters [A-Za-z0-9_.-] starting with a letter (not "Domain-0")`,
    );
}

export function validatePath(what: string, p: string): void {
  if (typeof p !== "string" || !PATH_RE.test(p) || p.split("/").includes(".."))
    throw new InvalidXenSpecError(
      `${what} ${JSON.stringify(p)} is not usable in an xl config: give an absolute path of [A-Za-z0-9_.+@/-] ` +
        `(no quotes, commas, spaces, backslashes, newlines or "..")`,
    );
}

export function validateInt(what: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new InvalidXenSpecError(`${what} must be an integer from ${min} to ${max}, got ${v}`);
}

export function validateXenSpec(spec: XenDomainSpec): void {
  validateDomainName(spec.name);
  validateInt("vcpus", spec.vcpus, 1, 512);
  validateInt("maxVcpus", spec.maxVcpus, 1, 512);
  if (spec.vcpus > spec.maxVcpus) throw new InvalidXenSpecError(`vcpus (${spec.vcpus}) must not exceed maxVcpus (${spec.maxVcpus})`);
  validateInt("memoryMiB", spec.memoryMiB, 32, 16 * 1024 * 1024);
  validateInt("maxMemoryMiB", spec.maxMemoryMiB, 32, 16 * 1024 * 1024);
  if (spec.memoryMiB > spec.maxMemoryMiB)
    throw new InvalidXenSpecError(`memoryMiB (${spec.memoryMiB}) must not exceed maxMemoryMiB (${spec.maxMemoryMiB})`);
  validateInt("shutdownTimeoutSec", spec.shutdownTimeoutSec, 0, 3600);
  validatePath("configDir", spec.configDir);
  const boot = spec.boot;
  if (boot.kind === "kernel") {
    validatePath("boot.kernel", boot.kernel);
    if (boot.ramdisk !== undefined) validatePath("boot.ramdisk", boot.ramdisk);
    // The command line may hold spaces, "=" and ","; only what ends the "..." string or the line is refused.
    if (boot.extra !== undefined && (typeof boot.extra !== "string" || /["\\\x00-\x1f\x7f]/.test(boot.extra) || boot.extra.length > 1024))
      throw new InvalidXenSpecError(
        `boot.extra ${JSON.stringify(boot.extra)} cannot go into an xl config: remove double quotes, backslashes and control characters (newlines)`,
      );
  } else if (boot.kind === "bootloader") {
    if (boot.bootloader !== "pygrub") throw new InvalidXenSpecError(`boot.bootloader must be "pygrub", got ${JSON.stringify(boot.bootloader)}`);
    if (spec.disks.length === 0) throw new InvalidXenSpecError("boot with pygrub needs at least one disk holding the guest's /boot");
  } else {
    throw new InvalidXenSpecError(`boot.kind must be "kernel" or "bootloader"`);
  }
  const vdevs = new Set<string>();
  for (const d of spec.disks) {
    validatePath(`disk ${d.vdev} path`, d.path);
    if (typeof d.vdev !== "string" || !VDEV_RE.test(d.vdev))
      throw new InvalidXenSpecError(`disk vdev ${JSON.stringify(d.vdev)} must look like xvda, xvdb, ... (xvd + 1-2 letters)`);
    if (vdevs.has(d.vdev)) throw new InvalidXenSpecError(`disk vdev ${d.vdev} is used twice`);
    vdevs.add(d.vdev);
    if (d.format !== undefined && d.format !== "raw" && d.format !== "qcow2")
      throw new InvalidXenSpecError(`disk ${d.vdev} format must be "raw" or "qcow2"`);
    if (d.sizeMiB !== undefined) validateInt(`disk ${d.vdev} sizeMiB`, d.sizeMiB, 1, 64 * 1024 * 1024);
    if (d.script !== undefined) validatePath(`disk ${d.vdev} script`, d.script);
  }
  if (spec.seed) {
    validatePath("seed path", spec.seed.path);
    if (!VDEV_RE.test(spec.seed.vdev) || vdevs.has(spec.seed.vdev)) throw new InvalidXenSpecError(`seed vdev ${JSON.stringify(spec.seed.vdev)} must be a free xvd name`);
  }
  for (const n of spec.nics ?? []) {
    if (typeof n.bridge !== "string" || !BRIDGE_RE.test(n.bridge)) throw new InvalidXenSpecError(`nic bridge ${JSON.stringify(n.bridge)} must be an interface name of 1-15 [A-Za-z0-9_.-]`);
    if (!MAC_RE.test(n.mac) || !isUnicastMac(n.mac)) throw new InvalidXenSpecError(`nic mac ${JSON.stringify(n.mac)} must be a unicast MAC like 00:16:3e:12:34:56`);
  }
  if (spec.network) {
    if (typeof spec.network.bridge !== "string" || !BRIDGE_RE.test(spec.network.bridge))
      throw new InvalidXenSpecError(`network.bridge ${JSON.stringify(spec.network.bridge)} must be an interface name of 1-15 [A-Za-z0-9_.-]`);
    const mac = spec.network.mac;
    if (mac !== undefined && (!MAC_RE.test(mac) || !isUnicastMac(mac)))
      throw new InvalidXenSpecError(`network.mac ${JSON.stringify(mac)} must be a unicast MAC like 00:16:3e:12:34:56`);
  }
}
