// Issue 5, properties of planning over generated specs: total, deterministic, disk shrink and OS/template
// changes are never cheap, the resource costs its strongest property, and no change plans nothing.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as container from "../../provider/resources/impl/container";
import * as guest from "../../provider/resources/impl/guest";
import { planChanges, type Plan } from "../../provider/plan/planner";
import { ACTION_ORDER, type Action, type CapabilityTable, type ChangeRule } from "../../provider/plan/types";
import type { HypervisorRef } from "../../provider/models/hypervisor";
import { containerArgsSchema } from "../../provider/models/container";
import { guestArgsSchema } from "../../provider/models/guest";
import { hypervisorRef, answerHostReadsLocally, NO_SSH, sshActivity } from "./plan-fixtures";

answerHostReadsLocally();
// Planning and checks are pure: not one SSH connection or command.
after(() => assert.deepEqual(sshActivity(), NO_SSH));

type Props = Record<string, any>;
const RUNS = 200;

const rank = (a: Action) => ACTION_ORDER.indexOf(a);
function maxAction(plan: Plan): Action {
  return plan.properties.reduce<Action>((m, p) => (rank(p.action) > rank(m) ? p.action : m), "none");
}
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
/** Drops undefined keys, as a user who leaves a property out would. */
function defined(o: Props): Props {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

// ---- generated valid specs -----------------------------------------------------------------------------

/** The MiB a generated size means (a number, "<n>MiB" or "<n>GiB"). */
const sizeOf = (v: number | string): number => (typeof v === "number" ? v : v.endsWith("GiB") ? parseInt(v, 10) * 1024 : parseInt(v, 10));
const mib = (min: number, max: number) =>
  fc.oneof(
    fc.integer({ min, max }),
    fc.integer({ min, max }).map((n) => `${n}MiB`),
    fc.integer({ min: Math.ceil(min / 1024), max: Math.floor(max / 1024) }).map((n) => `${n}GiB`),
  );

const LXC_HOSTS = [hypervisorRef("lxc"), hypervisorRef("lxc", { hostname: "lab2", machineId: "9a8b7c6d5e4f40312233445566778899" })];
const KVM_HOSTS = [hypervisorRef("kvm"), hypervisorRef("kvm", { hostname: "lab2", machineId: "9a8b7c6d5e4f40312233445566778899" })];
const XEN_HOSTS = [hypervisorRef("xen"), hypervisorRef("xen", { hostname: "xen2", machineId: "1a2b3c4d5e6f40718293a4b5c6d7e8f9" })];

const containerSpec: fc.Arbitrary<Props> = fc
  .record({
    name: fc.constantFrom("web", "db", "c-1"),
    template: fc.constantFrom("busybox", "debian:bookworm", "debian:trixie", "/srv/rootfs/alpine.tar.gz"),
    osFamily: fc.constantFrom(undefined, "linux", "freebsd"),
    cpus: opt(fc.integer({ min: 1, max: 8 })),
    cpuQuotaPercent: opt(fc.integer({ min: 1, max: 800 })),
    cpuShares: opt(fc.integer({ min: 2, max: 4096 })),
    memory: mib(16, 65536),
    swap: opt(mib(0, 4096)),
    // mkfs.xfs needs 300 MiB: smaller xfs disks are refused by the model.
    disk: opt(fc.record({ size: mib(64, 1 << 20), fstype: fc.constantFrom("xfs", "btrfs", "ext4") }).map((d) => (d.fstype === "xfs" && sizeOf(d.size) < 300 ? { ...d, fstype: "btrfs" as const } : d))),
    network: opt(fc.record({
      bridge: opt(fc.constantFrom("lxcbr0", "br1")),
      address: opt(fc.constantFrom("10.77.101.20/24", "10.77.101.21/24")),
      gateway: opt(fc.constant("10.77.101.1")),
    }).map(defined)),
    environment: opt(fc.dictionary(fc.constantFrom("MODE", "TZ"), fc.constantFrom("a", "b"))),
    running: fc.boolean(),
    autostart: fc.boolean(),
    allowRestart: fc.boolean(),
    allowDataLoss: fc.boolean(),
    host: fc.constantFrom(0, 1),
  })
  .map(defined);

function guestSpec(form: "full" | "para"): fc.Arbitrary<Props> {
  const boot = form === "full"
    ? fc.oneof(fc.constantFrom({ firmware: "bios" }, { firmware: "uefi" }), fc.constantFrom("/var/lib/libvirt/boot/vmlinuz-a", "/var/lib/libvirt/boot/vmlinuz-b").map((kernel) => ({ kernel })))
    : fc.oneof(fc.constant({ bootloader: "pygrub" }), fc.record({ kernel: fc.constantFrom("/var/lib/xen/boot/vmlinuz-a", "/var/lib/xen/boot/vmlinuz-b"), cmdline: opt(fc.constantFrom("console=hvc0", "console=hvc0 quiet")) }).map(defined));
  const rootDisk = fc.record({
    baseImage: fc.constantFrom("/var/lib/images/debian-12.qcow2", "/var/lib/images/debian-13.qcow2"),
    size: opt(mib(1024, 65536)),
    mode: fc.constantFrom("overlay", "copy"),
  }).map(defined);
  return fc
    .record({
      name: fc.constantFrom("vm1", "vm2"),
      vcpus: fc.integer({ min: 1, max: 16 }),
      maxVcpus: opt(fc.integer({ min: 1, max: 16 })),
      memory: fc.integer({ min: 32, max: 16384 }),
      maxMemory: opt(fc.integer({ min: 32, max: 16384 })),
      boot,
      rootDisk: form === "full" ? rootDisk : opt(rootDisk),
      dataDisks: fc.subarray(["data", "logs"]).chain((names) =>
        fc.tuple(...names.map((name) => fc.record({ name: fc.constant(name), size: mib(1, 1 << 20), bus: fc.constantFrom("virtio", "scsi", "sata") })))),
      network: opt(fc.record({ bridge: opt(fc.constantFrom("virbr0", "br1")), mac: opt(fc.constantFrom("52:54:00:00:00:01", "52:54:00:00:00:02")) }).map(defined)),
      cloudInit: form === "full" ? opt(fc.record({ userData: fc.constantFrom("#cloud-config\n", "#cloud-config\nhostname: a\n") })) : fc.constant(undefined),
      running: fc.boolean(),
      // Xen domains' autostart is not managed (xendomains): only full guests take it.
      autostart: form === "full" ? fc.boolean() : fc.constant(false),
      allowRestart: fc.boolean(),
      allowDataLoss: fc.boolean(),
      host: fc.constantFrom(0, 1),
    })
    .map((g) => {
      // Valid by construction: a ceiling is at least the value it bounds.
      if (g.maxVcpus !== undefined && g.maxVcpus < g.vcpus) g.maxVcpus = g.vcpus;
      if (g.maxMemory !== undefined && g.maxMemory < g.memory) g.maxMemory = g.memory;
      // pygrub reads /boot from a disk: without any disk the model refuses it.
      if ("bootloader" in g.boot && !g.rootDisk && g.dataDisks.length === 0) g.boot = { kernel: "/var/lib/xen/boot/vmlinuz-a" };
      return defined({ ...g, virtualization: form });
    });
}

type Impl = typeof container | typeof guest;
interface Kind {
  label: string;
  impl: Impl;
  pair: fc.Arbitrary<[Props, Props]>;
  inputs: string[];
}
const CONTAINER_INPUTS = [...Object.keys(containerArgsSchema.shape), "hypervisor"];
const GUEST_INPUTS = [...Object.keys(guestArgsSchema.shape), "hypervisor"];

const fullSpec = guestSpec("full");
const paraSpec = guestSpec("para");
const KINDS: Kind[] = [
  { label: "Container", impl: container, pair: fc.tuple(containerSpec, containerSpec), inputs: CONTAINER_INPUTS },
  { label: "Guest full", impl: guest, pair: fc.tuple(fullSpec, fullSpec), inputs: GUEST_INPUTS },
  { label: "Guest para", impl: guest, pair: fc.tuple(paraSpec, paraSpec), inputs: GUEST_INPUTS },
  // The form changes too (and with it the hypervisor).
  { label: "Guest full<->para", impl: guest, pair: fc.oneof(fc.tuple(fullSpec, paraSpec), fc.tuple(paraSpec, fullSpec)), inputs: GUEST_INPUTS },
];

/** The user's spec with its Hypervisor: generated specs carry a host index to keep counterexamples short. */
function placed(spec: Props): Props {
  const { host, ...rest } = spec;
  const hosts: HypervisorRef[] = rest.virtualization === "full" ? KVM_HOSTS : rest.virtualization === "para" ? XEN_HOSTS : LXC_HOSTS;
  return { ...rest, hypervisor: hosts[host as number] };
}

/** Old and new checked inputs, as the engine hands them to diff/update. */
async function checkedPair(impl: Impl, oldSpec: Props, newSpec: Props) {
  const oldRaw = placed(oldSpec);
  const newRaw = placed(newSpec);
  const olds = (await impl.check({}, oldRaw)).inputs;
  assert.ok(olds.plannedAction, "generated old spec passes validation");
  const res = await impl.check(olds, newRaw);
  assert.ok(res.inputs.plannedAction, "generated new spec passes validation");
  // The checked inputs are JSON for the engine; the assertions below read them loosely (a test may: any with a reason).
  return { olds: olds as Props, news: res.inputs as Props, failures: res.failures };
}

for (const kind of KINDS) {
  test(`${kind.label}: planning is total and deterministic, and overall is the strongest property action`, async () => {
    await fc.assert(
      fc.asyncProperty(kind.pair, async ([a, b]) => {
        const { olds, news } = await checkedPair(kind.impl, a, b);
        const plan = kind.impl.planFor(olds, news);
        assert.deepEqual(kind.impl.planFor(structuredClone(olds), structuredClone(news)), plan, "same input, same plan");
        assert.equal(plan.overall, maxAction(plan));
        assert.equal(news.plannedAction, plan.overall);
        for (const p of plan.properties) {
          assert.ok(p.reason.length > 0);
          if (p.action === "live") assert.ok(p.mechanism);
        }
        // Failures name inputs a user can edit.
        for (const f of plan.failures) assert.ok(kind.inputs.includes(f.property), `${f.property} is not an input`);
      }),
      { numRuns: RUNS, includeErrorInReport: true },
    );
  });

  test(`${kind.label}: no change plans nothing`, async () => {
    await fc.assert(
      fc.asyncProperty(kind.pair, async ([a]) => {
        const { olds, news, failures } = await checkedPair(kind.impl, a, a);
        const plan = kind.impl.planFor(olds, news);
        assert.equal(plan.overall, "none");
        assert.deepEqual(plan.properties, []);
        assert.deepEqual(plan.failures, []);
        assert.equal(news.plannedAction, "none");
        assert.ok(!failures.some((f) => /allowRestart|allowDataLoss/.test(f.reason)));
      }),
      { numRuns: RUNS / 2, includeErrorInReport: true },
    );
  });
}

const cheap = (a: Action | undefined) => a === undefined || a === "none" || a === "live";

test("Container: a disk shrink, a template change or an OS change is never live (or none)", async () => {
  await fc.assert(
    fc.asyncProperty(containerSpec, containerSpec, async (a, b) => {
      const { olds, news } = await checkedPair(container, a, b);
      const plan = container.planFor(olds, news);
      const on = (input: string) => plan.properties.filter((p) => container.inputNameOf(p.property) === input);
      const strongestOn = (input: string) => on(input).reduce<Action>((m, p) => (rank(p.action) > rank(m) ? p.action : m), "none");
      if (olds.disk && news.disk && news.disk.size < olds.disk.size) {
        assert.ok(!cheap(strongestOn("disk")), `disk ${olds.disk.size} -> ${news.disk.size}: ${JSON.stringify(on("disk"))}`);
        assert.ok(!cheap(plan.overall));
        if (!news.allowDataLoss) assert.ok(plan.failures.some((f) => f.property === "disk"));
      }
      if (olds.template !== news.template) {
        assert.ok(!cheap(strongestOn("template")), JSON.stringify(on("template")));
        assert.equal(plan.overall, "replace");
      }
      if (olds.osFamily !== news.osFamily) {
        assert.ok(!cheap(strongestOn("osFamily")), JSON.stringify(on("osFamily")));
        assert.equal(plan.overall, "replace");
      }
    }),
    { numRuns: RUNS * 2, includeErrorInReport: true },
  );
});

test("Guest: a disk shrink or a base image change is never live (or none)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.tuple(fullSpec, fullSpec), fc.tuple(paraSpec, paraSpec)), async ([a, b]) => {
      const { olds, news } = await checkedPair(guest, a, b);
      const plan = guest.planFor(olds, news);
      const on = (input: string) => plan.properties.filter((p) => guest.inputNameOf(p.property) === input);
      for (const d of news.dataDisks as { name: string; size: number }[]) {
        const before = (olds.dataDisks as { name: string; size: number }[]).find((x) => x.name === d.name);
        if (before && d.size < before.size) {
          const e = on("dataDisks").find((p) => p.from === before.size && p.to === d.size);
          assert.ok(e && !cheap(e.action), `data disk ${d.name} ${before.size} -> ${d.size}: ${JSON.stringify(on("dataDisks"))}`);
          assert.ok(!cheap(plan.overall));
        }
      }
      const rb = olds.rootDisk?.size;
      const ra = news.rootDisk?.size;
      if (typeof rb === "number" && typeof ra === "number" && ra < rb) {
        const e = on("rootDisk").find((p) => p.from === rb && p.to === ra);
        assert.ok(e && !cheap(e.action), `root disk ${rb} -> ${ra}: ${JSON.stringify(on("rootDisk"))}`);
      }
      if (olds.rootDisk && news.rootDisk && olds.rootDisk.baseImage !== news.rootDisk.baseImage) {
        const e = on("rootDisk").find((p) => p.from === olds.rootDisk.baseImage);
        assert.ok(e && !cheap(e.action), JSON.stringify(on("rootDisk")));
        assert.equal(plan.overall, "replace");
      }
      if (olds.virtualization !== news.virtualization) assert.equal(plan.overall, "replace");
    }),
    { numRuns: RUNS * 2, includeErrorInReport: true },
  );
});

