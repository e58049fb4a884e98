// Validation once: what check accepts, the driver accepts. Model-valid inputs (generated, including the corner
// cases drivers used to refuse later: names starting with a digit, "Domain-0", small xfs disks, multicast MACs)
// pass check with no failure, and every backend's spec validation (run by check) refuses none of them.
// Inputs the models refuse are refused at check, naming the property, before any SSH command.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as container from "../../provider/resources/impl/container";
import * as guest from "../../provider/resources/impl/guest";
import { containerArgsSchema } from "../../provider/models/container";
import { guestArgsSchema } from "../../provider/models/guest";
import { backendFor } from "../../provider/drivers/registry";
import type { ContainerState, GuestState } from "../../provider/models/state";
import { hypervisorRef, NO_SSH, sshActivity } from "./plan-fixtures";

after(() => assert.deepEqual(sshActivity(), NO_SSH, "validation sends no SSH command"));

const name = fc.oneof(fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9-]{0,20}$/), fc.constantFrom("1web", "Domain-0", "9", "a-"));
const mac = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 }).map((b) => b.map((x) => x.toString(16).padStart(2, "0")).join(":"));
const bridge = fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/);
const path = fc.stringMatching(/^\/[a-z0-9._-]{1,12}(\/[a-z0-9._-]{1,12}){0,2}$/);
const text = fc.stringMatching(/^[a-zA-Z0-9 =,./_:-]{0,40}$/);
const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));

