// Unit tests of the KVM driver's pure parts: domain XML, paths, MACs, validation, capability table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { XMLParser } from "fast-xml-parser";
import fc from "fast-check";
import {
  buildDomainXml,
  consoleLogPath,
  diskTargets,
  domainPaths,
  DomainSpec,
  InvalidDomainSpecError,
  kvmCapabilities,
  parseReadOutput,
  stableMac,
  startFailureHint,
} from "../../provider/drivers/kvm";

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (tag) => ["disk", "interface", "pv:dataDisk"].includes(tag),
});

function spec(over: Partial<DomainSpec> = {}): DomainSpec {
  return {
    name: "pvt-kvm-unit",
    vcpus: 1,
    maxVcpus: 4,
    memoryMiB: 256,
    maxMemoryMiB: 1024,
    emulated: true,
    boot: { kind: "kernel", kernel: "/img/vmlinuz", initrd: "/img/initrd.img", cmdline: "console=ttyS0" },
    rootDisk: { baseImage: "/img/base-a.qcow2", sizeMiB: 96, mode: "overlay" },
    dataDisks: [],
    running: true,
    autostart: false,
    shutdownTimeoutSec: 10,
    storageDir: "/var/lib/libvirt/images/pulumi-virt",
    ...over,
  };
}

const parse = (s: DomainSpec) => parser.parse(buildDomainXml(s)).domain;

test("domain XML carries max/current memory and vCPUs, ACPI, balloon, TCG type", () => {
  const d = parse(spec());
  assert.equal(d["@_type"], "qemu");
  assert.equal(d.name, "pvt-kvm-unit");
  assert.deepEqual(d.memory, { "@_unit": "KiB", "#text": String(1024 * 1024) });
  assert.deepEqual(d.currentMemory, { "@_unit": "KiB", "#text": String(256 * 1024) });
  assert.deepEqual(d.vcpu, { "@_placement": "static", "@_current": "1", "#text": "4" });
  assert.ok("acpi" in d.features && "apic" in d.features);
  assert.equal(d.devices.memballoon["@_model"], "virtio");
  assert.equal(d.on_poweroff, "destroy");
  assert.equal(d.os.kernel, "/img/vmlinuz");
  assert.equal(d.os.initrd, "/img/initrd.img");
  assert.equal(d.os.cmdline, "console=ttyS0");
  assert.equal(parse(spec({ emulated: false }))["@_type"], "kvm");
});

test("disks: qcow2 root on vda, data disks by bus, seed cdrom only with cloud-init", () => {
  const s = spec({
    dataDisks: [
      { name: "a", sizeMiB: 10, bus: "virtio" },
      { name: "b", sizeMiB: 10, bus: "scsi" },
      { name: "c", sizeMiB: 10, bus: "sata" },
      { name: "d", sizeMiB: 10, bus: "virtio" },
    ],
  });
  const p = domainPaths(s);
  const disks = parse(s).devices.disk;
  assert.deepEqual(
    disks.map((x: any) => [x.target["@_dev"], x.target["@_bus"], x.source["@_file"], x.driver["@_type"]]),
    [
      ["vda", "virtio", p.rootDisk, "qcow2"],
      ["vdb", "virtio", p.dataDisks.a, "qcow2"],
      ["sda", "scsi", p.dataDisks.b, "qcow2"],
      ["sdb", "sata", p.dataDisks.c, "qcow2"],
      ["vdc", "virtio", p.dataDisks.d, "qcow2"],
    ],
  );
  assert.equal(parse(s).devices.controller["@_model"], "virtio-scsi");
  assert.deepEqual(diskTargets(s.dataDisks), { a: "vdb", b: "sda", c: "sdb", d: "vdc" });
  assert.ok(!disks.some((x: any) => x["@_device"] === "cdrom"));

  const withSeed = spec({ cloudInit: { userData: "#cloud-config\n" } });
  const cd = parse(withSeed).devices.disk.find((x: any) => x["@_device"] === "cdrom");
  assert.equal(cd.source["@_file"], domainPaths(withSeed).seedIso);
  assert.ok("readonly" in cd);
});

test("serial console is logged to consoleLogPath", () => {
  const d = parse(spec());
  assert.equal(d.devices.serial.log["@_file"], consoleLogPath(spec()));
  assert.equal(consoleLogPath(spec()), "/var/lib/libvirt/images/pulumi-virt/pvt-kvm-unit/console.log");
});

