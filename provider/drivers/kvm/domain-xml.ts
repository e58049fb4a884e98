// Domain XML: the definition libvirt gets, with the driver's bookkeeping in <metadata>.
import { XMLBuilder } from "fast-xml-parser";
import { diskSerial, diskTargets, domainPaths, META_NS, stableMac } from "./paths";
import type { DomainPaths, DomainSpec } from "./types";
import { validateDomainSpec } from "./validate";

/**
 * Namespace of the owning resource's token inside <metadata>: an element of its own, so `virsh metadata` can set it
 * on an existing domain (a claim) without rewriting the driver's bookkeeping.
 */
export const OWNER_NS = "https://github.com/pulumi-virt/kvm/owner/1";

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@_", format: true, suppressEmptyNode: true });

/** `uuid` must be given when redefining an existing domain: libvirt refuses a second domain of the same name. */
export function buildDomainXml(spec: DomainSpec, paths: DomainPaths = domainPaths(spec), opts: { uuid?: string } = {}): string {
  validateDomainSpec(spec);
  const targets = diskTargets(spec.dataDisks);
  const os: Record<string, unknown> = { type: { "@_arch": "x86_64", "#text": "hvm" } };
  if (spec.boot.kind === "kernel") {
    os.kernel = spec.boot.kernel;
    if (spec.boot.initrd) os.initrd = spec.boot.initrd;
    // A clone's own machine ID, which systemd's PID 1 takes over the copied disk's from the first boot on; first, so
    // a systemd.machine_id= of the user's own cmdline (the last one counts) still wins.
    const mid = spec.machineId ? `systemd.machine_id=${spec.machineId}` : "";
    const cmdline = [mid, spec.boot.cmdline ?? ""].filter(Boolean).join(" ");
    if (cmdline) os.cmdline = cmdline;
  } else {
    if (spec.boot.firmware === "uefi") os["@_firmware"] = "efi";
    os.boot = { "@_dev": "hd" };
  }

  const disks: Record<string, unknown>[] = [
    {
      "@_type": "file",
      "@_device": "disk",
      driver: { "@_name": "qemu", "@_type": "qcow2" },
      source: { "@_file": paths.rootDisk },
      target: { "@_dev": "vda", "@_bus": "virtio" },
    },
  ];
  for (const d of spec.dataDisks) {
    disks.push({
      "@_type": "file",
      "@_device": "disk",
      driver: { "@_name": "qemu", "@_type": "qcow2" },
      source: { "@_file": paths.dataDisks[d.name] },
      target: { "@_dev": targets[d.name], "@_bus": d.bus },
      serial: diskSerial(d.name),
    });
  }
  if (spec.cloudInit && paths.seedIso) {
    disks.push({
      "@_type": "file",
      "@_device": "cdrom",
      driver: { "@_name": "qemu", "@_type": "raw" },
      source: { "@_file": paths.seedIso },
      target: { "@_dev": "hdc", "@_bus": "ide" },
      readonly: "",
    });
  }

  const devices: Record<string, unknown> = { disk: disks };
  if (spec.dataDisks.some((d) => d.bus === "scsi")) devices.controller = { "@_type": "scsi", "@_model": "virtio-scsi" };
  if (spec.nics?.length) {
    devices.interface = spec.nics.map((n) => ({
      "@_type": "bridge",
      mac: { "@_address": n.mac.toLowerCase() },
      source: { "@_bridge": n.bridge },
      model: { "@_type": "virtio" },
    }));
  } else if (spec.network) {
    devices.interface = {
      "@_type": "bridge",
      mac: { "@_address": (spec.network.mac ?? stableMac(spec.name)).toLowerCase() },
      source: { "@_bridge": spec.network.bridge },
      model: { "@_type": "virtio" },
    };
  }
  // A pty serial whose output virtlogd also writes to a file: tests and operators read the console there.
  devices.serial = { "@_type": "pty", log: { "@_file": paths.consoleLog, "@_append": "on" }, target: { "@_port": "0" } };
  devices.console = { "@_type": "pty", target: { "@_type": "serial", "@_port": "0" } };
  devices.memballoon = { "@_model": "virtio" };

  const meta = {
    "pv:guest": {
      "@_xmlns:pv": META_NS,
      "pv:dir": paths.dir,
      "pv:rootDisk": paths.rootDisk,
      "pv:baseImage": spec.rootDisk.baseImage,
      "pv:rootMode": spec.rootDisk.mode,
      ...(spec.rootDisk.cloneFrom ? { "pv:cloneOf": spec.rootDisk.cloneFrom.guest } : {}),
      "pv:consoleLog": paths.consoleLog,
      ...(paths.seedIso ? { "pv:seedIso": paths.seedIso } : {}),
      ...(spec.dataDisks.length
        ? { "pv:dataDisk": spec.dataDisks.map((d) => ({ "@_name": d.name, "@_target": targets[d.name], "#text": paths.dataDisks[d.name] })) }
        : {}),
    },
    ...(spec.ownerToken ? { "pvo:owner": { "@_xmlns:pvo": OWNER_NS, "#text": spec.ownerToken } } : {}),
  };

  const domain: Record<string, unknown> = {
    "@_type": spec.emulated ? "qemu" : "kvm",
    name: spec.name,
    ...(opts.uuid ? { uuid: opts.uuid } : {}),
    metadata: meta,
    memory: { "@_unit": "KiB", "#text": String(spec.maxMemoryMiB * 1024) },
    currentMemory: { "@_unit": "KiB", "#text": String(spec.memoryMiB * 1024) },
    vcpu: { "@_placement": "static", "@_current": String(spec.vcpus), "#text": String(spec.maxVcpus) },
    os,
    // Without ACPI, vCPU hotplug silently does nothing and shutdown cannot be requested.
    features: { acpi: "", apic: "" },
    ...(spec.emulated ? {} : { cpu: { "@_mode": "host-passthrough" } }),
    clock: { "@_offset": "utc" },
    on_poweroff: "destroy",
    on_reboot: "restart",
    on_crash: "destroy",
    devices,
  };
  // suppressEmptyNode turns "" into <acpi/>; keep the text nodes as strings so it applies.
  return builder.build({ domain });
}