const containerRaw = fc.record(
  {
    name,
    template: fc.constantFrom("busybox", "debian:bookworm", "/srv/rootfs.tar.gz"),
    memory: fc.integer({ min: 16, max: 65536 }),
    swap: fc.integer({ min: 0, max: 4096 }),
    cpus: fc.integer({ min: 1, max: 8 }),
    cpuQuotaPercent: fc.integer({ min: 1, max: 800 }),
    cpuShares: fc.integer({ min: 2, max: 262144 }),
    disk: fc.record({ size: fc.integer({ min: 64, max: 4096 }), fstype: fc.constantFrom("xfs", "btrfs", "ext4") }),
    network: fc.record({ bridge, address: fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`), gateway: ipv4, hwaddr: mac }, { requiredKeys: [] }),
    environment: fc.dictionary(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/), text, { maxKeys: 3 }),
    running: fc.boolean(),
    autostart: fc.boolean(),
    stopTimeoutSec: fc.integer({ min: 0, max: 3600 }),
    gracefulDestroy: fc.boolean(),
  },
  { requiredKeys: ["name", "memory"] },
);

const guestRaw = (form: "full" | "para") =>
  fc.record(
    {
      name,
      virtualization: fc.constant(form),
      vcpus: fc.integer({ min: 1, max: 8 }),
      maxVcpus: fc.integer({ min: 1, max: 16 }),
      memory: fc.integer({ min: 32, max: 8192 }),
      maxMemory: fc.integer({ min: 32, max: 16384 }),
      boot: form === "full"
        ? fc.oneof(fc.record({ kernel: path, initrd: path, cmdline: text }, { requiredKeys: ["kernel"] }), fc.record({ firmware: fc.constantFrom("bios", "uefi") }))
        : fc.oneof(fc.record({ kernel: path, initrd: path, cmdline: text }, { requiredKeys: ["kernel"] }), fc.constant({ bootloader: "pygrub" })),
      rootDisk: fc.record({ baseImage: path, size: fc.integer({ min: 16, max: 65536 }), mode: fc.constantFrom("overlay", "copy") }, { requiredKeys: ["baseImage"] }),
      dataDisks: fc.uniqueArray(
        fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), size: fc.integer({ min: 1, max: 4096 }), bus: fc.constantFrom("virtio", "scsi", "sata"), deleteOnDestroy: fc.boolean() }, { requiredKeys: ["name", "size"] }),
        { maxLength: 4, selector: (d) => d.name },
      ),
      network: fc.record({ bridge, mac }, { requiredKeys: [] }),
      running: fc.boolean(),
      shutdownTimeoutSec: fc.integer({ min: 0, max: 3600 }),
      ...(form === "full" ? { cloudInit: fc.record({ userData: text }), autostart: fc.boolean() } : {}),
    },
    { requiredKeys: form === "full" ? ["name", "virtualization", "vcpus", "memory", "boot", "rootDisk"] : ["name", "virtualization", "vcpus", "memory", "boot"] },
  );

test("Container on lxc: every model-valid input passes check and the LXC driver's spec validation", async () => {
  const driver = backendFor("lxc").container!;
  await fc.assert(
    fc.asyncProperty(containerRaw, async (raw) => {
      fc.pre(containerArgsSchema.safeParse(raw).success);
      const res = await container.check({}, { ...raw, hypervisor: hypervisorRef("lxc") });
      assert.deepEqual(res.failures, [], JSON.stringify(raw));
      assert.deepEqual(driver.specProblems(res.inputs as unknown as ContainerState), []);
    }),
    { numRuns: 300 },
  );
});

for (const [form, kind] of [["full", "kvm"], ["para", "xen"]] as const) {
  test(`${form} Guest on ${kind}: every model-valid input passes check and the ${kind} driver's spec validation`, async () => {
    const driver = backendFor(kind).guest!;
    await fc.assert(
      fc.asyncProperty(guestRaw(form), async (raw) => {
        fc.pre(guestArgsSchema.safeParse(raw).success);
        const res = await guest.check({}, { ...raw, hypervisor: hypervisorRef(kind) });
        assert.deepEqual(res.failures, [], JSON.stringify(raw));
        assert.deepEqual(driver.specProblems(res.inputs as unknown as GuestState), []);
      }),
      { numRuns: 300 },
    );
  });
}

const PARA = { virtualization: "para", vcpus: 1, memory: "128MiB", boot: { kernel: "/srv/vmlinuz" } };

test("what drivers refused after preview is refused at check, naming the property", async () => {
  const xen = hypervisorRef("xen");
  for (const n of ["1web", "Domain-0"]) {
    const res = await guest.check({}, { ...PARA, name: n, hypervisor: xen });
    assert.deepEqual(res.failures.map((f) => f.property), ["name"], n);
  }
  // The same names are fine for a full-virtualization guest (libvirt takes them).
  const full = await guest.check({}, { name: "1web", virtualization: "full", vcpus: 1, memory: "128MiB", boot: { firmware: "bios" }, rootDisk: { baseImage: "/srv/b.qcow2" }, hypervisor: hypervisorRef("kvm") });
  assert.deepEqual(full.failures, []);
  const small = await container.check({}, { name: "web", memory: "128MiB", disk: { size: "100MiB", fstype: "xfs" }, hypervisor: hypervisorRef("lxc") });
  assert.deepEqual(small.failures.map((f) => f.property), ["disk.size"]);
  assert.match(small.failures[0].reason, /xfs disk needs at least 300 MiB/);
  const multicast = await guest.check({}, { ...PARA, name: "pv", network: { mac: "01:00:5e:00:00:01" }, hypervisor: xen });
  assert.deepEqual(multicast.failures.map((f) => f.property), ["network.mac"]);
  const pygrub = await guest.check({}, { ...PARA, name: "pv", boot: { bootloader: "pygrub" }, hypervisor: xen });
  assert.deepEqual(pygrub.failures.map((f) => f.property), ["boot"]);
});

test("check reports every problem at once, domain rules first: a para Guest with cloudInit on a kvm Hypervisor", async () => {
  const res = await guest.check({}, { ...PARA, name: "pv", cloudInit: { userData: "#cloud-config\n" }, hypervisor: hypervisorRef("kvm") });
  assert.deepEqual(res.failures.map((f) => f.property), ["virtualization", "cloudInit"]);
  assert.match(res.failures[0].reason, /paravirtualized guest runs only on the hypervisor its OS was modified for/);
});
