// Issue 5: every plannable property of every resource kind x form, classified as the design brief says.
// Goes through the resource glue (check + planFor) with checked inputs, so the mapping from capability
// keys to the input names a user edits is tested together with the planner and the driver tables.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as container from "../../provider/resources/impl/container";
import * as guest from "../../provider/resources/impl/guest";
import { containerArgsSchema } from "../../provider/models/container";
import { guestArgsSchema } from "../../provider/models/guest";
import type { HypervisorRef } from "../../provider/models/hypervisor";
import type { Plan } from "../../provider/plan/planner";
import { ACTION_ORDER, type Action } from "../../provider/plan/types";
import { hypervisorRef, patched, Whole, answerHostReadsLocally, NO_SSH, sshActivity } from "./plan-fixtures";

answerHostReadsLocally();
// Planning and checks are pure: not one SSH connection or command.
after(() => assert.deepEqual(sshActivity(), NO_SSH));

type Props = Record<string, any>;
type Impl = {
  check(olds: Props, news: Props): Promise<{ inputs: Props; failures: { property: string; reason: string }[] }>;
  planFor(olds: Props | undefined, news: Props): Plan;
  inputNameOf(key: string): string;
};

interface Row {
  what: string;
  /** Patch applied to the form's base spec to get the old spec. */
  old?: Record<string, unknown>;
  /** Patch applied to the old spec to get the new one. */
  next: Record<string, unknown>;
  /** The input a user edits (top-level key); failures must name it. */
  input: string;
  action: Exclude<Action, "none">;
  /** What the reason must mention. */
  reason: RegExp;
  /** A replacement that destroys data: refused unless allowDataLoss. */
  dataLoss?: boolean;
}

interface Form {
  label: string;
  impl: Impl;
  hv: HypervisorRef;
  base: Props;
  inputKeys: string[];
  rows: Row[];
}

function maxAction(plan: Plan): Action {
  return plan.properties.reduce<Action>(
    (m, p) => (ACTION_ORDER.indexOf(p.action) > ACTION_ORDER.indexOf(m) ? p.action : m),
    "none",
  );
}

function checked(impl: Impl, olds: Props, raw: Props) {
  return impl.check(olds, raw);
}

const CONTAINER_INPUTS = Object.keys(containerArgsSchema.shape).concat("hypervisor");
const GUEST_INPUTS = Object.keys(guestArgsSchema.shape).concat("hypervisor");

function containerBase(fstype: "xfs" | "btrfs" | "ext4"): Props {
  return {
    name: "web",
    template: "busybox",
    memory: "256MiB",
    cpus: 1,
    cpuQuotaPercent: 50,
    cpuShares: 1024,
    disk: { size: "1GiB", fstype },
    network: { bridge: "lxcbr0", address: "10.77.101.20/24", gateway: "10.77.101.1" },
  };
}

/** Rows common to every container filesystem. */
function containerRows(): Row[] {
  const live = (what: string, input: string, next: Record<string, unknown>): Row => ({ what, input, next, action: "live", reason: /live/ });
  return [
    live("memory up", "memory", { memory: "512MiB" }),
    live("memory down", "memory", { memory: "128MiB" }),
    live("cpus up", "cpus", { cpus: 2 }),
    { ...live("cpus down", "cpus", { cpus: 1 }), old: { cpus: 2 } },
    live("cpu quota up", "cpuQuotaPercent", { cpuQuotaPercent: 150 }),
    live("cpu quota down", "cpuQuotaPercent", { cpuQuotaPercent: 10 }),
    live("cpu shares up", "cpuShares", { cpuShares: 2048 }),
    live("cpu shares down", "cpuShares", { cpuShares: 256 }),
    { what: "disk shrink", input: "disk", next: { disk: { size: "512MiB" } }, action: "replace", reason: /shrink/i, dataLoss: true },
    { what: "template change", input: "template", next: { template: "debian:bookworm" }, action: "replace", reason: /template/i },
    { what: "osFamily change", input: "osFamily", next: { osFamily: "freebsd" }, action: "replace", reason: /OS|kernel/ },
    { what: "rename", input: "name", next: { name: "web2" }, action: "restart", reason: /renam|stop/i },
    { what: "network bridge change", input: "network", next: { network: { bridge: "br1" } }, action: "restart", reason: /network/i },
    { what: "network address change", input: "network", next: { network: { address: "10.77.101.21/24" } }, action: "restart", reason: /network/i },
  ];
}

const FULL_BASE: Props = {
  name: "vm1",
  virtualization: "full",
  vcpus: 2,
  maxVcpus: 8,
  memory: "1GiB",
  maxMemory: "4GiB",
  boot: { firmware: "bios" },
  rootDisk: { baseImage: "/var/lib/libvirt/images/bases/debian-12.qcow2", size: "8GiB" },
  dataDisks: [{ name: "data1", size: "2GiB" }],
  network: { bridge: "virbr0" },
};

