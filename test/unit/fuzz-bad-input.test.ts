// Issue 12: bad input never reaches a host. Generated invalid inputs for every resource's input model go
// through the resource's check (what the engine calls first); each must come back as a failure naming the
// offending input, with a reason, and not one SSH command or connection may have been made.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as container from "../../provider/resources/impl/container";
import * as guest from "../../provider/resources/impl/guest";
import * as hypervisor from "../../provider/resources/impl/hypervisor";
import * as host from "../../provider/resources/impl/host";
import { SshPool } from "../../provider/ssh/pool";
import { containerArgsSchema } from "../../provider/models/container";
import { guestArgsSchema } from "../../provider/models/guest";
import { hypervisorArgsSchema } from "../../provider/models/hypervisor";
import { hostRef, hypervisorRef, RAW_CONNECTION } from "./plan-fixtures";

type Props = Record<string, any>;
type Check = (olds: Props, news: Props) => Promise<{ inputs: Props; failures: { property: string; reason: string }[] }>;
/** One invalid input: `key` is the top-level input that is wrong; `value` replaces it (or adds it). */
type Bad = { key: string; value: unknown };

const RUNS_PER_RESOURCE = 250;
let generated = 0;

// ---- value generators: each yields only values the model must refuse ----------------------------------

const SHELL = [";", "$(", ")", "`", "'", '"', "\n", "|", "&", " ", "$"];
const safeChunk = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const injected = fc
  .tuple(safeChunk, fc.constantFrom(...SHELL), fc.constantFrom("", "reboot", "rm -rf /", "id", "x"))
  .map(([a, c, b]) => `${a}${c}${b}`);
const leadingDash = safeChunk.map((s) => `-${s}`);
const badName = fc.oneof(injected, leadingDash, fc.constant(""), fc.constant("a".repeat(64)), safeChunk.map((s) => `${s}.example`));

const notString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}));
const notNumber = fc.oneof(fc.string({ maxLength: 4 }), fc.boolean(), fc.constant(null), fc.constant([1]), fc.constant({}));
const notBoolean = fc.oneof(fc.constantFrom("true", "yes", "1", ""), fc.integer(), fc.constant(null), fc.constant({}));
const notObject = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constant([]));

const UNIT_TYPOS = ["MiBs", "Gigs", "XB", "potatoes", "KiB", "kb", "B", "mibi", "GiGi", "Mo", "GiB2"];
const sizeTypo = fc
  .tuple(fc.integer({ min: 1, max: 4096 }), fc.constantFrom("", " "), fc.constantFrom(...UNIT_TYPOS))
  .map(([n, sp, u]) => `${n}${sp}${u}`);
/** Sizes refused whatever the bounds: negative, fractional MiB, non-finite, unit typos, garbage, wrong types. */
const badSize = fc.oneof(
  fc.integer({ min: -1e9, max: -1 }),
  fc.double({ min: 0.01, max: 1e6, noNaN: true }).filter((d) => !Number.isInteger(d)),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e12, 1e18),
  fc.integer({ min: 1e9, max: 2e9 }).map((n) => `${n}TiB`),
  sizeTypo,
  fc.constantFrom("", "  ", "12 potatoes", "5 XB", "1,5GiB", "GiB", "-512MiB", "1e12", "0x200"),
  fc.oneof(fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({})),
);
/** A whole-number count refused by every count field (all have a minimum ≥ 0 and a maximum ≤ 102400). */
const badCount = fc.oneof(
  fc.integer({ min: -1e6, max: -1 }),
  fc.integer({ min: 1e6, max: 1e9 }),
  fc.double({ min: 0.1, max: 100, noNaN: true }).filter((d) => !Number.isInteger(d)),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY),
  notNumber,
);
const traversal = fc
  .tuple(fc.constantFrom("", "/srv", "/var/lib/xen/boot", "/boot"), fc.integer({ min: 1, max: 4 }), fc.constantFrom("etc/passwd", "etc/shadow", "rootfs.tar.gz", "vmlinuz"))
  .map(([dir, n, leaf]) => `${dir}/${"../".repeat(n)}${leaf}`);
const relative = fc.constantFrom("../rootfs.tar", "rootfs.tar.gz", "./vmlinuz", "images/debian.qcow2", "~/x.img");
const badPath = fc.oneof(
  traversal,
  relative,
  injected.map((s) => `/srv/${s}.tar`),
  fc.constant(""),
  notString,
);
const badBridge = fc.oneof(injected, leadingDash, fc.constant(""), fc.constant("averyveryverylongbridge"), notString);
const badMac = fc.oneof(fc.constantFrom("52:54:00:12:34", "52:54:00:12:34:56:78", "zz:54:00:12:34:56", "52-54-00-12-34-56", ""), injected, notString);
const badCidr = fc.oneof(fc.constantFrom("10.0.0.5", "10.0.0.256/24", "10.0.0.5/33", "10.0.0/24", "10.0.0.5/", "::1/128"), injected, notString);
const unknownKey = (known: string[]) =>
  fc
    .oneof(fc.constantFrom("memroy", "vcpu", "Name", "allow_restart", "cpu", "disks", "hostname", "image"), fc.stringMatching(/^[a-z][a-zA-Z0-9_]{0,12}$/))
    .filter((k) => !known.includes(k) && k !== "__provider");

