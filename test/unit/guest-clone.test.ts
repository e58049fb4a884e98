// Issue 21: rootDisk.cloneFrom, a guest's root disk as a copy of another managed Guest's (or of an Image). The model
// keeps only the source's name and token; check refuses at preview what it can know (a source the program wants
// running, a source on another host); the driver refuses at up what only the host knows. No host.
import { test } from "node:test";
import assert from "node:assert/strict";
import { guestArgsSchema } from "../../provider/models/guest";
import * as guest from "../../provider/resources/impl/guest";
import { cloneFromFailures } from "../../provider/plan/clone";
import { cloneSourceProblem } from "../../provider/drivers/kvm/clone";
import { kvmSpec } from "../../provider/drivers/kvm/machine";
import { buildDomainXml } from "../../provider/drivers/kvm/domain-xml";
import { domainPaths } from "../../provider/drivers/kvm/paths";
import { validateDomainSpec } from "../../provider/drivers/kvm/validate";
import type { GuestState } from "../../provider/models/state";
import { hypervisorRef } from "./plan-fixtures";

const TOKEN = "0123456789abcdef0123456789abcdef";
const IMG = "/var/lib/libvirt/images/.pulumi-virt-images/sha256-" + "ab".repeat(32) + ".qcow2";
const VM = { name: "vm2", virtualization: "full", vcpus: 1, memory: "256MiB", boot: { firmware: "bios" } };
const hv = hypervisorRef("kvm");
const HOST = hv.host.facts.hostname;
const src = (extra: Record<string, unknown> = {}) => ({ guest: "vm1", ownerToken: TOKEN, host: HOST, ...extra });