const PARA_BASE: Props = {
  name: "pv1",
  virtualization: "para",
  vcpus: 2,
  maxVcpus: 4,
  memory: "512MiB",
  maxMemory: "1GiB",
  boot: { kernel: "/var/lib/xen/boot/vmlinuz-6.1.0-18-amd64", initrd: "/var/lib/xen/boot/initrd.img-6.1.0-18-amd64", cmdline: "root=/dev/xvda1 console=hvc0" },
  rootDisk: { baseImage: "/var/lib/xen/bases/debian-12.img", size: "4GiB" },
  network: { bridge: "xenbr0" },
};

const FORMS: Form[] = [
  ...(["xfs", "btrfs"] as const).map((fs): Form => ({
    label: `Container (lxc, ${fs})`,
    impl: container,
    hv: hypervisorRef("lxc"),
    base: containerBase(fs),
    inputKeys: CONTAINER_INPUTS,
    rows: [
      ...containerRows(),
      { what: "disk grow", input: "disk", next: { disk: { size: "4GiB" } }, action: "live", reason: new RegExp(`${fs}|online`, "i") },
    ],
  })),
  {
    label: "Container (lxc, ext4)",
    impl: container,
    hv: hypervisorRef("lxc"),
    base: containerBase("ext4"),
    inputKeys: CONTAINER_INPUTS,
    rows: [
      ...containerRows(),
      { what: "disk grow", input: "disk", next: { disk: { size: "4GiB" } }, action: "restart", reason: /ext4|offline/i },
    ],
  },
  {
    label: "Guest full (kvm)",
    impl: guest,
    hv: hypervisorRef("kvm"),
    base: FULL_BASE,
    inputKeys: GUEST_INPUTS,
    rows: [
      { what: "memory up within maxMemory", input: "memory", next: { memory: "2GiB" }, action: "live", reason: /balloon/i },
      { what: "memory up to maxMemory", input: "memory", next: { memory: "4GiB" }, action: "live", reason: /balloon/i },
      { what: "memory down", input: "memory", next: { memory: "512MiB" }, action: "live", reason: /balloon/i },
      { what: "memory beyond old maxMemory", input: "memory", next: { memory: "8GiB", maxMemory: "8GiB" }, action: "restart", reason: /maxMemory/ },
      { what: "memory grows with maxMemory unset", input: "memory", old: { maxMemory: undefined }, next: { memory: "2GiB" }, action: "restart", reason: /maxMemory/ },
      { what: "vcpus add within maxVcpus", input: "vcpus", next: { vcpus: 6 }, action: "live", reason: /hotplug/i },
      { what: "vcpus add up to maxVcpus", input: "vcpus", next: { vcpus: 8 }, action: "live", reason: /hotplug/i },
      { what: "vcpus beyond maxVcpus", input: "vcpus", next: { vcpus: 12, maxVcpus: 12 }, action: "restart", reason: /maxVcpus/ },
      { what: "vcpus remove", input: "vcpus", old: { vcpus: 4 }, next: { vcpus: 2 }, action: "restart", reason: /vCPU/i },
      { what: "maxMemory change", input: "maxMemory", next: { maxMemory: "6GiB" }, action: "restart", reason: /memory/i },
      { what: "maxVcpus change", input: "maxVcpus", next: { maxVcpus: 16 }, action: "restart", reason: /vCPU/i },
      { what: "boot firmware change", input: "boot", next: { boot: { firmware: "uefi" } }, action: "restart", reason: /boot/i },
      { what: "boot to direct kernel", input: "boot", next: { boot: new Whole({ kernel: "/var/lib/libvirt/boot/vmlinuz" }) }, action: "restart", reason: /boot/i },
      { what: "base image change", input: "rootDisk", next: { rootDisk: { baseImage: "/var/lib/libvirt/images/bases/debian-13.qcow2" } }, action: "replace", reason: /image/i },
      { what: "data disk grow", input: "dataDisks", next: { dataDisks: [{ name: "data1", size: "8GiB" }] }, action: "live", reason: /live/ },
      { what: "data disk shrink", input: "dataDisks", next: { dataDisks: [{ name: "data1", size: "1GiB" }] }, action: "replace", reason: /shrink/i, dataLoss: true },
      { what: "rename", input: "name", next: { name: "vm2" }, action: "restart", reason: /renam|stop/i },
    ],
  },
  {
    label: "Guest para (xen)",
    impl: guest,
    hv: hypervisorRef("xen"),
    base: PARA_BASE,
    inputKeys: GUEST_INPUTS,
    rows: [
      { what: "memory up within maxMemory", input: "memory", next: { memory: "1GiB" }, action: "live", reason: /live/ },
      { what: "memory down", input: "memory", next: { memory: "256MiB" }, action: "live", reason: /live/ },
      // xl calls the ceilings maxmem / maxvcpus; either name tells the user which bound was crossed.
      { what: "memory beyond old maxMemory", input: "memory", next: { memory: "2GiB", maxMemory: "2GiB" }, action: "restart", reason: /maxMemory|maxmem/i },
      { what: "vcpus up within maxVcpus", input: "vcpus", next: { vcpus: 4 }, action: "live", reason: /live/ },
      { what: "vcpus down", input: "vcpus", next: { vcpus: 1 }, action: "live", reason: /live/ },
      { what: "vcpus beyond maxVcpus", input: "vcpus", next: { vcpus: 8, maxVcpus: 8 }, action: "restart", reason: /maxVcpus/i },
      { what: "root disk shrink", input: "rootDisk", next: { rootDisk: { size: "2GiB" } }, action: "replace", reason: /shrink/i, dataLoss: true },
      { what: "base image change", input: "rootDisk", next: { rootDisk: { baseImage: "/var/lib/xen/bases/debian-13.img" } }, action: "replace", reason: /image/i },
      { what: "boot cmdline change", input: "boot", next: { boot: { cmdline: "root=/dev/xvda1 console=hvc0 quiet" } }, action: "restart", reason: /boot|kernel/i },
      { what: "boot kernel change", input: "boot", next: { boot: { kernel: "/var/lib/xen/boot/vmlinuz-6.1.0-20-amd64" } }, action: "restart", reason: /boot|kernel/i },
    ],
  },
];

