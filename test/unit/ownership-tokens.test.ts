// Finding 7 of issue 19 (pure parts): a guest's owner token goes into the KVM domain's <metadata> and is read
// back from it; a Xen domain's comes from the file beside its config; tokens are per resource and stable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildDomainXml, domainPaths, DomainSpec, InvalidDomainSpecError, parseReadOutput as parseKvm, validateDomainSpec } from "../../provider/drivers/kvm";
import { ownerPath, parseReadOutput as parseXen } from "../../provider/drivers/xen";
import { ownerTokenOf } from "../../provider/lifecycle/support";
import { kvmSpec } from "../../provider/drivers/kvm/machine";
import type { GuestState } from "../../provider/models/state";
import { hypervisorRef } from "./plan-fixtures";

const TOKEN = ownerTokenOf("kvm-11111111-2222-4333-8444-555555555555");

function spec(over: Partial<DomainSpec> = {}): DomainSpec {
  return {
    name: "pvt-own", vcpus: 1, maxVcpus: 1, memoryMiB: 128, maxMemoryMiB: 128, emulated: true,
    boot: { kind: "kernel", kernel: "/img/vmlinuz" }, rootDisk: { baseImage: "/img/b.qcow2", mode: "overlay" },
    dataDisks: [], running: false, autostart: false, shutdownTimeoutSec: 0, storageDir: "/var/lib/pv", ...over,
  };
}

test("owner tokens: one per resource id, stable, hex", () => {
  assert.match(TOKEN, /^[0-9a-f]{32}$/);
  assert.equal(ownerTokenOf("kvm-11111111-2222-4333-8444-555555555555"), TOKEN);
  assert.notEqual(ownerTokenOf("kvm-11111111-2222-4333-8444-555555555556"), TOKEN);
});

test("KVM: the token is written into <metadata> under its own namespace and read back", () => {
  const s = spec({ ownerToken: TOKEN });
  const xml = buildDomainXml(s, domainPaths(s));
  assert.match(xml, new RegExp(`<pvo:owner xmlns:pvo="https://github.com/pulumi-virt/kvm/owner/1">${TOKEN}</pvo:owner>`));
  const out = `@@dominfo\nName: pvt-own\nState: shut off\n@@xml\n${xml}\n@@inactive\n@@vcpucount\n@@blk\n@@pid\n\n@@end\n`;
  assert.equal(parseKvm("pvt-own", out).ownerToken, TOKEN);
  // A definition from before tokens has none.
  const legacy = buildDomainXml(spec(), domainPaths(spec()));
  assert.ok(!legacy.includes("pvo:owner"));
  assert.equal(parseKvm("pvt-own", `@@dominfo\nName: pvt-own\n@@xml\n${legacy}\n@@end\n`).ownerToken, undefined);
  assert.throws(() => validateDomainSpec(spec({ ownerToken: "</owner><x>" })), InvalidDomainSpecError);
  // The Guest passes its token into every (re)definition.
  const g = kvmSpec({ name: "vm", virtualization: "full", vcpus: 1, memory: 128, boot: { kernel: "/k" }, rootDisk: { baseImage: "/b.qcow2", mode: "overlay" }, dataDisks: [], hypervisor: hypervisorRef("kvm") } as unknown as GuestState, TOKEN);
  assert.equal(g.ownerToken, TOKEN);
});

test("Xen: the token comes from the file beside the config, also for a domain that is shut down", () => {
  assert.equal(ownerPath("/etc/xen/pulumi-virt", "d1"), "/etc/xen/pulumi-virt/d1.owner");
  const o = parseXen("d1", `@@config\nname = "d1"\n@@owner\n${TOKEN}\n@@absent\n`);
  assert.equal(o.exists, false);
  assert.equal(o.ownerToken, TOKEN);
  assert.equal(parseXen("d1", "@@absent\n").ownerToken, undefined);
});
