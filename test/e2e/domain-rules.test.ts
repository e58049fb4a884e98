// Issues 5 and 8 through the CLI: the design brief's domain rules stop `pulumi preview` before any change,
// with messages that name the property and the way out; bad input is rejected at check.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { TestStack } from "./harness";
import { ensureLab, loadLab, onHost } from "../support/lab";

test("domain rules and bad input fail at preview, before anything changes on the host", async (t) => {
  await ensureLab();
  const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const stack = await TestStack.create({
    program: "test/e2e/fixtures/matrix",
    config: { hosts: JSON.stringify({ h1: { address: h1.address, port: h1.port, user: h1.user, hostKey: h1.hostKey } }) },
    secrets: { privateKey: readFileSync(h1.privateKeyPath, "utf8") },
  });
  t.after(() => stack.rm());
  const refuse = async (config: Record<string, unknown>, ...patterns: RegExp[]) => {
    for (const [k, v] of Object.entries(config)) await stack.setConfig(k, JSON.stringify(v));
    const res = await stack.preview({ allowFailure: true });
    assert.notEqual(res.code, 0, "preview must fail");
    for (const p of patterns) assert.match(res.stdout + res.stderr, p);
  };
  const kvm = { host: "h1", kind: "kvm", bridge: "pvbr0" };
  const pv = { hypervisor: "kvm1", name: "pv-on-kvm", virtualization: "para", vcpus: 1, memory: 128, boot: { kernel: "/boot/vmlinuz-none" } };

  await t.test("kvm on a host without VT-x/AMD-V is refused unless emulation is opted into", async () => {
    await refuse({ hypervisors: { kvm1: kvm }, guests: {}, containers: {} }, /allowEmulation/, /VT-x/);
    await stack.setConfig("hypervisors", JSON.stringify({ kvm1: { ...kvm, allowEmulation: true } }));
    const ok = await stack.preview({ json: true });
    const step = ok.steps.find((s) => s.urn.endsWith("::kvm1"))!;
    assert.equal(step.newState!.inputs!.emulated, true, "emulation shows in the preview");
  });

  await t.test("a xen hypervisor on a host that is not a dom0 is refused", async () => {
    await refuse({ hypervisors: { xen1: { host: "h1", kind: "xen" } } }, /not a Xen dom0/);
  });

  await t.test("a paravirtualized guest on kvm is refused", async () => {
    await refuse({ hypervisors: { kvm1: { ...kvm, allowEmulation: true } }, guests: { pv } }, /virtualization/, /runs only on the hypervisor its OS was modified for/);
  });

  await t.test("bad input is rejected at check naming the property; nothing reaches the host", async () => {
    const bad = { hypervisor: "lxc1", name: "bad;rm -rf /", memory: "12 potatoes", cpus: -1 };
    await refuse({ hypervisors: { lxc1: { host: "h1", kind: "lxc", bridge: "pvbr0" } }, guests: {}, containers: { bad } }, /name/, /memory/, /potatoes/, /cpus/);
    const ls = (await onHost(h1, ["lxc-ls", "-1"])).stdout;
    assert.ok(!ls.includes("bad"), "no container was created");
  });
});