const field = (key: string, value: fc.Arbitrary<unknown>): fc.Arbitrary<Bad> => value.map((v) => ({ key, value: v }));
const extra = (known: string[]): fc.Arbitrary<Bad> =>
  fc.tuple(unknownKey(known), fc.oneof(fc.integer(), fc.string({ maxLength: 6 }), fc.boolean())).map(([key, value]) => ({ key, value }));

// ---- per-resource valid bases and their invalid variants ----------------------------------------------

const CT_BASE: Props = {
  name: "web",
  template: "busybox",
  memory: "256MiB",
  cpus: 2,
  disk: { size: "2GiB", fstype: "xfs" },
  network: { bridge: "lxcbr0", address: "10.77.101.20/24", gateway: "10.77.101.1" },
};
const CT_KNOWN = [...Object.keys(containerArgsSchema.shape), "hypervisor", "plannedChanges", "plannedAction", "observed", "lastApplied", "connection", "containerId"];
const badContainer: fc.Arbitrary<Bad> = fc.oneof(
  field("name", fc.oneof(badName, notString)),
  field("template", fc.oneof(badPath, fc.constantFrom("debian:sid", "alpine", "Busybox", ""), traversal.map((p) => `${p}.tar.gz`))),
  field("osFamily", fc.oneof(fc.constantFrom("Linux", "gnu", "", "linux;"), notString)),
  field("cpus", badCount),
  field("cpuQuotaPercent", badCount),
  field("cpuShares", fc.oneof(badCount, fc.constantFrom(0, 1))),
  field("memory", fc.oneof(badSize, fc.constantFrom(0, 15, "8MiB", "100TiB"))),
  field("swap", badSize),
  field("disk", fc.oneof(
    notObject,
    badSize.map((size) => ({ size, fstype: "xfs" })),
    fc.constantFrom("zfs", "ext3", "XFS", "").map((fstype) => ({ size: "2GiB", fstype })),
    fc.constant({ size: "2GiB", sise: "4GiB" }),
  )),
  field("network", fc.oneof(
    notObject,
    badBridge.map((bridge) => ({ bridge })),
    badCidr.map((address) => ({ address })),
    badMac.map((hwaddr) => ({ hwaddr })),
    fc.constant({ bridge: "lxcbr0", ip: "10.0.0.2/24" }),
  )),
  field("environment", fc.oneof(
    fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean()),
    injected.map((v) => ({ MODE: v })).filter((e) => /["'\\`$;|&<>\n]/.test(e.MODE)),
    fc.constantFrom("1BAD", "has space", "a-b", "").map((k) => ({ [k]: "x" })),
  )),
  field("running", notBoolean),
  field("autostart", notBoolean),
  field("stopTimeoutSec", badCount),
  field("allowRestart", notBoolean),
  field("allowDataLoss", notBoolean),
  field("adopt", notBoolean),
  extra(CT_KNOWN),
);

const VM_BASE: Props = {
  name: "vm1",
  virtualization: "full",
  vcpus: 2,
  maxVcpus: 4,
  memory: "1GiB",
  maxMemory: "2GiB",
  boot: { firmware: "bios" },
  rootDisk: { baseImage: "/var/lib/libvirt/images/bases/debian-12.qcow2", size: "8GiB" },
  dataDisks: [{ name: "data1", size: "1GiB" }],
  network: { bridge: "virbr0", mac: "52:54:00:12:34:56" },
};
const VM_KNOWN = [...Object.keys(guestArgsSchema.shape), "hypervisor", "plannedChanges", "plannedAction", "observed", "lastApplied", "connection", "emulated"];
const badGuest: fc.Arbitrary<Bad> = fc.oneof(
  field("name", fc.oneof(badName, notString)),
  field("virtualization", fc.oneof(fc.constantFrom("hvm", "Full", "pv", "", "container"), notString)),
  field("vcpus", fc.oneof(badCount, fc.constant(0), fc.integer({ min: 513, max: 100000 }))),
  // maxVcpus/maxMemory below vcpus/memory is reported on vcpus/memory (the value to change); here only refusals of the field itself.
  field("maxVcpus", fc.oneof(badCount, fc.constant(0), fc.integer({ min: 513, max: 100000 }))),
  field("memory", fc.oneof(badSize, fc.constantFrom(0, 31, "16MiB"))),
  field("maxMemory", fc.oneof(badSize, fc.constantFrom(0, 31, "16MiB"))),
  field("boot", fc.oneof(
    notObject,
    fc.constant({}),
    badPath.map((kernel) => ({ kernel })),
    badPath.map((initrd) => ({ kernel: "/var/lib/libvirt/boot/vmlinuz", initrd })),
    injected.filter((s) => /["'`$;|&\n]/.test(s)).map((cmdline) => ({ kernel: "/var/lib/libvirt/boot/vmlinuz", cmdline })),
    fc.constantFrom("efi", "BIOS", "", "coreboot").map((firmware) => ({ firmware })),
    fc.constant({ bootloader: "pygrub" }),
    fc.constant({ firmware: "bios", kernel: "/boot/vmlinuz" }),
  )),
  field("rootDisk", fc.oneof(
    notObject,
    badPath.map((baseImage) => ({ baseImage })),
    badSize.map((size) => ({ baseImage: "/var/lib/images/b.qcow2", size })),
    fc.constantFrom("thin", "link", "").map((mode) => ({ baseImage: "/var/lib/images/b.qcow2", mode })),
  )),
  field("dataDisks", fc.oneof(
    fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant({})),
    fc.oneof(badName, fc.constantFrom("Data", "1disk", "")).map((name) => [{ name, size: "1GiB" }]),
    badSize.map((size) => [{ name: "d1", size }]),
    fc.constantFrom("ide", "nvme", "VIRTIO", "", "usb").map((bus) => [{ name: "d1", size: 64, bus }]),
    fc.constant([{ name: "d1", size: 64 }, { name: "d1", size: 64 }]),
    fc.constant(Array.from({ length: 17 }, (_, i) => ({ name: `d${i}`, size: 64 }))),
  )),
  field("network", fc.oneof(notObject, badBridge.map((bridge) => ({ bridge })), badMac.map((mac) => ({ mac })))),
  field("cloudInit", fc.oneof(notObject, fc.constant({}), notString.map((userData) => ({ userData })), fc.constant({ userData: "x".repeat(65537) }))),
  field("running", notBoolean),
  field("autostart", notBoolean),
  field("shutdownTimeoutSec", badCount),
  field("allowRestart", notBoolean),
  field("allowDataLoss", notBoolean),
  field("adopt", notBoolean),
  extra(VM_KNOWN),
);

const HV_KNOWN = [...Object.keys(hypervisorArgsSchema.shape), "host", "emulated"];
const badHypervisor: fc.Arbitrary<Bad> = fc.oneof(
  field("kind", fc.oneof(fc.constantFrom("KVM", "vmware", "xen-hvm", "", "lxd", "docker"), notString)),
  field("allowEmulation", notBoolean),
  field("install", notBoolean),
  field("bridge", badBridge),
  field("storageDir", badPath),
  extra(HV_KNOWN),
);

/** Connection settings that must be refused (each under the top-level key `connection`). */
const badConnection: fc.Arbitrary<unknown> = fc.oneof(
  notObject,
  fc.constant({ ...RAW_CONNECTION, host: undefined }),
  fc.constant({ ...RAW_CONNECTION, host: "" }),
  // Not a hostname or an IP address: refused before any lookup or dial.
  fc.oneof(injected, leadingDash, fc.constantFrom("lab1\n", "host name", " lab1", "-oProxyCommand=nc evil 22")).map((host) => ({ ...RAW_CONNECTION, host })),
  fc.oneof(injected, leadingDash).map((user) => ({ ...RAW_CONNECTION, user })),
  fc.oneof(fc.constantFrom(0, -1, 65536, 22.5, 1e9), notNumber).map((port) => ({ ...RAW_CONNECTION, port })),
  fc.constant({ ...RAW_CONNECTION, user: "" }),
  fc.constant({ ...RAW_CONNECTION, privateKey: undefined }),
  fc.constant({ ...RAW_CONNECTION, privateKey: "" }),
  fc.constant({ ...RAW_CONNECTION, hostKey: undefined }),
  fc.constantFrom("not-a-key", "SHA256:short", "ssh-ed25519", "ssh-dss AAAA", "").map((hostKey) => ({ ...RAW_CONNECTION, hostKey })),
  notBoolean.map((insecureSkipHostKeyCheck) => ({ ...RAW_CONNECTION, insecureSkipHostKeyCheck })),
  fc.constantFrom(0, 65, -3, 1.5).map((maxChannels) => ({ ...RAW_CONNECTION, maxChannels })),
  fc.constantFrom(0, -100, 2.5).map((dialTimeoutMs) => ({ ...RAW_CONNECTION, dialTimeoutMs })),
  fc.constantFrom("shell", "", "EXEC").map((execMode) => ({ ...RAW_CONNECTION, execMode })),
  fc.constant({ ...RAW_CONNECTION, privateKeyPassword: "secret", privateKey: undefined, password: "pw" }),
  fc.oneof(fc.constant({ host: "" }), fc.constant("jump.example"), fc.constant({ ...RAW_CONNECTION, port: 0 })).map((proxy) => ({ ...RAW_CONNECTION, proxy })),
  unknownKey(["host", "port", "user", "privateKey", "privateKeyPassword", "password", "agentSocket", "agentSocketPath", "hostKey", "insecureSkipHostKeyCheck", "sudo", "dialTimeoutMs", "perDialTimeout", "dialErrorLimit", "commandTimeoutMs", "maxChannels", "execMode", "proxy"])
    .map((k) => ({ ...RAW_CONNECTION, [k]: "x" })),
);
const badHost: fc.Arbitrary<Bad> = fc.oneof(field("connection", badConnection), extra(["connection", "facts"]));

// ---- the property ------------------------------------------------------------------------------------

function sshCounters() {
  const s = SshPool.shared().stats();
  return { ...s.global, hosts: Object.keys(s.hosts).length };
}
const ZERO = { connectionsOpened: 0, reconnects: 0, commands: 0, channelsOpened: 0, sessionsOpened: 0, hosts: 0 };

function withBad(base: Props, bad: Bad): Props {
  const news: Props = { ...base };
  if (bad.value === undefined) delete news[bad.key];
  else news[bad.key] = bad.value;
  return news;
}

async function refusesWithoutSsh(label: string, check: Check, base: Props, bads: fc.Arbitrary<Bad>) {
  // The valid base is accepted: a failure below is caused by the bad value, not the fixture.
  const ok = await check({}, base);
  assert.deepEqual(ok.failures, [], `${label} base must be valid`);
  await fc.assert(
    fc.asyncProperty(bads, fc.constantFrom<Props | undefined>(undefined, {}), async (bad, olds) => {
      generated++;
      const news = withBad(base, bad);
      const res = await check(olds as Props, news);
      const mine = res.failures.filter((f) => f.property.split(".")[0] === bad.key && f.reason.trim().length > 0);
      assert.ok(mine.length > 0, `${label}: ${JSON.stringify(bad)} -> failures ${JSON.stringify(res.failures)}`);
      assert.deepEqual(sshCounters(), ZERO, `${label}: an SSH command or connection was made for ${JSON.stringify(bad)}`);
    }),
    { numRuns: RUNS_PER_RESOURCE, includeErrorInReport: true },
  );
}

// If a bad input ever got through to the transport, do not leave its connection holding the process open.
after(() => SshPool.shared().closeAll());

test("no SSH activity before the fuzz runs", () => {
  assert.deepEqual(sshCounters(), ZERO);
});

test("Container: invalid inputs are refused by check, naming the input", async () => {
  await refusesWithoutSsh("Container", container.check, { ...CT_BASE, hypervisor: hypervisorRef("lxc") }, badContainer);
});

test("Guest: invalid inputs are refused by check, naming the input", async () => {
  await refusesWithoutSsh("Guest", guest.check, { ...VM_BASE, hypervisor: hypervisorRef("kvm") }, badGuest);
});

test("Hypervisor: invalid inputs are refused by check, naming the input", async () => {
  await refusesWithoutSsh("Hypervisor", hypervisor.check, { kind: "kvm", host: hostRef() }, badHypervisor);
});

test("Host: bad connection settings are refused by check, naming connection", async () => {
  // The valid base would read facts over SSH, so only the bad variants are checked.
  await fc.assert(
    fc.asyncProperty(badHost, fc.constantFrom<Props | undefined>(undefined, {}), async (bad, olds) => {
      generated++;
      const res = await host.check(olds as Props, withBad({ connection: RAW_CONNECTION }, bad));
      const mine = res.failures.filter((f) => f.property.split(".")[0] === bad.key && f.reason.trim().length > 0);
      assert.ok(mine.length > 0, `Host: ${JSON.stringify(bad)} -> failures ${JSON.stringify(res.failures)}`);
      // "cannot read facts" would mean the bad connection passed validation and a host was tried.
      assert.ok(!res.failures.some((f) => /cannot read facts/.test(f.reason)), `Host: ${JSON.stringify(bad)} reached the transport`);
      assert.deepEqual(sshCounters(), ZERO, `Host: an SSH command or connection was made for ${JSON.stringify(bad)}`);
    }),
    { numRuns: RUNS_PER_RESOURCE, includeErrorInReport: true },
  );
});

test("at least 500 invalid inputs were generated, and no SSH command or connection was made", () => {
  assert.ok(generated >= 500, `only ${generated} cases`);
  assert.deepEqual(sshCounters(), ZERO);
});