test("network: stable derived MAC unless given", () => {
  const d = parse(spec({ network: { bridge: "pvbr0" } }));
  assert.equal(d.devices.interface[0].source["@_bridge"], "pvbr0");
  const mac = d.devices.interface[0].mac["@_address"];
  assert.match(mac, /^52:54:00(:[0-9a-f]{2}){3}$/);
  assert.equal(mac, stableMac("pvt-kvm-unit"));
  assert.notEqual(stableMac("pvt-kvm-unit"), stableMac("pvt-kvm-unit2"));
  const given = parse(spec({ network: { bridge: "pvbr0", mac: "52:54:00:AA:BB:CC" } }));
  assert.equal(given.devices.interface[0].mac["@_address"], "52:54:00:aa:bb:cc");
  assert.equal(parse(spec()).devices.interface, undefined);
});

test("firmware boot: bios boots from disk, uefi asks libvirt for EFI firmware", () => {
  const bios = parse(spec({ boot: { kind: "firmware", firmware: "bios" } }));
  assert.equal(bios.os.kernel, undefined);
  assert.equal(bios.os.boot["@_dev"], "hd");
  assert.equal(bios.os["@_firmware"], undefined);
  const uefi = parse(spec({ boot: { kind: "firmware", firmware: "uefi" } }));
  assert.equal(uefi.os["@_firmware"], "efi");
});

test("XML special characters in name, cmdline and paths are escaped and round-trip", () => {
  const name = `pvt-kvm-<a&b>"q'`;
  const cmdline = `console=ttyS0 x="<&>" y='1' z=&amp; w=&#60;`;
  const s = spec({ name, boot: { kind: "kernel", kernel: "/img/a&b/vmlinuz", cmdline }, storageDir: "/st/<dir>&" });
  const xml = buildDomainXml(s);
  assert.ok(!xml.includes("<a&b>"), "raw special characters must not appear");
  assert.ok(xml.includes("&lt;a&amp;b&gt;"));
  const d = parser.parse(xml).domain;
  assert.equal(d.name, name);
  assert.equal(d.os.cmdline, cmdline);
  assert.equal(d.os.kernel, "/img/a&b/vmlinuz");
  assert.equal(d.devices.disk[0].source["@_file"], `/st/<dir>&/${name}/root.qcow2`);
  // Exactly one <domain> root and one <name>: nothing injected.
  assert.equal(xml.match(/<name>/g)?.length, 1);
});

test("redefinition keeps the domain's UUID", () => {
  assert.equal(parse(spec()).uuid, undefined);
  const s = spec();
  const d = parser.parse(buildDomainXml(s, domainPaths(s), { uuid: "0b5f1c6e-3c1d-4a53-9a0e-2f6f1f0c1a11" })).domain;
  assert.equal(d.uuid, "0b5f1c6e-3c1d-4a53-9a0e-2f6f1f0c1a11");
});

test("property: any printable name/cmdline/path text survives the XML unchanged", () => {
  // XML 1.0 cannot carry most control characters; surrounding blanks are insignificant to libvirt.
  const printable = fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" }).filter((x) => !/[\x00-\x1f\x7f]/.test(x) && x.trim() === x);
  fc.assert(
    fc.property(printable, printable, printable, (n, cmdline, dir) => {
      const name = `pvt${n.replace(/\//g, "_")}`.slice(0, 60);
      const s = spec({ name, boot: { kind: "kernel", kernel: `/k/${dir}`, cmdline }, network: { bridge: dir } });
      const d = parse(s);
      assert.equal(d.name, name);
      assert.equal(d.os.cmdline, cmdline);
      assert.equal(d.os.kernel, `/k/${dir}`);
      assert.equal(d.devices.interface[0].source["@_bridge"], dir);
    }),
    { numRuns: 300 },
  );
});

test("metadata records the driver's files so destroy can find them", () => {
  const s = spec({ dataDisks: [{ name: "data", sizeMiB: 8, bus: "virtio" }] });
  const m = parse(s).metadata["pv:guest"];
  assert.equal(m["pv:rootDisk"], domainPaths(s).rootDisk);
  assert.equal(m["pv:baseImage"], "/img/base-a.qcow2");
  assert.equal(m["pv:dataDisk"][0]["@_name"], "data");
  assert.equal(m["pv:dataDisk"][0]["#text"], domainPaths(s).dataDisks.data);
});