for (const form of FORMS) {
  const withHv = (p: Props): Props => ({ ...p, hypervisor: p.hypervisor ?? form.hv });

  for (const row of form.rows) {
    test(`${form.label}: ${row.what} -> ${row.action}`, async () => {
      const oldRaw = withHv(row.old ? patched(form.base, row.old) : form.base);
      const created = await checked(form.impl, {}, oldRaw);
      assert.deepEqual(created.failures, [], "the old spec must be valid");
      const olds = created.inputs;
      const newRaw = withHv(patched(oldRaw, row.next));

      for (const allow of [false, true]) {
        const flags = row.action === "restart" ? { allowRestart: allow } : row.dataLoss ? { allowDataLoss: allow } : {};
        const res = await checked(form.impl, olds, { ...newRaw, ...flags });
        assert.ok(res.inputs.plannedAction, `the new spec must pass validation: ${JSON.stringify(res.failures)}`);
        const plan = form.impl.planFor(olds, res.inputs);
        const mine = plan.properties.filter((p) => form.impl.inputNameOf(p.property) === row.input);
        assert.ok(mine.length > 0, `no plan entry for input ${row.input}: ${JSON.stringify(plan.properties)}`);
        const strongestOfMine = mine.reduce<Action>((m, p) => (ACTION_ORDER.indexOf(p.action) > ACTION_ORDER.indexOf(m) ? p.action : m), "none");
        assert.equal(strongestOfMine, row.action, `${row.input}: ${JSON.stringify(mine)}`);
        const main = mine.find((p) => p.action === row.action)!;
        assert.match(main.reason, row.reason);
        if (main.action === "live") assert.ok(main.mechanism && main.mechanism.length > 0, "a live change names its mechanism");
        if (row.dataLoss) assert.equal(main.destroysData, true);

        // Every plan entry maps to an input a user can edit.
        for (const p of plan.properties) {
          assert.ok(form.inputKeys.includes(form.impl.inputNameOf(p.property)), `${p.property} maps to no input`);
        }
        // The whole resource costs the strongest of its properties; check publishes it.
        assert.equal(plan.overall, maxAction(plan));
        assert.equal(res.inputs.plannedAction, plan.overall);

        const onInput = res.failures.filter((f) => f.property === row.input);
        if (row.action === "restart") {
          if (!allow) {
            const f = onInput.find((x) => /allowRestart/.test(x.reason));
            assert.ok(f, `expected a failure on ${row.input} naming allowRestart: ${JSON.stringify(res.failures)}`);
          } else {
            assert.deepEqual(res.failures.filter((x) => /allowRestart/.test(x.reason)), []);
          }
        }
        if (row.dataLoss) {
          if (!allow) {
            const f = onInput.find((x) => /allowDataLoss/.test(x.reason));
            assert.ok(f, `expected a failure on ${row.input} naming allowDataLoss: ${JSON.stringify(res.failures)}`);
          } else {
            assert.deepEqual(res.failures.filter((x) => /allowDataLoss/.test(x.reason)), []);
          }
        }
        if (row.action === "live") assert.deepEqual(res.failures, [], "a live change needs no permission");
      }
    });
  }

  test(`${form.label}: no change -> none`, async () => {
    const base = withHv(form.base);
    const olds = (await checked(form.impl, {}, base)).inputs;
    const res = await checked(form.impl, olds, base);
    assert.deepEqual(res.failures, []);
    const plan = form.impl.planFor(olds, res.inputs);
    assert.equal(plan.overall, "none");
    assert.deepEqual(plan.properties, []);
    assert.equal(res.inputs.plannedAction, "none");
  });
}

