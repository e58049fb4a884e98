// Input models: what is accepted, what is refused, and that every refusal names the property path
// and says what would be accepted.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { z } from "zod";
import { parseSizeMiB, zodFailures } from "../../provider/models/common";
import { containerArgsSchema } from "../../provider/models/container";
import { guestArgsSchema } from "../../provider/models/guest";
import { hypervisorArgsSchema } from "../../provider/models/hypervisor";

type Failure = { property: string; reason: string };

function failuresOf(schema: z.ZodType, input: unknown): Failure[] {
  const r = schema.safeParse(input);
  return r.success ? [] : zodFailures(r.error);
}

/** Asserts the input is refused with a failure on exactly `path` whose reason matches `reason`. */
function refused(schema: z.ZodType, input: unknown, path: string, reason?: RegExp): Failure {
  const fs = failuresOf(schema, input);
  const f = fs.find((x) => x.property === path);
  assert.ok(f, `expected a failure on ${path}, got ${JSON.stringify(fs)}`);
  assert.ok(f.reason.trim().length > 0);
  if (reason) assert.match(f.reason, reason);
  return f;
}

const CT = { name: "web", memory: 256 };
const VM = { name: "vm1", virtualization: "full", vcpus: 2, memory: "1GiB", boot: { firmware: "bios" }, rootDisk: { baseImage: "/var/lib/libvirt/images/bases/debian-12.qcow2" } };

// Allowed forms named in the message: at least a plain MiB number and unit strings.
const FORMS = /512MiB.*1\.5GiB|MiB\/GiB/;

test("sizes: numbers are MiB; binary and decimal unit strings are converted to MiB", () => {
  assert.equal(parseSizeMiB(512), 512);
  assert.equal(parseSizeMiB("512MiB"), 512);
  assert.equal(parseSizeMiB("512"), 512);
  assert.equal(parseSizeMiB("1.5GiB"), 1536);
  assert.equal(parseSizeMiB("2G"), 2048);
  assert.equal(parseSizeMiB("2GiB"), 2048);
  assert.equal(parseSizeMiB("1TiB"), 1024 * 1024);
  assert.equal(parseSizeMiB("1GB"), Math.ceil(1e9 / 1048576));
  assert.equal(parseSizeMiB("256 mib"), 256);

  const ok = containerArgsSchema.parse({ ...CT, memory: "1.5GiB", disk: { size: "2G" } });
  assert.equal(ok.memory, 1536);
  assert.equal(ok.disk?.size, 2048);
});

test("sizes: typos, negatives, huge and unknown units are refused on the property, naming the allowed forms", () => {
  for (const bad of ["12 potatoes", "5 XB", "1e12", "", "GiB", "1,5GiB", "-1", "0x10"]) {
    assert.equal(typeof parseSizeMiB(bad), "string", `parseSizeMiB(${JSON.stringify(bad)}) must refuse`);
    refused(containerArgsSchema, { ...CT, memory: bad }, "memory", FORMS);
  }
  for (const bad of [-1, 1e12, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -1e12]) {
    refused(containerArgsSchema, { ...CT, memory: bad }, "memory", FORMS);
    refused(guestArgsSchema, { ...VM, memory: bad }, "memory", FORMS);
  }
  assert.equal(typeof parseSizeMiB(-1), "string", "a negative size is not a size");
  refused(containerArgsSchema, { ...CT, disk: { size: "5 XB" } }, "disk.size", FORMS);
  refused(guestArgsSchema, { ...VM, dataDisks: [{ name: "d1", size: "12 potatoes" }] }, "dataDisks.0.size", FORMS);
  refused(containerArgsSchema, { ...CT, memory: true }, "memory");
  refused(containerArgsSchema, { ...CT, memory: null }, "memory");
});

test("sizes: out of range is refused with the range", () => {
  refused(containerArgsSchema, { ...CT, memory: 8 }, "memory", /16 MiB/);
  refused(containerArgsSchema, { ...CT, memory: "1000TiB" }, "memory", /between/);
});

test("names: letters, digits and '-', not starting with '-', 1-63 characters", () => {
  for (const good of ["web", "web-1", "A1", "x".repeat(63)]) {
    assert.deepEqual(failuresOf(containerArgsSchema, { ...CT, name: good }), [], good);
  }
  for (const bad of ["", "-web", "--help", "web;rm -rf /", "$(id)", "`id`", "a b", "web.example", "../web", "web\n", "x".repeat(64), "we'b", 'we"b', 7]) {
    refused(containerArgsSchema, { ...CT, name: bad }, "name", /letters, digits/);
    refused(guestArgsSchema, { ...VM, name: bad }, "name", /letters, digits/);
  }
  refused(guestArgsSchema, { ...VM, dataDisks: [{ name: "Data;1", size: 64 }] }, "dataDisks.0.name");
});

