// Capacity at preview (issue 25): the pure arithmetic and messages (plan/capacity.ts), the overcommit model,
// and the parsers of the hosts' allocation reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  assessCapacity,
  committedOf,
  demandOf,
  freeOf,
  grownResources,
  HostAllocations,
  limitOf,
  MachineAllocation,
  plannedAllocation,
} from "../../provider/plan/capacity";
import { DEFAULT_OVERCOMMIT, effectiveOvercommit, hypervisorArgsSchema } from "../../provider/models/hypervisor";
import type { ContainerState, GuestState, MachineState } from "../../provider/models/state";
import { cgroupBytes, cpusetCount, parseLxcAllocations } from "../../provider/drivers/lxc/allocations";
import { parseKvmAllocations } from "../../provider/drivers/kvm/allocations";
import { parseXenAllocations } from "../../provider/drivers/xen/allocations";
import { parseStorage } from "../../provider/drivers/host/allocations";
import { answerCapacityReadsWith } from "../../provider/lifecycle/capacity";
import * as containerImpl from "../../provider/resources/impl/container";
import { hypervisorRef } from "./plan-fixtures";

const GiB = 1024;
const host = (machines: MachineAllocation[], memoryMiB = 16 * GiB, cpus = 4): HostAllocations => ({
  capacity: { cpus, memoryMiB },
  storage: { "/var/lib/lxc": { device: "2049", sizeMiB: 100 * GiB } },
  machines,
});
const ct = (name: string, memoryMiB: number, extra: Partial<MachineAllocation> = {}): MachineAllocation => ({
  kind: "lxc", name, managed: true, cpus: 1, memoryMiB, disks: [], ...extra,
});
const container = (name: string, memory: number, extra: Partial<ContainerState> = {}) =>
  ({ name, memory, cpus: 1, hypervisor: { kind: "lxc" }, ...extra }) as unknown as MachineState;

test("default overcommit: memory and disk 1.0 everywhere, cpu 4 for VMs and 16 for containers; given ratios win", () => {
  assert.deepEqual(DEFAULT_OVERCOMMIT.kvm, { cpu: 4, memory: 1, disk: 1 });
  assert.deepEqual(DEFAULT_OVERCOMMIT.xen, { cpu: 4, memory: 1, disk: 1 });
  assert.deepEqual(DEFAULT_OVERCOMMIT.lxc, { cpu: 16, memory: 1, disk: 1 });
  assert.deepEqual(effectiveOvercommit("lxc", { memory: 1.5 }), { cpu: 16, memory: 1.5, disk: 1 });
  const bad = hypervisorArgsSchema.safeParse({ kind: "lxc", overcommit: { memory: 0, swap: 2 } });
  assert.equal(bad.success, false);
  const msgs = JSON.stringify(bad.error?.issues);
  assert.match(msgs, /at least 0\.1/);
  assert.match(msgs, /swap/);
});

test("demand: containers promise their CPU count (else quota), memory and disk; guests their vCPUs, memory and disks", () => {
  assert.deepEqual(demandOf(container("a", 512, { disk: { size: 1024, fstype: "xfs" } })), { cpus: 1, memoryMiB: 512, disksMiB: [1024] });
  assert.deepEqual(demandOf(container("a", 512, { cpus: undefined, cpuQuotaPercent: 150 })), { cpus: 1.5, memoryMiB: 512, disksMiB: [] });
  const guest = { name: "g", vcpus: 2, memory: 2048, rootDisk: { size: 4096 }, dataDisks: [{ name: "d", size: 100 }] } as unknown as GuestState;
  assert.deepEqual(demandOf(guest), { cpus: 2, memoryMiB: 2048, disksMiB: [4096, 100] });
});

test("grown resources: everything on create, only what increases on update (a live memory grow counts)", () => {
  assert.deepEqual(grownResources(undefined, container("a", 256)), ["cpu", "memory"]);
  assert.deepEqual(grownResources(container("a", 256), container("a", 256)), []);
  assert.deepEqual(grownResources(container("a", 256), container("a", 128)), []);
  assert.deepEqual(grownResources(container("a", 256), container("a", 512)), ["memory"]);
  assert.deepEqual(grownResources(container("a", 256), container("a", 256, { cpus: 2 })), ["cpu"]);
});

test("the program's machines replace the host's report of the same machine and add to the rest", () => {
  const h = host([ct("web", 4 * GiB), ct("hand", 2 * GiB, { managed: false }), { ...ct("web", 1 * GiB), kind: "kvm" }]);
  const planned = [plannedAllocation("lxc", container("web", 6 * GiB), "/var/lib/lxc"), plannedAllocation("lxc", container("new", 1 * GiB), "/var/lib/lxc")];
  const c = committedOf([...new Map([...h.machines, ...planned].map((m) => [`${m.kind}/${m.name}`, m])).values()], h, "/var/lib/lxc");
  assert.equal(c.memoryMiB, 6 * GiB + 2 * GiB + 1 * GiB + 1 * GiB);
  const limit = limitOf({ cpus: 4, memoryMiB: 16 * GiB, diskMiB: 100 * GiB }, DEFAULT_OVERCOMMIT.lxc);
  assert.deepEqual(limit, { cpus: 64, memoryMiB: 16 * GiB, diskMiB: 100 * GiB });
  assert.equal(freeOf(limit, c).memoryMiB, 16 * GiB - 10 * GiB);
});

