// Issue 5 (lab): Host facts match what the host itself reports; domain rules refuse what the host cannot do.
import type { HostFacts } from "../../provider/models/host";
import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ensureLab, loadLab, onHost } from "../support/lab";
import * as hostImpl from "../../provider/resources/impl/host";
import * as hvImpl from "../../provider/resources/impl/hypervisor";
import { SshPool } from "../../provider/ssh/pool";

let conn: Record<string, unknown>;
let h1: ReturnType<typeof loadLab>["hosts"][number];

before(async () => {
  await ensureLab();
  h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  conn = { host: h1.address, port: h1.port, user: h1.user, privateKey: readFileSync(h1.privateKeyPath, "utf8"), hostKey: h1.hostKey };
});
after(() => SshPool.shared().closeAll());

async function hostFacts() {
  const res = await hostImpl.check({}, { connection: conn });
  assert.deepEqual(res.failures, []);
  return res.inputs.facts as HostFacts;
}

test("Host facts match nproc, /proc/meminfo, uname and hostname on the host", async () => {
  const facts = await hostFacts();
  const sh = async (argv: string[]) => (await onHost(h1, argv)).stdout.trim();
  assert.equal(facts.hostname, await sh(["hostname"]));
  assert.equal(facts.cpus, Number(await sh(["nproc"])));
  const memKb = Number((await sh(["awk", "/^MemTotal:/{print $2}", "/proc/meminfo"])));
  assert.equal(facts.memoryMiB, Math.floor(memKb / 1024));
  assert.equal(facts.kernel.release, await sh(["uname", "-r"]));
  assert.equal(facts.arch, await sh(["uname", "-m"]));
  const flags = await sh(["sh", "-c", "grep -cwE 'vmx|svm' /proc/cpuinfo || true"]);
  assert.equal(facts.hardwareVirtualization === "none", Number(flags) === 0);
  assert.equal(facts.xenDom0, false);
  assert.ok(facts.cgroupVersion === 1 || facts.cgroupVersion === 2);
  assert.ok(facts.tools.lxc, "LXC tools version read");
});

test("a no-op check of an unchanged Host sends no SSH command", async () => {
  const first = await hostImpl.check({}, { connection: conn });
  const before = SshPool.shared().stats().global.commands;
  const again = await hostImpl.check(first.inputs, { connection: conn });
  assert.equal(SshPool.shared().stats().global.commands, before);
  assert.deepEqual(again.inputs.facts, first.inputs.facts);
});

test("kvm without VT-x/AMD-V is refused naming the missing hardware support, and accepted with allowEmulation", async () => {
  const facts = await hostFacts();
  assert.equal(facts.hardwareVirtualization, "none", "this lab has no hardware virtualization");
  const host = { connection: conn, facts };
  const refused = await hvImpl.check({}, { host, kind: "kvm" });
  assert.equal(refused.failures.length, 1);
  assert.equal(refused.failures[0].property, "allowEmulation");
  assert.match(refused.failures[0].reason, /VT-x/);
  assert.match(refused.failures[0].reason, /allowEmulation: true/);
  const accepted = await hvImpl.check({}, { host, kind: "kvm", allowEmulation: true });
  assert.deepEqual(accepted.failures, []);
  assert.equal(accepted.inputs.emulated, true, "emulation is visible in the checked inputs");
  const created = await hvImpl.create(accepted.inputs);
  assert.equal(created.outs.emulated, true);
  assert.match(String(created.outs.version), /\d+\.\d+/);
});

test("xen on a host that is not a dom0 is refused", async () => {
  const facts = await hostFacts();
  const res = await hvImpl.check({}, { host: { connection: conn, facts }, kind: "xen" });
  assert.equal(res.failures[0]?.property, "kind");
  assert.match(res.failures[0].reason, /not a Xen dom0/);
});

test("an lxc Hypervisor verifies LXC on the host", async () => {
  const facts = await hostFacts();
  const checked = await hvImpl.check({}, { host: { connection: conn, facts }, kind: "lxc", bridge: "pvbr0" });
  assert.deepEqual(checked.failures, []);
  const created = await hvImpl.create(checked.inputs);
  const lxcVersion = (await onHost(h1, ["lxc-ls", "--version"])).stdout.trim();
  assert.equal(created.outs.version, lxcVersion);
  assert.ok((created.outs.capabilities as Record<string, string>).memoryMiB.includes("live"));
});
