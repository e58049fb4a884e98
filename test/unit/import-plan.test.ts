// `pulumi import` (the plugin's read without state) and the first preview after it: the imported machine's inputs
// must plan exactly like a created machine's against a program that declares the same machine (no change, nothing
// refused), and the import itself only reads the machine. The host is never reached: the driver's read is replaced
// by what the host would report, and every other driver call is recorded.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { HypervisorRef } from "../../provider/models/hypervisor";
import type { EngineProps } from "../../provider/models/state";
import { hypervisorRef } from "./plan-fixtures";

/**
 * Replaces the driver's read with `observed` for the duration of `fn`; returns the names of every driver method
 * called meanwhile.
 */
async function withReadOf<T>(driver: object, observed: unknown, fn: () => Promise<T>): Promise<{ result: T; calls: string[] }> {
  const methods = driver as Record<string, unknown>;
  const saved = { ...methods };
  const calls: string[] = [];
  for (const [k, v] of Object.entries(saved)) {
    if (typeof v !== "function") continue;
    methods[k] = (...args: unknown[]) => {
      calls.push(k);
      return k === "read" ? Promise.resolve(observed) : (v as (...a: unknown[]) => unknown).apply(driver, args);
    };
  }
  try {
    return { result: await fn(), calls };
  } finally {
    Object.assign(methods, saved);
  }
}

/** What a read of a running guest defined by hand reports (see drivers/kvm/scripts/read.sh). */
function kvmReadOutput(hv: HypervisorRef, name: string, mac: string): string {
  const dir = `${hv.storageDir}/${name}`;
  return [
    "@@dominfo", "State:          running", "Max memory:     327680 KiB", "Used memory:    262144 KiB", "Autostart:      disable",
    "@@xml",
    `<domain type='qemu'><name>${name}</name><os><type>hvm</type><kernel>/img/vmlinuz</kernel><initrd>/img/initrd.img</initrd></os><devices>`,
    `<disk type='file' device='disk'><source file='${dir}/root.qcow2'/><backingStore type='file'><source file='/img/base.qcow2'/></backingStore><target dev='vda' bus='virtio'/></disk>`,
    `<interface type='bridge'><mac address='${mac}'/><source bridge='${hv.bridge}'/></interface>`,
    "</devices></domain>",
    "@@inactive", "  <currentMemory unit='KiB'>262144</currentMemory>",
    "@@vcpucount", "maximum      config         1", "maximum      live           1", "current      config         1", "current      live           1",
    "@@blk", "vda 100663296 1 1",
    "@@pid", "4242",
    "@@end",
  ].join("\n");
}

/** Driver methods a read-only import may call: the read, and pure functions of what it returned. */
const READ_ONLY = new Set(["read", "ownerOf", "importedArgs", "outputs", "view", "capabilities", "displayName", "inputName", "specProblems"]);

