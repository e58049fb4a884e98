// The xl domain config file (cfg) text.
import { hotplugScriptPath } from "./paths";
import type { XenDomainSpec } from "./types";
import { validateXenSpec } from "./validate";

/** xl domain config text for a PV domain. Validates first: no value can break out of its quotes or list item. */
export function renderXlConfig(spec: XenDomainSpec): string {
  validateXenSpec(spec);
  const q = (s: string) => `"${s}"`;
  const lines = [
    "# Managed by pulumi-virt: rewritten on every change, read by `xl create` at the next start.",
    `type = "pv"`,
    `name = ${q(spec.name)}`,
    `memory = ${spec.memoryMiB}`,
    `maxmem = ${spec.maxMemoryMiB}`,
    `vcpus = ${spec.vcpus}`,
    `maxvcpus = ${spec.maxVcpus}`,
  ];
  if (spec.boot.kind === "kernel") {
    lines.push(`kernel = ${q(spec.boot.kernel)}`);
    if (spec.boot.ramdisk) lines.push(`ramdisk = ${q(spec.boot.ramdisk)}`);
    if (spec.boot.extra !== undefined) lines.push(`extra = ${q(spec.boot.extra)}`);
  } else {
    lines.push(`bootloader = ${q(spec.boot.bootloader)}`);
  }
  // target= must come last: xl reads the rest of the spec as the target.
  const disks = spec.disks.map((d) => q(`format=${d.format ?? "raw"}, vdev=${d.vdev}, access=${d.readOnly ? "ro" : "rw"}, ${d.script ? `script=${d.script}, ` : ""}target=${d.path}`));
  // The NoCloud seed: read-only, behind the driver's hotplug script like every other disk.
  if (spec.seed) disks.push(q(`format=raw, vdev=${spec.seed.vdev}, access=ro, script=${hotplugScriptPath(spec.configDir)}, target=${spec.seed.path}`));
  lines.push(`disk = [ ${disks.join(", ")} ]`);
  if (spec.nics?.length) {
    lines.push(`vif = [ ${spec.nics.map((n) => q(`bridge=${n.bridge},mac=${n.mac.toLowerCase()}`)).join(", ")} ]`);
  } else if (spec.network) {
    const vif = [`bridge=${spec.network.bridge}`, ...(spec.network.mac ? [`mac=${spec.network.mac.toLowerCase()}`] : [])].join(",");
    lines.push(`vif = [ ${q(vif)} ]`);
  } else {
    lines.push(`vif = [ ]`);
  }
  lines.push(`on_poweroff = "destroy"`, `on_reboot = "restart"`, `on_crash = "destroy"`);
  return lines.join("\n") + "\n";
}