test("validation rejects impossible or unsafe specs with a hint", () => {
  const bad: [Partial<DomainSpec>, RegExp][] = [
    [{ vcpus: 5 }, /raise maxVcpus/],
    [{ memoryMiB: 2048 }, /raise maxMemoryMiB/],
    [{ name: "a/b" }, /not usable/],
    [{ name: "-x" }, /not usable/],
    [{ name: "" }, /not usable/],
    [{ dataDisks: [{ name: "../x", sizeMiB: 1, bus: "virtio" }] }, /data disk name/],
    [{ dataDisks: [{ name: "x", sizeMiB: 1, bus: "virtio" }, { name: "x", sizeMiB: 2, bus: "sata" }] }, /used twice/],
    [{ network: { bridge: "br", mac: "zz" } }, /not a MAC/],
    [{ rootDisk: { baseImage: "rel.qcow2", mode: "overlay" } }, /absolute/],
  ];
  for (const [over, re] of bad) assert.throws(() => buildDomainXml(spec(over)), (e: unknown) => e instanceof InvalidDomainSpecError && re.test(e.message));
});

test("capability table: live within limits, restart beyond, replace for destructive changes", () => {
  assert.deepEqual(kvmCapabilities.memoryMiB.grow, { action: "live", mechanism: "virtio balloon" });
  assert.equal(kvmCapabilities.memoryMiB.liveUpTo, "maxMemoryMiB");
  assert.equal(kvmCapabilities.memoryMiB.beyondLimit?.action, "restart");
  assert.equal(kvmCapabilities.vcpus.grow?.action, "live");
  assert.equal(kvmCapabilities.vcpus.shrink?.action, "restart");
  assert.equal(kvmCapabilities.vcpus.liveUpTo, "maxVcpus");
  assert.deepEqual(kvmCapabilities.rootDiskSizeMiB.grow, { action: "live", mechanism: "blockresize" });
  assert.equal(kvmCapabilities.rootDiskSizeMiB.shrink?.action, "replace");
  assert.equal((kvmCapabilities.rootDiskSizeMiB.shrink as { destroysData?: boolean }).destroysData, true);
  assert.equal(kvmCapabilities.baseImage.change?.action, "replace");
  for (const k of ["maxMemoryMiB", "maxVcpus", "boot", "network", "name", "emulated"] as const) assert.equal(kvmCapabilities[k].change?.action, "restart", k);
  assert.equal(kvmCapabilities.autostart.change?.action, "live");
});

test("parseReadOutput reads virsh output sections", () => {
  const xml = buildDomainXml(spec({ dataDisks: [{ name: "d", sizeMiB: 8, bus: "virtio" }], network: { bridge: "pvbr0" } }));
  const out = [
    "@@dominfo",
    "Id:             3",
    "Name:           pvt-kvm-unit",
    "UUID:           0f0e-uuid",
    "State:          running",
    "Max memory:     1048576 KiB",
    "Used memory:    524288 KiB",
    "Autostart:      enable",
    "@@xml",
    xml,
    "@@inactive",
    "  <currentMemory unit='KiB'>262144</currentMemory>",
    "@@vcpucount",
    "maximum      config         4",
    "maximum      live           4",
    "current      config         2",
    "current      live           3",
    "@@blk",
    " Target   Capacity    Allocation   Physical",
    "-----------------------------------------------",
    " vda      134217728   200704       200704",
    " vdb      8388608     200704       200704",
    "@@pid",
    "4242",
    "@@end",
  ].join("\n");
  const o = parseReadOutput("pvt-kvm-unit", out);
  assert.equal(o.exists, true);
  assert.equal(o.state, "running");
  assert.equal(o.qemuPid, 4242);
  assert.equal(o.vcpus, 3);
  assert.equal(o.maxVcpus, 4);
  assert.equal(o.memoryMiB, 512);
  assert.equal(o.configuredMemoryMiB, 256);
  assert.equal(o.configuredVcpus, 2);
  assert.equal(o.maxMemoryMiB, 1024);
  assert.equal(o.autostart, true);
  assert.equal(o.emulated, true);
  assert.deepEqual(o.disks?.map((d) => [d.target, d.sizeMiB]), [["vda", 128], ["vdb", 8]]);
  assert.equal(o.bridge, "pvbr0");
  assert.equal(o.mac, stableMac("pvt-kvm-unit"));
  assert.equal(o.cmdline, "console=ttyS0");
  assert.deepEqual(parseReadOutput("x", "@@absent\n"), { exists: false, name: "x" });
});

test("start failures seen on real libvirt map to a next step", () => {
  // Messages as libvirt 9 printed them in the lab.
  assert.match(startFailureHint("error: operation failed: Unable to find any firmware to satisfy 'efi'") ?? "", /apt-get install ovmf/);
  assert.match(startFailureHint("error: Cannot get interface MTU on 'nosuchbr9': No such device") ?? "", /bridge does not exist/);
  assert.equal(startFailureHint("error: something new"), undefined);
});