test("paths: absolute, no traversal, no shell characters", () => {
  assert.deepEqual(failuresOf(containerArgsSchema, { ...CT, template: "/srv/rootfs/alpine-3.19.tar.gz" }), []);
  for (const bad of ["../rootfs.tar", "/srv/../etc/rootfs.tar", "rootfs.tar", "/srv/root fs.tar", "/srv/$(id).tar", "/srv/rootfs.zip", ""]) {
    refused(containerArgsSchema, { ...CT, template: bad }, "template");
  }
  const kernel = (k: string) => ({ ...VM, boot: { kernel: k } });
  assert.deepEqual(failuresOf(guestArgsSchema, kernel("/var/lib/libvirt/boot/vmlinuz")), []);
  for (const bad of ["/boot/../etc/shadow", "vmlinuz", "/boot/vmlinuz;reboot", ""]) {
    const fs = failuresOf(guestArgsSchema, kernel(bad));
    assert.ok(fs.some((f) => f.property === "boot" || f.property.startsWith("boot.")), `${bad}: ${JSON.stringify(fs)}`);
  }
  refused(guestArgsSchema, { ...VM, rootDisk: { baseImage: "/var/lib/images/../../../etc/passwd" } }, "rootDisk.baseImage", /\.\./);
  refused(guestArgsSchema, { ...VM, rootDisk: { baseImage: "images/debian.qcow2" } }, "rootDisk.baseImage", /absolute/);
  refused(hypervisorArgsSchema, { kind: "kvm", storageDir: "/var/lib/../../tmp" }, "storageDir", /\.\./);
});

test("MAC addresses", () => {
  const withMac = (mac: unknown) => ({ ...VM, network: { mac } });
  const ok = guestArgsSchema.parse(withMac("52:54:00:AB:cd:0F"));
  assert.equal(ok.network?.mac, "52:54:00:ab:cd:0f");
  for (const bad of ["52:54:00:12:34", "52:54:00:12:34:56:78", "zz:54:00:12:34:56", "52-54-00-12-34-56", "", 5254]) {
    refused(guestArgsSchema, withMac(bad), "network.mac");
  }
  refused(containerArgsSchema, { ...CT, network: { hwaddr: "00:16:3e:xx:00:01" } }, "network.hwaddr", /MAC/);
});

test("IPv4 CIDRs and addresses", () => {
  assert.deepEqual(failuresOf(containerArgsSchema, { ...CT, network: { address: "10.0.0.5/24", gateway: "10.0.0.1" } }), []);
  for (const bad of ["10.0.0.5", "10.0.0.256/24", "10.0.0.5/33", "10.0.0/24", "10.0.0.5/24/1", "a.b.c.d/8", "10.0.0.5/"]) {
    refused(containerArgsSchema, { ...CT, network: { address: bad } }, "network.address", /prefix/);
  }
  refused(containerArgsSchema, { ...CT, network: { gateway: "10.0.0.1/24" } }, "network.gateway", /IPv4/);
});

test("memory above maxMemory, vcpus above maxVcpus, vcpus 0", () => {
  refused(guestArgsSchema, { ...VM, memory: "4GiB", maxMemory: "2GiB" }, "memory", /maxMemory/);
  refused(guestArgsSchema, { ...VM, vcpus: 4, maxVcpus: 2 }, "vcpus", /maxVcpus/);
  refused(guestArgsSchema, { ...VM, vcpus: 0 }, "vcpus", /at least 1/);
  refused(guestArgsSchema, { ...VM, vcpus: 1.5 }, "vcpus", /whole number/);
  refused(guestArgsSchema, { ...VM, vcpus: "2" }, "vcpus");
  refused(containerArgsSchema, { ...CT, cpus: 0 }, "cpus");
  assert.deepEqual(failuresOf(guestArgsSchema, { ...VM, memory: "2GiB", maxMemory: "2GiB", vcpus: 4, maxVcpus: 4 }), []);
});

test("unknown disk bus, unknown extra properties, wrong boot for the form", () => {
  refused(guestArgsSchema, { ...VM, dataDisks: [{ name: "d1", size: 64, bus: "ide" }] }, "dataDisks.0.bus", /virtio/);
  assert.deepEqual(failuresOf(guestArgsSchema, { ...VM, dataDisks: [{ name: "d1", size: 64, bus: "scsi" }] }), []);
  refused(guestArgsSchema, { ...VM, dataDisks: [{ name: "d1", size: 64 }, { name: "d1", size: 64 }] }, "dataDisks.1.name", /duplicate/);
  // An unknown key is reported; a typo of a real property must not pass silently.
  refused(containerArgsSchema, { ...CT, memroy: 512 }, "memroy", /memroy/);
  refused(guestArgsSchema, { ...VM, rootDisk: { baseImage: "/srv/b.qcow2", sise: "1G" } }, "rootDisk.sise");
  refused(guestArgsSchema, { ...VM, virtualization: "para", boot: { firmware: "bios" } }, "boot", /firmware/);
  refused(guestArgsSchema, { ...VM, virtualization: "hvm" }, "virtualization", /full|para/);
  refused(hypervisorArgsSchema, { kind: "vmware" }, "kind", /lxc/);
});