// Moves and form changes: they change the hypervisor ref, not just a field.
test("Guest full: virtualization change (to para on xen) -> replace", async () => {
  const olds = (await guest.check({}, { ...FULL_BASE, hypervisor: hypervisorRef("kvm") })).inputs;
  const next = {
    ...patched(FULL_BASE, { virtualization: "para", boot: new Whole({ kernel: "/var/lib/xen/boot/vmlinuz" }), maxMemory: "1GiB" }),
    hypervisor: hypervisorRef("xen"),
  };
  const res = await guest.check(olds, next);
  assert.ok(res.inputs.plannedAction, JSON.stringify(res.failures));
  const plan = guest.planFor(olds, res.inputs);
  const v = plan.properties.find((p) => guest.inputNameOf(p.property) === "virtualization");
  assert.equal(v?.action, "replace");
  assert.match(v!.reason, /virtuali[sz]ation/i);
  assert.equal(plan.overall, "replace");
});

test("Guest full: host move -> replace", async () => {
  const olds = (await guest.check({}, { ...FULL_BASE, hypervisor: hypervisorRef("kvm") })).inputs;
  const other = hypervisorRef("kvm", { hostname: "lab2", machineId: "9a8b7c6d5e4f40312233445566778899" });
  const res = await guest.check(olds, { ...FULL_BASE, hypervisor: other });
  assert.deepEqual(res.failures, []);
  const plan = guest.planFor(olds, res.inputs);
  const moved = plan.properties.filter((p) => guest.inputNameOf(p.property) === "hypervisor");
  assert.ok(moved.some((p) => p.action === "replace" && /host/i.test(p.reason)), JSON.stringify(plan.properties));
  assert.equal(plan.overall, "replace");
});

test("Container: host move -> replace", async () => {
  const base = containerBase("xfs");
  const olds = (await container.check({}, { ...base, hypervisor: hypervisorRef("lxc") })).inputs;
  const other = hypervisorRef("lxc", { hostname: "lab2", machineId: "9a8b7c6d5e4f40312233445566778899" });
  const res = await container.check(olds, { ...base, hypervisor: other });
  assert.deepEqual(res.failures, []);
  const plan = container.planFor(olds, res.inputs);
  assert.ok(plan.properties.some((p) => container.inputNameOf(p.property) === "hypervisor" && p.action === "replace"));
  assert.equal(plan.overall, "replace");
});

// The whole-resource action is the strongest of its properties.
const COMBINED: { label: string; impl: Impl; hv: HypervisorRef; base: Props; next: Props; overall: Action }[] = [
  { label: "container memory + cpus", impl: container, hv: hypervisorRef("lxc"), base: containerBase("xfs"), next: { memory: "1GiB", cpus: 4 }, overall: "live" },
  { label: "container memory + rename", impl: container, hv: hypervisorRef("lxc"), base: containerBase("xfs"), next: { memory: "1GiB", name: "web2", allowRestart: true }, overall: "restart" },
  { label: "container memory + rename + template", impl: container, hv: hypervisorRef("lxc"), base: containerBase("xfs"), next: { memory: "1GiB", name: "web2", template: "debian:trixie", allowRestart: true }, overall: "replace" },
  { label: "full guest memory + vcpus", impl: guest, hv: hypervisorRef("kvm"), base: FULL_BASE, next: { memory: "3GiB", vcpus: 4 }, overall: "live" },
  { label: "full guest memory + boot", impl: guest, hv: hypervisorRef("kvm"), base: FULL_BASE, next: { memory: "3GiB", boot: { firmware: "uefi" }, allowRestart: true }, overall: "restart" },
  { label: "para guest memory + vcpus down", impl: guest, hv: hypervisorRef("xen"), base: PARA_BASE, next: { memory: "768MiB", vcpus: 1 }, overall: "live" },
];
for (const c of COMBINED) {
  test(`overall is the strongest property action: ${c.label} -> ${c.overall}`, async () => {
    const oldRaw = { ...c.base, hypervisor: c.hv };
    const olds = (await c.impl.check({}, oldRaw)).inputs;
    const res = await c.impl.check(olds, patched(oldRaw, c.next));
    assert.deepEqual(res.failures, []);
    const plan = c.impl.planFor(olds, res.inputs);
    assert.ok(plan.properties.length >= 2);
    assert.equal(plan.overall, c.overall);
    assert.equal(plan.overall, maxAction(plan));
  });
}