// ---- the planner alone, over arbitrary tables and values --------------------------------------------

const rule: fc.Arbitrary<ChangeRule> = fc.oneof(
  fc.constant<ChangeRule>({ action: "live", mechanism: "m" }),
  fc.constant<ChangeRule>({ action: "restart", reason: "r" }),
  fc.boolean().map<ChangeRule>((destroysData) => ({ action: "replace", reason: "x", destroysData })),
  fc.constant<ChangeRule>({ action: "refuse", reason: "no" }),
);
const KEYS = ["a", "b", "c", "d", "e"];
const table: fc.Arbitrary<CapabilityTable> = fc.dictionary(
  fc.constantFrom(...KEYS),
  fc.record(
    { grow: rule, shrink: rule, change: rule, liveUpTo: fc.constantFrom(...KEYS), beyondLimit: rule },
    { requiredKeys: [] },
  ),
);
const value = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double(),
  fc.constantFrom("x", "y", "", null, undefined, true),
  fc.jsonValue({ maxDepth: 2 }),
);
const view = fc.dictionary(fc.constantFrom(...KEYS, "zz"), value);

test("planChanges: total, deterministic, overall = strongest, failures exactly where permission is missing", () => {
  fc.assert(
    fc.property(view, view, table, fc.boolean(), fc.boolean(), (old, next, caps, allowRestart, allowDataLoss) => {
      const opts = { allowRestart, allowDataLoss };
      const plan = planChanges(old, next, caps, opts);
      assert.deepEqual(planChanges(structuredClone(old), structuredClone(next), caps, opts), plan);
      assert.equal(plan.overall, maxAction(plan));
      const props = new Set(plan.properties.map((p) => p.property));
      assert.equal(props.size, plan.properties.length, "one entry per property");
      for (const f of plan.failures) assert.ok(props.has(f.property) && f.reason.length > 0);
      for (const p of plan.properties) {
        const failed = plan.failures.some((f) => f.property === p.property);
        if (p.action === "restart") assert.equal(failed, !allowRestart, `${p.property}: restart needs allowRestart`);
        if (p.action === "live") assert.equal(failed, false);
        if (p.action === "replace" && p.destroysData) assert.equal(failed, !allowDataLoss, `${p.property}: data loss needs allowDataLoss`);
      }
    }),
    { numRuns: RUNS * 5, includeErrorInReport: true },
  );
});

test("planChanges: no change (in any key order) plans nothing; a new resource plans nothing", () => {
  fc.assert(
    fc.property(view, table, (v, caps) => {
      const shuffled = Object.fromEntries(Object.entries(structuredClone(v)).reverse());
      const plan = planChanges(v, shuffled, caps, { allowRestart: false, allowDataLoss: false });
      assert.equal(plan.overall, "none");
      assert.deepEqual(plan.properties, []);
      assert.deepEqual(plan.failures, []);
      assert.deepEqual(planChanges(undefined, v, caps, { allowRestart: false, allowDataLoss: false }), { overall: "none", properties: [], failures: [] });
    }),
    { numRuns: RUNS * 2, includeErrorInReport: true },
  );
});