test("import of a KVM guest: only reads; its first preview against the same program plans no change (emulated and host identity as a created guest's)", async () => {
  const { kvmMachineDriver } = await import("../../provider/drivers/kvm/machine");
  const { parseReadOutput } = await import("../../provider/drivers/kvm/parse");
  const guest = await import("../../provider/resources/impl/guest");
  // TCG host: the Hypervisor's guests are emulated, as the hand-made domain (type qemu) is.
  const hv = hypervisorRef("kvm", { kvmUsable: false });
  assert.equal(hv.emulated, true);
  const mac = "52:54:00:12:34:56";
  const observed = parseReadOutput("vm1", kvmReadOutput(hv, "vm1", mac));
  const { result: imported, calls } = await withReadOf(kvmMachineDriver, observed, () => guest.importMachine("import-id-1", hv, "vm1"));
  assert.deepEqual(calls.filter((c) => !READ_ONLY.has(c)), [], "the import calls nothing that changes the guest");
  assert.equal(calls.filter((c) => c === "read").length, 1);
  const inputs = imported.inputs!;
  assert.equal(inputs.hypervisor, undefined, "no input property holds the connection (generated code would print it)");
  assert.deepEqual(inputs.importedHypervisor, hv);
  assert.deepEqual((imported.props!.hypervisor as HypervisorRef).host.facts, hv.host.facts, "the outputs hold the ref as every state does");

  // The program that declares the guest as imported, its hypervisor the Hypervisor's ref.
  const program: EngineProps = {
    name: "vm1", virtualization: "full", vcpus: 1, memory: 256, maxMemory: 320,
    boot: { kernel: "/img/vmlinuz", initrd: "/img/initrd.img" },
    rootDisk: { baseImage: "/img/base.qcow2", size: 96, mode: "overlay" },
    network: { mac },
    hypervisor: hv,
  };
  const checked = await guest.check(inputs, program);
  assert.deepEqual(checked.failures, []);
  assert.equal(checked.inputs.plannedAction, "none");
  assert.deepEqual(checked.inputs.plannedChanges, {});
  // What a created guest's inputs would plan (its `hypervisor` in place of importedHypervisor) is the same.
  const { importedHypervisor: _i, ...created } = inputs;
  assert.deepEqual(guest.planFor({ ...created, hypervisor: hv }, checked.inputs), guest.planFor(inputs, checked.inputs));

  // A live change after the import plans as live, nothing else (no restart for the accelerator, no move).
  const grown = guest.planFor(inputs, { ...checked.inputs, memory: 288 });
  assert.deepEqual(grown.properties.map((p) => [p.name, p.action]), [["memory", "live"]]);
  // A program that moves it to another host still plans the move.
  const elsewhere = hypervisorRef("kvm", { kvmUsable: false, machineId: "other", hostname: "h2" });
  const moved = guest.planFor(inputs, { ...checked.inputs, hypervisor: elsewhere });
  assert.deepEqual(moved.properties.map((p) => [p.name, p.action]), [["hypervisor (host)", "replace"]]);
});

test("import of a container: its first preview plans no change, and no host move", async () => {
  const { lxcMachineDriver } = await import("../../provider/drivers/lxc/machine");
  const container = await import("../../provider/resources/impl/container");
  const hv = hypervisorRef("lxc", { cgroupVersion: 1, cpus: 2 });
  const observed = { name: "hand", running: true, autostart: false, memoryMiB: 192, cpus: 2, cpuShares: 1024, diskSizeMiB: 300, fstype: "xfs", template: "busybox" };
  const { result: imported, calls } = await withReadOf(lxcMachineDriver, observed, () => container.importMachine("import-id-2", hv, "hand"));
  assert.deepEqual(calls.filter((c) => !READ_ONLY.has(c)), []);
  const inputs = imported.inputs!;
  assert.equal(inputs.hypervisor, undefined);
  const checked = await container.check(inputs, { name: "hand", template: "busybox", memory: 192, disk: { size: 300, fstype: "xfs" }, hypervisor: hv });
  assert.deepEqual(checked.failures, []);
  assert.equal(checked.inputs.plannedAction, "none");
  assert.deepEqual(checked.inputs.plannedChanges, {});
});

test("the plugin: an imported guest's inputs keep its Hypervisor ref secret, and its check after the import plans no change", async () => {
  const { VirtProvider } = await import("../../provider/plugin/provider");
  const { plainProps, secretKeysOf, toWire } = await import("../../provider/plugin/wire");
  const { SECRET_PROPERTIES } = await import("../../provider/plugin/schema");
  const hv = hypervisorRef("kvm", { kvmUsable: false });
  const args = { name: "vm2", virtualization: "full", vcpus: 1, memory: 256, boot: { kernel: "/img/vmlinuz" }, rootDisk: { baseImage: "/img/base.qcow2" } };
  const guest = await import("../../provider/resources/impl/guest");
  // The inputs an import writes: checked args with importedHypervisor in place of hypervisor.
  const { hypervisor: _h, ...checkedArgs } = (await guest.check({}, { ...args, hypervisor: hv })).inputs;
  const wire = toWire({ ...checkedArgs, importedHypervisor: hv }, SECRET_PROPERTIES.Guest);
  assert.ok(secretKeysOf(wire).includes("importedHypervisor"), "the ref is a secret on the wire");
  const urn = "urn:pulumi:dev::proj::virt:index:Guest::vm2";
  const r = await new VirtProvider().check(urn, wire, toWire({ ...args, hypervisor: hv }, ["hypervisor"]));
  assert.deepEqual(r.failures, []);
  assert.deepEqual(plainProps(r.inputs as Record<string, unknown>).plannedChanges, {});
});
