// The design brief's domain rules, checked before anything is changed (visible in preview):
// through the pure rules and through each resource's check, which is what a user sees.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { containerRules, guestRules, hypervisorRules } from "../../provider/plan/rules";
import * as hypervisor from "../../provider/resources/impl/hypervisor";
import * as guest from "../../provider/resources/impl/guest";
import * as container from "../../provider/resources/impl/container";
import { hostFacts, hostRef, hypervisorRef, answerHostReadsLocally, NO_SSH, sshActivity } from "./plan-fixtures";

answerHostReadsLocally();
// Planning and checks are pure: not one SSH connection or command.
after(() => assert.deepEqual(sshActivity(), NO_SSH));

const NO_VT = { hardwareVirtualization: "none", kvmUsable: false } as const;

test("kvm on a host without vmx/svm: failure on allowEmulation naming the missing hardware support", async () => {
  const direct = hypervisorRules("kvm", hostFacts(NO_VT), false);
  assert.equal(direct.length, 1);
  assert.equal(direct[0].property, "allowEmulation");

  const res = await hypervisor.check({}, { kind: "kvm", host: hostRef(NO_VT) });
  const f = res.failures.find((x) => x.property === "allowEmulation");
  assert.ok(f, JSON.stringify(res.failures));
  assert.match(f.reason, /VT-x|AMD-V|vmx|svm/);
  assert.match(f.reason, /hardware virtualization|hardware support/i);
  assert.match(f.reason, /allowEmulation: true/, "the way out is named");
});

test("kvm on a host without vmx/svm: accepted with allowEmulation: true, and marked emulated", async () => {
  assert.deepEqual(hypervisorRules("kvm", hostFacts(NO_VT), true), []);
  const res = await hypervisor.check({}, { kind: "kvm", allowEmulation: true, host: hostRef(NO_VT) });
  assert.deepEqual(res.failures, []);
  assert.equal(res.inputs.emulated, true);
});

test("kvm on a host with VT-x (or AMD-V): accepted, not emulated", async () => {
  for (const hw of ["vmx", "svm"] as const) {
    assert.deepEqual(hypervisorRules("kvm", hostFacts({ hardwareVirtualization: hw, kvmUsable: true }), false), []);
    const res = await hypervisor.check({}, { kind: "kvm", host: hostRef({ hardwareVirtualization: hw, kvmUsable: true }) });
    assert.deepEqual(res.failures, []);
    assert.equal(res.inputs.emulated, false);
  }
});

test("kvm with vmx but an unusable /dev/kvm: failure on allowEmulation", async () => {
  const res = await hypervisor.check({}, { kind: "kvm", host: hostRef({ hardwareVirtualization: "vmx", kvmUsable: false }) });
  assert.ok(res.failures.some((f) => f.property === "allowEmulation" && f.reason.length > 0), JSON.stringify(res.failures));
});

test("xen on a host that is not dom0: failure on kind", async () => {
  const res = await hypervisor.check({}, { kind: "xen", host: hostRef({ xenDom0: false }) });
  const f = res.failures.find((x) => x.property === "kind");
  assert.ok(f, JSON.stringify(res.failures));
  assert.match(f.reason, /dom0/);
  assert.deepEqual(hypervisorRules("xen", hostFacts({ xenDom0: false }), true).map((x) => x.property), ["kind"], "allowEmulation does not excuse it");
});

test("xen on dom0: accepted", async () => {
  const res = await hypervisor.check({}, { kind: "xen", host: hostRef({ xenDom0: true }) });
  assert.deepEqual(res.failures, []);
});

test("lxc on a Linux host: accepted", async () => {
  const res = await hypervisor.check({}, { kind: "lxc", host: hostRef() });
  assert.deepEqual(res.failures, []);
});

const PV_GUEST = {
  name: "pv1",
  virtualization: "para",
  vcpus: 1,
  memory: "256MiB",
  boot: { kernel: "/var/lib/xen/boot/vmlinuz" },
};

for (const kind of ["kvm", "lxc"] as const) {
  test(`para guest on ${kind}: failure on virtualization`, async () => {
    const hv = hypervisorRef(kind);
    const direct = guestRules("para", hv);
    assert.deepEqual(direct.map((f) => f.property), ["virtualization"]);
    const res = await guest.check({}, { ...PV_GUEST, hypervisor: hv });
    const f = res.failures.find((x) => x.property === "virtualization");
    assert.ok(f, JSON.stringify(res.failures));
    assert.match(f.reason, /runs only on the hypervisor its OS was modified for/);
  });
}

test("para guest on xen, full guest on kvm: accepted", async () => {
  assert.deepEqual((await guest.check({}, { ...PV_GUEST, hypervisor: hypervisorRef("xen") })).failures, []);
  const full = { name: "vm1", virtualization: "full", vcpus: 1, memory: "512MiB", boot: { firmware: "bios" }, rootDisk: { baseImage: "/var/lib/libvirt/images/bases/debian-12.qcow2" } };
  assert.deepEqual((await guest.check({}, { ...full, hypervisor: hypervisorRef("kvm") })).failures, []);
});

test("full guest on an lxc hypervisor: failure on virtualization", async () => {
  const full = { name: "vm1", virtualization: "full", vcpus: 1, memory: "512MiB", boot: { firmware: "bios" }, rootDisk: { baseImage: "/var/lib/libvirt/images/bases/debian-12.qcow2" } };
  const res = await guest.check({}, { ...full, hypervisor: hypervisorRef("lxc") });
  assert.ok(res.failures.some((f) => f.property === "virtualization"), JSON.stringify(res.failures));
});

const CT = { name: "web", memory: "256MiB" };

test("container whose osFamily differs from the host's: failure on osFamily", async () => {
  for (const os of ["freebsd", "windows", "darwin"]) {
    const direct = containerRules(os, hypervisorRef("lxc"));
    assert.deepEqual(direct.map((f) => f.property), ["osFamily"]);
    const res = await container.check({}, { ...CT, osFamily: os, hypervisor: hypervisorRef("lxc") });
    const f = res.failures.find((x) => x.property === "osFamily");
    assert.ok(f, JSON.stringify(res.failures));
    assert.match(f.reason, /kernel/);
    assert.ok(f.reason.includes(os));
  }
});

test("container with the host's osFamily (explicit or defaulted): accepted", async () => {
  const explicit = await container.check({}, { ...CT, osFamily: "linux", hypervisor: hypervisorRef("lxc") });
  assert.deepEqual(explicit.failures, []);
  const defaulted = await container.check({}, { ...CT, hypervisor: hypervisorRef("lxc") });
  assert.deepEqual(defaulted.failures, []);
  assert.equal(defaulted.inputs.osFamily, "linux");
});

test("container on a kvm (or xen) hypervisor: failure", async () => {
  for (const kind of ["kvm", "xen"] as const) {
    const res = await container.check({}, { ...CT, hypervisor: hypervisorRef(kind) });
    assert.ok(res.failures.length > 0);
    const f = res.failures.find((x) => x.property === "hypervisor");
    assert.ok(f, JSON.stringify(res.failures));
    assert.match(f.reason, /lxc/);
  }
});
