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

// ---- issue 19: names virsh/xl read as an ID or UUID, unbounded timeouts, deep or cyclic proxies, bad refs ----

/** Guest names virsh would read as a domain ID or UUID (and Xen's dom0). */
const idLikeName = fc.oneof(
  fc.integer({ min: 0, max: 1e9 }).map(String),
  fc.stringMatching(/^[0-9]{1,20}$/),
  fc.uuid(),
  fc.uuid().map((u) => u.replace(/-/g, "")),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.constantFrom("Domain-0", "domain-0"),
);
/** Connection timeouts beyond their bounds (Node would turn a delay >= 2^31 ms into 1 ms). */
const badTimeout = fc.oneof(
  fc.integer({ min: 600_001, max: 2 ** 40 }).map((dialTimeoutMs) => ({ ...RAW_CONNECTION, dialTimeoutMs })),
  fc.constantFrom(2 ** 31, 2 ** 31 - 1, 2 ** 32 + 1).map((dialTimeoutMs) => ({ ...RAW_CONNECTION, dialTimeoutMs })),
  fc.integer({ min: 86_400_001, max: 2 ** 40 }).map((commandTimeoutMs) => ({ ...RAW_CONNECTION, commandTimeoutMs })),
  fc.integer({ min: 601, max: 2 ** 32 }).map((perDialTimeout) => ({ ...RAW_CONNECTION, perDialTimeout })),
);
/** A proxy chain deeper than the limit (9 to 1000 hops), or one that loops back on itself. */
const deepProxy = fc.integer({ min: 9, max: 1000 }).map((depth) => {
  let c: Props = { ...RAW_CONNECTION };
  for (let i = 0; i < depth; i++) c = { ...RAW_CONNECTION, proxy: c };
  return { ...RAW_CONNECTION, proxy: c };
});
const cyclicProxy = fc.integer({ min: 1, max: 6 }).map((length) => {
  const first: Props = { ...RAW_CONNECTION };
  let last = first;
  for (let i = 1; i < length; i++) { const next: Props = { ...RAW_CONNECTION }; last.proxy = next; last = next; }
  last.proxy = first;
  return { ...RAW_CONNECTION, proxy: first };
});
/** A hand-built HypervisorRef with something that would reach a host unchecked. */
const badRef = (kind: "lxc" | "kvm" | "xen") => fc.oneof(
  fc.oneof(traversal, relative, injected.map((x) => `/srv/${x}`)).map((storageDir) => ({ ...hypervisorRef(kind), storageDir })),
  fc.oneof(injected, leadingDash, fc.constant("averyveryverylongbridge")).map((bridge) => ({ ...hypervisorRef(kind), bridge })),
  fc.constantFrom("vmware", "KVM", "", "lxd").map((k) => ({ ...hypervisorRef(kind), kind: k })),
  fc.oneof(badTimeout, deepProxy).map((connection) => { const r = hypervisorRef(kind); return { ...r, host: { ...r.host, connection } }; }),
);

/** JSON for messages, safe for cyclic values. */
function show(v: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(v, (_k, x) => (x && typeof x === "object" ? (seen.has(x) ? "[cycle]" : (seen.add(x), x)) : x))?.slice(0, 600) ?? String(v);
}

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
const CT_KNOWN = [...Object.keys(containerArgsSchema.shape), "hypervisor", "plannedChanges", "plannedAction", "observed", "lastApplied", "connection", "containerId", "ownerToken", "ownerKey"];
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
  field("gracefulDestroy", notBoolean),
  field("allowRestart", notBoolean),
  field("allowDataLoss", notBoolean),
  field("adopt", notBoolean),
  field("hypervisor", badRef("lxc")),
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
const VM_KNOWN = [...Object.keys(guestArgsSchema.shape), "hypervisor", "plannedChanges", "plannedAction", "observed", "lastApplied", "connection", "emulated", "ownerToken"];
const badGuest: fc.Arbitrary<Bad> = fc.oneof(
  field("name", fc.oneof(badName, notString, idLikeName)),
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
  field("hypervisor", badRef("kvm")),
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
  badTimeout,
  deepProxy,
  cyclicProxy,
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
      assert.ok(mine.length > 0, `${label}: ${show(bad)} -> failures ${show(res.failures)}`);
      assert.deepEqual(sshCounters(), ZERO, `${label}: an SSH command or connection was made for ${show(bad)}`);
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

test("Guest on xen: names xl or virsh would read as an ID (or dom0) are refused by check, naming name", async () => {
  const PV_BASE: Props = { name: "pv1", virtualization: "para", vcpus: 1, memory: "256MiB", boot: { kernel: "/var/lib/xen/boot/vmlinuz" } };
  await refusesWithoutSsh("Guest (xen)", guest.check, { ...PV_BASE, hypervisor: hypervisorRef("xen") }, fc.oneof(field("name", idLikeName), field("hypervisor", badRef("xen"))));
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
      assert.ok(mine.length > 0, `Host: ${show(bad)} -> failures ${show(res.failures)}`);
      // "cannot read facts" would mean the bad connection passed validation and a host was tried.
      assert.ok(!res.failures.some((f) => /cannot read facts/.test(f.reason)), `Host: ${show(bad)} reached the transport`);
      assert.deepEqual(sshCounters(), ZERO, `Host: an SSH command or connection was made for ${show(bad)}`);
    }),
    { numRuns: RUNS_PER_RESOURCE, includeErrorInReport: true },
  );
});

test("at least 500 invalid inputs were generated, and no SSH command or connection was made", () => {
  assert.ok(generated >= 500, `only ${generated} cases`);
  assert.deepEqual(sshCounters(), ZERO);
});