test("over the limit: an error naming the host, the resource, the numbers and the biggest consumers", () => {
  const h = host([ct("big", 10 * GiB), ct("hand", 3 * GiB, { managed: false })]);
  const findings = assessCapacity({
    hostname: "pv-h1", host: h, overcommit: DEFAULT_OVERCOMMIT.lxc, storageDir: "/var/lib/lxc", grown: ["memory"],
    planned: [plannedAllocation("lxc", container("more", 4 * GiB), "/var/lib/lxc")],
  });
  assert.equal(findings.length, 1);
  const [f] = findings;
  assert.equal(f.severity, "error");
  assert.equal(f.resource, "memory");
  assert.match(f.message, /host "pv-h1" cannot hold this: memory 17 GiB \(17408 MiB\) committed/);
  assert.match(f.message, /13 GiB \(13312 MiB\) by other machines on the host \+ 4 GiB \(4096 MiB\) by this program's machines/);
  assert.match(f.message, /limit of 16 GiB \(16384 MiB\) \(capacity 16 GiB \(16384 MiB\) × overcommit\.memory 1\)/);
  assert.match(f.message, /biggest consumers: container "big" \(lxc, 10 GiB \(10240 MiB\), pulumi-virt\), container "more" \(lxc, 4 GiB \(4096 MiB\), this program\), container "hand" \(lxc, 3 GiB \(3072 MiB\), not managed by pulumi-virt\)/);
  assert.match(f.message, /raise overcommit\.memory on the Hypervisor/);
});

test("near the limit (over 90%): a warning; well under it: nothing; only grown resources are judged", () => {
  const h = host([ct("big", 14 * GiB)]);
  const ask = (memory: number, grown: ("cpu" | "memory" | "disk")[]) =>
    assessCapacity({ hostname: "h", host: h, overcommit: DEFAULT_OVERCOMMIT.lxc, storageDir: "/var/lib/lxc", grown, planned: [plannedAllocation("lxc", container("x", memory), "/var/lib/lxc")] });
  assert.deepEqual(ask(1 * GiB, ["memory"]).map((f) => f.severity), ["warning"]);
  assert.match(ask(1 * GiB, ["memory"])[0].message, /near its memory limit/);
  assert.deepEqual(ask(4 * GiB, ["cpu"]), [], "memory is over, but the change grows only CPU");
  const roomy = host([ct("small", 1 * GiB)]);
  assert.deepEqual(assessCapacity({ hostname: "h", host: roomy, overcommit: DEFAULT_OVERCOMMIT.lxc, storageDir: "/var/lib/lxc", grown: ["memory", "cpu"], planned: [] }), []);
});

test("overcommit raises the limit; CPU counts against cores × ratio", () => {
  const h = host([ct("a", 1, { cpus: 30 })]);
  const q = (cpu: number) => assessCapacity({ hostname: "h", host: h, overcommit: { cpu, memory: 1, disk: 1 }, storageDir: "/var/lib/lxc", grown: ["cpu"], planned: [plannedAllocation("lxc", container("b", 16, { cpus: 4 }), "/var/lib/lxc")] });
  assert.equal(q(8)[0].severity, "error");
  assert.match(q(8)[0].message, /CPUs 34 CPUs committed .* limit of 32 CPUs \(capacity 4 CPUs × overcommit\.cpu 8\)/);
  assert.deepEqual(q(16), []);
});

test("disk counts only disks on the storage directory's filesystem; a planned disk lands on it", () => {
  const h = host([ct("a", 16, { disks: [{ sizeMiB: 90 * GiB, device: "2049" }] }), ct("b", 16, { disks: [{ sizeMiB: 500 * GiB, device: "9999" }] })]);
  const f = assessCapacity({ hostname: "h", host: h, overcommit: DEFAULT_OVERCOMMIT.lxc, storageDir: "/var/lib/lxc", grown: ["disk"], planned: [plannedAllocation("lxc", container("c", 16, { disk: { size: 20 * GiB, fstype: "xfs" } }), "/var/lib/lxc")] });
  assert.equal(f[0].severity, "error");
  assert.match(f[0].message, /disk 110 GiB .*\(capacity 100 GiB \(102400 MiB\) of the filesystem of \/var\/lib\/lxc/);
  assert.doesNotMatch(f[0].message, /"b"/);
});

test("lxc allocation parsing: config limits (v1, v2, suffixes, unlimited), cpuset or quota, register, loop image", () => {
  assert.equal(cgroupBytes("512M"), 512 * 1024 * 1024);
  assert.equal(cgroupBytes("1G"), 1024 ** 3);
  assert.equal(cgroupBytes("max"), undefined);
  assert.equal(cgroupBytes("9223372036854771712"), undefined);
  assert.equal(cpusetCount("0-3,6"), 5);
  assert.equal(cpusetCount("garbage"), 0);
  const out = [
    "@ct\tweb", "managed\t1", "cfg\tlxc.cgroup.memory.limit_in_bytes = 268435456", "cfg\tlxc.cgroup.cpuset.cpus = 0-1",
    "disk\t314572800\t2049",
    "@ct\thand", "cfg\tlxc.cgroup2.memory.max = 1G", "cfg\tlxc.cgroup2.cpu.max = 50000 100000",
    "@ct\tfree", "",
  ].join("\n");
  assert.deepEqual(parseLxcAllocations(out), [
    { kind: "lxc", name: "web", managed: true, cpus: 2, memoryMiB: 256, disks: [{ sizeMiB: 300, device: "2049" }] },
    { kind: "lxc", name: "hand", managed: false, cpus: 0.5, memoryMiB: 1024, disks: [] },
    { kind: "lxc", name: "free", managed: false, cpus: 0, memoryMiB: 0, disks: [] },
  ]);
});

test("kvm and xen allocation parsing; a dom0 reports the machine's capacity", () => {
  const kvm = ["@dom\tdb", "managed\t1", "info\tCPU(s)\t2", "info\tUsed memory\t524288 KiB", "disk\t1073741824\t2049", "@dom\tother", "info\tCPU(s)\t1", "info\tUsed memory\t131072 KiB"].join("\n");
  assert.deepEqual(parseKvmAllocations(kvm), [
    { kind: "kvm", name: "db", managed: true, cpus: 2, memoryMiB: 512, disks: [{ sizeMiB: 1024, device: "2049" }] },
    { kind: "kvm", name: "other", managed: false, cpus: 1, memoryMiB: 128, disks: [] },
  ]);
  const xen = [
    "host\tnr_cpus\t2", "host\ttotal_memory\t1535",
    "@dom\tDomain-0\tx", "info\tmem\t512", "info\tvcpus\t2", "@dom\tpv1", "info\tmem\t128", "info\tvcpus\t1",
    "@cfg\tpv1", "managed\t1", "info\tmemory\t128", "info\tvcpus\t1", "disk\t104857600\t66",
    "@cfg\tstopped", "managed\t1", "info\tmemory\t256", "info\tvcpus\t2",
  ].join("\n");
  const x = parseXenAllocations(xen);
  assert.deepEqual(x.capacity, { cpus: 2, memoryMiB: 1535 });
  assert.deepEqual(x.machines.map((m) => [m.name, m.managed, m.cpus, m.memoryMiB, m.disks.length]), [
    ["Domain-0", false, 2, 512, 0], ["pv1", true, 1, 128, 1], ["stopped", true, 2, 256, 0],
  ]);
  assert.deepEqual(parseStorage("/var/lib/lxc\t2049\t107374182400\n"), { "/var/lib/lxc": { device: "2049", sizeMiB: 102400 } });
});

test("the lifecycle's check: the program's machines add up per host across checks; unchanged machines read nothing", async () => {
  const reads: string[] = [];
  const GiBs = (n: number) => n * 1024;
  answerCapacityReadsWith(async (hostKey) => {
    reads.push(hostKey);
    return { capacity: { cpus: 2, memoryMiB: GiBs(4) }, storage: {}, machines: [ct("hand", GiBs(1), { managed: false })] };
  });
  try {
    const hv = hypervisorRef("lxc", { hostname: "cap-host", machineId: "cafe0000000000000000000000000001" });
    const c1 = { name: "c1", memory: "2GiB", hypervisor: hv };
    const first = await containerImpl.check({}, c1);
    assert.deepEqual(first.failures, [], "2 GiB + 1 GiB by hand fit in 4 GiB");
    // Unchanged: no read (a no-op preview sends no command), and it still counts for the next check.
    const unchanged = await containerImpl.check(first.inputs, first.inputs);
    assert.deepEqual(unchanged.failures, []);
    assert.equal(reads.length, 1);
    const second = await containerImpl.check({}, { name: "c2", memory: "2GiB", hypervisor: hv });
    assert.equal(second.failures.length, 1, "1 + 2 + 2 GiB do not fit in 4 GiB");
    assert.equal(second.failures[0].property, "memory");
    assert.match(second.failures[0].reason, /host "cap-host" cannot hold this: memory 5 GiB/);
    assert.match(second.failures[0].reason, /container "c1" \(lxc, 2 GiB \(2048 MiB\), this program\)/);
    assert.equal(reads.length, 2, "one read per grown machine's check (the driver caches it per run)");
    // A live grow counts too.
    const grow = await containerImpl.check(first.inputs, { ...c1, memory: "3.5GiB" });
    assert.match(grow.failures.map((f) => f.reason).join("\n"), /cannot hold this: memory/);
  } finally {
    answerCapacityReadsWith(undefined);
  }
});