const failures = (raw: unknown) => {
  const r = guestArgsSchema.safeParse(raw);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

test("cloneFrom a Guest parses into the source's name and token only (host and running are check-time facts); an Image ref into baseImage", () => {
  const g = guestArgsSchema.parse({ ...VM, rootDisk: { cloneFrom: src({ running: false }), size: "96MiB" } });
  assert.deepEqual(g.rootDisk, { cloneFrom: { guest: "vm1", ownerToken: TOKEN }, size: 96, mode: "overlay" });
  // The checked shape parses again to itself (state read back as inputs).
  assert.deepEqual(guestArgsSchema.parse({ ...VM, rootDisk: g.rootDisk }).rootDisk, g.rootDisk);
  const i = guestArgsSchema.parse({ ...VM, rootDisk: { cloneFrom: { path: IMG, checksum: "sha256:" + "ab".repeat(32), format: "qcow2" }, mode: "copy" } });
  assert.deepEqual(i.rootDisk, { baseImage: IMG, mode: "copy" });
});

test("cloneFrom refusals name the property: a bare name (not provably managed), a bad token, together with image, itself, a para guest", () => {
  for (const bad of ["vm1", { guest: "vm1" }, { guest: "vm1", ownerToken: "not-hex" }, { ...src(), extra: 1 }]) {
    const f = failures({ ...VM, rootDisk: { cloneFrom: bad } });
    assert.ok(f.length > 0 && f.every((x) => x.startsWith("rootDisk.cloneFrom")), `${JSON.stringify(bad)}: ${f.join("; ")}`);
  }
  assert.match(failures({ ...VM, rootDisk: { cloneFrom: src(), image: IMG } }).join("\n"), /^rootDisk\.cloneFrom: give cloneFrom alone, without image or baseImage/m);
  assert.match(failures({ ...VM, name: "vm1", rootDisk: { cloneFrom: src() } }).join("\n"), /^rootDisk\.cloneFrom: a guest cannot be a clone of itself/m);
  assert.match(failures({ ...VM, virtualization: "para", boot: { kernel: "/boot/k" }, rootDisk: { cloneFrom: src() } }).join("\n"), /^rootDisk\.cloneFrom: copying another guest's disk is for full-virtualization/m);
});

test("check: a source the program wants running is refused for a create, naming rootDisk.cloneFrom and the way out", async () => {
  const r = await guest.check({}, { ...VM, hypervisor: hv, rootDisk: { cloneFrom: src({ running: true }) } });
  assert.equal(r.failures.length, 1);
  assert.equal(r.failures[0].property, "rootDisk.cloneFrom");
  assert.match(r.failures[0].reason, /guest "vm1" is meant to run \(running: true\): only a stopped guest is copied.*Set running: false on guest "vm1"/);
  const ok = await guest.check({}, { ...VM, hypervisor: hv, rootDisk: { cloneFrom: src({ running: false }) } });
  assert.deepEqual(ok.failures, []);
  assert.equal(ok.inputs.plannedAction, "create");
  // Not knowable (a hand-written ref without running): left to `up`, where the host is asked.
  assert.deepEqual((await guest.check({}, { ...VM, hypervisor: hv, rootDisk: { cloneFrom: { guest: "vm1", ownerToken: TOKEN } } })).failures, []);
});

test("check: a source on another host is refused; an existing clone does not care that its source runs again", async () => {
  const other = await guest.check({}, { ...VM, hypervisor: hv, rootDisk: { cloneFrom: src({ host: "elsewhere", running: false }) } });
  assert.match(other.failures.map((f) => `${f.property}: ${f.reason}`).join("\n"), /^rootDisk\.cloneFrom: guest "vm1" is on host "elsewhere", this guest on host ".*": a clone is made on its source's host/m);
  const olds = (await guest.check({}, { ...VM, hypervisor: hv, rootDisk: { cloneFrom: src({ running: false }) } })).inputs;
  const again = await guest.check(olds, { ...VM, hypervisor: hv, rootDisk: { cloneFrom: src({ running: true }) } });
  assert.deepEqual(again.failures, []);
  assert.equal(again.inputs.plannedAction, "none");
  // The source replaced (a new token, same name): the clone is a one-time copy, nothing to rebuild.
  const newToken = await guest.check(olds, { ...VM, hypervisor: hv, rootDisk: { cloneFrom: src({ ownerToken: "f".repeat(32), running: true }) } });
  assert.equal(newToken.inputs.plannedAction, "none");
  assert.equal((await guest.diff("id", olds, newToken.inputs)).replaces.length, 0);
});

test("plan: another source guest, or an image instead of a clone, replaces the root disk (shown in preview); a replace with a running source is refused", async () => {
  const olds = (await guest.check({}, { ...VM, hypervisor: hv, rootDisk: { cloneFrom: src({ running: false }) } })).inputs;
  const other = await guest.check(olds, { ...VM, hypervisor: hv, rootDisk: { cloneFrom: src({ guest: "vm3", running: false }) } });
  assert.equal(other.inputs.plannedAction, "replace");
  assert.match(JSON.stringify(other.inputs.plannedChanges), /"rootDisk\.baseImage":"replace: \(a copy of guest \\"vm1\\"\) → \(a copy of guest \\"vm3\\"\)/);
  const toImage = await guest.check(olds, { ...VM, hypervisor: hv, rootDisk: { image: IMG } });
  assert.equal(toImage.inputs.plannedAction, "replace");
  const running = await guest.check(olds, { ...VM, hypervisor: hv, rootDisk: { cloneFrom: src({ guest: "vm3", running: true }) } });
  assert.match(running.failures.map((f) => `${f.property}: ${f.reason}`).join("\n"), /^rootDisk\.cloneFrom: guest "vm3" is meant to run/m);
  assert.deepEqual(cloneFromFailures(src({ running: true }), hv, "live"), [], "a live change of an existing clone copies nothing");
});

test("kvm spec of a clone: no base image, the source's name and token, a valid spec; the definition records what it was cloned from", async () => {
  const inputs = (await guest.check({}, { ...VM, hypervisor: hv, rootDisk: { cloneFrom: src({ running: false }), size: 128 } })).inputs;
  const spec = kvmSpec(inputs as unknown as GuestState, TOKEN.replace("0", "1"));
  assert.deepEqual(spec.rootDisk, { baseImage: "", sizeMiB: 128, mode: "overlay", cloneFrom: { guest: "vm1", ownerToken: TOKEN } });
  assert.doesNotThrow(() => validateDomainSpec(spec));
  assert.throws(() => validateDomainSpec({ ...spec, rootDisk: { ...spec.rootDisk, cloneFrom: { guest: "vm1", ownerToken: "x;rm" } } }), /ownerToken/);
  assert.throws(() => validateDomainSpec({ ...spec, rootDisk: { ...spec.rootDisk, cloneFrom: undefined } }), /baseImage must be an absolute path/);
  assert.match(buildDomainXml(spec, domainPaths(spec)), /<pv:cloneOf>vm1<\/pv:cloneOf>/);
});

test("at up, the host decides: a missing source, one with another or no owner token, one that is not shut off are refused naming rootDisk.cloneFrom", () => {
  const s = { guest: "vm1", ownerToken: TOKEN };
  const ok = { exists: true, name: "vm1", state: "shutoff" as const, ownerToken: TOKEN, rootDiskPath: "/s/vm1/root.qcow2" };
  assert.equal(cloneSourceProblem(s, ok, 'host "h1"'), undefined);
  assert.match(cloneSourceProblem(s, { exists: false, name: "vm1" }, 'host "h1"')!, /^rootDisk\.cloneFrom: guest "vm1" on host "h1" does not exist/);
  assert.match(cloneSourceProblem(s, { ...ok, ownerToken: "f".repeat(32) }, "h")!, /is not the pulumi-virt guest given \(another resource's token/);
  assert.match(cloneSourceProblem(s, { ...ok, ownerToken: undefined }, "h")!, /carries no pulumi-virt owner token\): only a guest pulumi-virt manages is copied/);
  for (const state of ["running", "paused"] as const)
    assert.match(cloneSourceProblem(s, { ...ok, state }, "h")!, new RegExp(`is ${state}: only a stopped guest is copied.*Set running: false`));
});

test("qemu-img info: a clone reads its source's backing file and format (absolute), or none", async () => {
  const { parseQemuImgInfo } = await import("../../provider/drivers/kvm/parse");
  const overlay = JSON.stringify({ format: "qcow2", "virtual-size": 1048576, "backing-filename": "/i/base.qcow2", "full-backing-filename": "/i/base.qcow2", "backing-filename-format": "qcow2" });
  assert.deepEqual(parseQemuImgInfo(overlay, "x"), { format: "qcow2", virtualSize: 1048576, backingFile: "/i/base.qcow2", backingFormat: "qcow2" });
  // A relative name qemu-img could not resolve is not used: the clone is then flattened.
  const relative = JSON.stringify({ format: "qcow2", "virtual-size": 1048576, "backing-filename": "base.qcow2", "backing-filename-format": "qcow2" });
  assert.deepEqual(parseQemuImgInfo(relative, "x"), { format: "qcow2", virtualSize: 1048576 });
});

test("check: a source created in the same program (its token unknown at preview) that is meant to run is refused all the same", async () => {
  const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
  const r = await guest.check({}, { ...VM, hypervisor: hv, rootDisk: { cloneFrom: { guest: "vm1", ownerToken: UNKNOWN, host: HOST, running: true } } });
  assert.deepEqual(r.failures.map((f) => f.property), ["rootDisk.cloneFrom"]);
  const stopped = await guest.check({}, { ...VM, hypervisor: hv, rootDisk: { cloneFrom: { guest: "vm1", ownerToken: UNKNOWN, host: HOST, running: false } } });
  assert.deepEqual(stopped.failures, []);
});

test("a clone's own machine ID: on the kernel cmdline of a direct-boot clone (before the user's own), in vendor-data for a firmware-booted one; stable per owner token, another for another token; none for a guest that is no clone", async () => {
  const KEY = { privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", publicKey: "ssh-ed25519 AAAAC3Nza test" };
  const kernelBoot = { kernel: "/var/lib/pv/vmlinuz", initrd: "/var/lib/pv/initrd.img", cmdline: "console=ttyS0 quiet" };
  const stateOf = async (extra: Record<string, unknown>) =>
    ({ ...(await guest.check({}, { ...VM, hypervisor: hv, ...extra })).inputs, sshHostKey: KEY }) as unknown as GuestState;
  const cmdlineOf = (s: GuestState, token?: string) => {
    const spec = kvmSpec(s, token);
    return /<cmdline>([^<]*)<\/cmdline>/.exec(buildDomainXml(spec, domainPaths(spec)))?.[1];
  };
  const tokenA = "a".repeat(32), tokenB = "b".repeat(32);
  const clone = await stateOf({ boot: kernelBoot, rootDisk: { cloneFrom: src({ running: false }) } });
  const a = cmdlineOf(clone, tokenA);
  assert.match(a ?? "", /^systemd\.machine_id=[0-9a-f]{32} console=ttyS0 quiet$/);
  assert.equal(cmdlineOf(clone, tokenA), a, "the same on every redefinition");
  assert.notEqual(cmdlineOf(clone, tokenB), a, "a replacement (another token) gets another");
  assert.notEqual(a?.slice(19, 51), tokenA, "not the owner token itself");
  assert.equal(kvmSpec(clone, tokenA).cloudInit?.vendorData?.includes("bootcmd"), false, "direct boot: the cmdline is enough");
  const plain = await stateOf({ boot: kernelBoot, rootDisk: { baseImage: IMG } });
  assert.equal(cmdlineOf(plain, tokenA), "console=ttyS0 quiet", "no clone, no machine ID of ours");

  const fwClone = await stateOf({ rootDisk: { cloneFrom: src({ running: false }) } });
  const vendor = kvmSpec(fwClone, tokenA).cloudInit?.vendorData ?? "";
  const id = a!.slice("systemd.machine_id=".length, "systemd.machine_id=".length + 32);
  assert.ok(vendor.includes(`\nbootcmd:\n  - [cloud-init-per, instance, pulumi-virt-machine-id, sh, -c, 'printf "%s\\n" "$1" > /etc/machine-id', sh, "${id}"]\n`), vendor);
  assert.equal(kvmSpec(await stateOf({ rootDisk: { baseImage: IMG } }), tokenA).cloudInit?.vendorData?.includes("bootcmd"), false);
});
