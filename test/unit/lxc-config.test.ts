// Pure parts of the LXC driver: validation, config rendering/merging, cgroup conversions, read parsing.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import * as scripts from "../../provider/drivers/lxc/scripts";
import {
  capabilitiesFor,
  ContainerSpec,
  firstCpus,
  formatCpuList,
  HostFacts,
  limitEntries,
  liveCgroupWrites,
  lxcCapabilities,
  mergeConfig,
  parseCpuList,
  parseReadOutput,
  persistedLimits,
  sharesToWeight,
  toObserved,
  validateSpec,
  weightToShares,
} from "../../provider/drivers/lxc";
import { broadcastOf, MANAGED_BEGIN, MANAGED_END, parseConfig, replaceLimitSettings } from "../../provider/drivers/lxc/config";

const facts1: HostFacts = { lxcPath: "/var/lib/lxc", cgroupVersion: 1, hostCpus: "0-3" };
const facts2: HostFacts = { ...facts1, cgroupVersion: 2 };
const MiB = 1024 * 1024;

const spec = (over: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name: "web",
  template: { kind: "busybox" },
  memoryMiB: 256,
  running: true,
  autostart: false,
  ...over,
});

// What lxc-create -t busybox writes (abridged), with the lab's default.conf keys baked in.
const TEMPLATE_CONFIG = [
  "# Template used to create this container: /usr/share/lxc/templates/lxc-busybox",
  "lxc.net.0.type = veth",
  "lxc.net.0.link = pvbr0",
  "lxc.net.0.flags = up",
  "lxc.cgroup.dir = pvlab-h1",
  "lxc.rootfs.path = loop:/var/lib/lxc/web/rootdev",
  "lxc.signal.halt = SIGUSR1",
  "lxc.uts.name = \"web\"",
  "lxc.cgroup.devices.allow = c 1:3 rwm",
  "lxc.cgroup.memory.limit_in_bytes = 1G",
  "lxc.mount.entry = /lib lib none ro,bind 0 0",
  "",
].join("\n");

test("validateSpec rejects names, paths and values that could escape a command or a config line", () => {
  const bad: Partial<ContainerSpec>[] = [
    { name: "-rf" },
    { name: "a b" },
    { name: "x;reboot" },
    { name: "../etc" },
    { template: { kind: "tarball", path: "relative.tar" } },
    { template: { kind: "tarball", path: "/a/../b.tar" } },
    { template: { kind: "debian", release: "bookworm; rm" } },
    { network: { bridge: "br0", address: "10.0.0.5" } },
    { network: { bridge: "br0\nlxc.x = y" } },
    { network: { bridge: "br0", hwaddr: "zz:00:00:00:00:00" } },
    { environment: { "1X": "a" } },
    { environment: { X: "a\nlxc.rootfs.path = /" } },
    { mounts: [{ hostPath: "/srv data", containerPath: "/data" }] },
    { mounts: [{ hostPath: "/srv", containerPath: "/" }] },
    { disk: { sizeMiB: 200, fstype: "xfs" } },
    { cpus: 0 },
    { memoryMiB: 1.5 },
  ];
  for (const b of bad) assert.throws(() => validateSpec(spec(b)), Error, JSON.stringify(b));
  assert.doesNotThrow(() =>
    validateSpec(spec({
      disk: { sizeMiB: 300, fstype: "xfs" },
      network: { bridge: "pvbr0", address: "10.77.101.20/24", gateway: "10.77.101.1", hwaddr: "52:54:00:aa:bb:cc" },
      environment: { GREETING: "hello world" },
      mounts: [{ hostPath: "/srv/data", containerPath: "/data", readOnly: true }],
    })),
  );
});

test("cpu lists: format(parse(x)) is canonical and firstCpus takes the lowest n", () => {
  assert.deepEqual(parseCpuList("0-2,5,7-8"), [0, 1, 2, 5, 7, 8]);
  assert.equal(formatCpuList([5, 0, 2, 1, 7, 8]), "0-2,5,7-8");
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 64 }), (cpus) => {
      const sorted = [...cpus].sort((a, b) => a - b);
      assert.deepEqual(parseCpuList(formatCpuList(cpus)), sorted);
    }),
  );
  assert.equal(firstCpus("0-3", 2), "0-1");
  assert.equal(firstCpus("2,4-6", 3), "2,4-5");
  assert.throws(() => firstCpus("0-1", 3), /only 2 CPUs/);
});

test("cpu.shares <-> cpu.weight round trip stays close", () => {
  assert.equal(sharesToWeight(1024), 39);
  assert.equal(sharesToWeight(2), 1);
  assert.equal(sharesToWeight(262144), 10000);
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 262144 }), (s) => {
      assert.equal(sharesToWeight(weightToShares(sharesToWeight(s))), sharesToWeight(s));
    }),
  );
});

test("broadcastOf computes the subnet's broadcast address", () => {
  assert.equal(broadcastOf("10.77.101.20/24"), "10.77.101.255");
  assert.equal(broadcastOf("10.0.0.5/8"), "10.255.255.255");
  assert.equal(broadcastOf("192.168.1.130/25"), "192.168.1.255");
  assert.equal(broadcastOf("192.168.1.100/25"), "192.168.1.127");
  assert.equal(broadcastOf("1.2.3.4/32"), "1.2.3.4");
});

test("limitEntries renders v1 and v2 keys", () => {
  const l = { memoryMiB: 256, swapMiB: 64, cpus: 2, cpuQuotaPercent: 150, cpuShares: 512 };
  assert.deepEqual(limitEntries(l, 1, "0-3"), [
    ["lxc.cgroup.memory.limit_in_bytes", `${256 * MiB}`],
    ["lxc.cgroup.memory.memsw.limit_in_bytes", `${320 * MiB}`],
    ["lxc.cgroup.cpuset.cpus", "0-1"],
    ["lxc.cgroup.cpu.cfs_period_us", "100000"],
    ["lxc.cgroup.cpu.cfs_quota_us", "150000"],
    ["lxc.cgroup.cpu.shares", "512"],
  ]);
  assert.deepEqual(limitEntries(l, 2, "0-3"), [
    ["lxc.cgroup2.memory.max", `${256 * MiB}`],
    ["lxc.cgroup2.memory.swap.max", `${64 * MiB}`],
    ["lxc.cgroup2.cpuset.cpus", "0-1"],
    ["lxc.cgroup2.cpu.max", "150000 100000"],
    ["lxc.cgroup2.cpu.weight", `${sharesToWeight(512)}`],
  ]);
});

test("mergeConfig keeps the template's lines, drops owned keys, and is idempotent", () => {
  const s = spec({
    cpus: 1,
    network: { bridge: "pvbr0", address: "10.77.101.20/24", gateway: "10.77.101.1" },
    environment: { B: "2", A: "1" },
    mounts: [{ hostPath: "/srv/data", containerPath: "/data", readOnly: true }],
    autostart: true,
  });
  const once = mergeConfig(TEMPLATE_CONFIG, s, facts1);
  assert.equal(mergeConfig(once, s, facts1), once);
  const kv = parseConfig(once);
  const keys = kv.map(([k]) => k);
  // Template keys survive (including the lab's cgroup dir and device rules).
  for (const k of ["lxc.cgroup.dir", "lxc.rootfs.path", "lxc.signal.halt", "lxc.cgroup.devices.allow"]) assert.ok(keys.includes(k), k);
  // The template's memory line and network are replaced, each key once.
  assert.deepEqual(kv.filter(([k]) => k === "lxc.cgroup.memory.limit_in_bytes"), [["lxc.cgroup.memory.limit_in_bytes", `${256 * MiB}`]]);
  assert.deepEqual(kv.filter(([k]) => k === "lxc.net.0.link"), [["lxc.net.0.link", "pvbr0"]]);
  assert.equal(kv.filter(([k]) => k === "lxc.net.0.type").length, 1);
  assert.deepEqual(kv.filter(([k]) => k === "lxc.environment").map(([, v]) => v), ["A=1", "B=2"]);
  assert.ok(kv.some(([k, v]) => k === "lxc.mount.entry" && v === "/srv/data data none bind,create=dir,ro 0 0"));
  assert.ok(kv.some(([k, v]) => k === "lxc.start.auto" && v === "1"));
  assert.equal(once.split("\n").filter((l) => l === MANAGED_BEGIN).length, 1);
  // Without network in the spec, the host's default network stays.
  const plain = mergeConfig(TEMPLATE_CONFIG, spec(), facts1);
  assert.ok(parseConfig(plain).some(([k, v]) => k === "lxc.net.0.link" && v === "pvbr0"));
  // Switching the cgroup version swaps key sets.
  const v2 = mergeConfig(once, s, facts2);
  assert.ok(!parseConfig(v2).some(([k]) => k.startsWith("lxc.cgroup.memory")));
  assert.ok(parseConfig(v2).some(([k]) => k === "lxc.cgroup2.memory.max"));
});

test("replaceLimitSettings swaps limits inside the managed block and keeps everything else", () => {
  const base = mergeConfig(TEMPLATE_CONFIG, spec({ environment: { A: "1" } }), facts1);
  const next = replaceLimitSettings(base, [["lxc.start.auto", "1"], ...limitEntries({ memoryMiB: 512, cpus: 2 }, 1, "0-3")]);
  const kv = parseConfig(next);
  assert.deepEqual(kv.filter(([k]) => k === "lxc.cgroup.memory.limit_in_bytes").map(([, v]) => v), [`${512 * MiB}`]);
  assert.ok(kv.some(([k, v]) => k === "lxc.environment" && v === "A=1"));
  const lines = next.split("\n");
  assert.ok(lines.indexOf("lxc.cgroup.cpuset.cpus = 0-1") < lines.indexOf(MANAGED_END));
  // A config without a block gets one.
  const fresh = replaceLimitSettings(TEMPLATE_CONFIG, [["lxc.start.auto", "0"]]);
  assert.ok(fresh.includes(MANAGED_BEGIN) && !parseConfig(fresh).some(([k]) => k === "lxc.cgroup.memory.limit_in_bytes"));
});

test("live cgroup writes keep memsw >= memory at every step (v1) and map to v2 files", () => {
  const live = { "memory.limit_in_bytes": `${256 * MiB}`, "memory.memsw.limit_in_bytes": `${320 * MiB}`, "cpuset.cpus": "0" };
  const w = liveCgroupWrites({ memoryMiB: 512 }, live, 1, "0-1");
  assert.deepEqual(w, [
    ["memory.memsw.limit_in_bytes", "-1"],
    ["memory.limit_in_bytes", `${512 * MiB}`],
    ["memory.memsw.limit_in_bytes", `${576 * MiB}`], // swap (64 MiB) kept
  ]);
  assert.deepEqual(liveCgroupWrites({ swapMiB: null, cpus: 2, cpuQuotaPercent: null }, live, 1, "0-1"), [
    ["memory.memsw.limit_in_bytes", "-1"],
    ["memory.limit_in_bytes", `${256 * MiB}`],
    ["cpuset.cpus", "0-1"],
    ["cpu.cfs_period_us", "100000"],
    ["cpu.cfs_quota_us", "-1"],
  ]);
  assert.deepEqual(liveCgroupWrites({ memoryMiB: 128, swapMiB: 0, cpuQuotaPercent: 50, cpuShares: 1024 }, {}, 2, "0-1"), [
    ["memory.max", `${128 * MiB}`],
    ["memory.swap.max", "0"],
    ["cpu.max", "50000 100000"],
    ["cpu.weight", "39"],
  ]);
  assert.throws(() => liveCgroupWrites({ cpus: 4 }, live, 1, "0-1"), /only 2 CPUs/);
  assert.deepEqual(persistedLimits({ memoryMiB: 256, swapMiB: 64, cpus: 1 }, { memoryMiB: 512, swapMiB: null }), { memoryMiB: 512, cpus: 1 });
});

test("read output parses into live values, with config values for stopped containers", () => {
  const cfg = mergeConfig(TEMPLATE_CONFIG, spec({ cpus: 1, swapMiB: 0, network: { bridge: "pvbr0", address: "10.77.101.20/24" } }), facts1);
  const cfgLines = cfg.split("\n").filter(Boolean).map((l) => `cfg\t${l}`);
  const out = [
    "@host\tlxcpath\t/var/lib/lxc",
    "@host\tcgroup\t1",
    "@host\tcpus\t0-1",
    "@ct\tweb",
    "dir\t1",
    "created\t1",
    "exists\t1",
    ...cfgLines,
    "state\tRUNNING",
    "pid\t4242",
    "ip\t10.77.101.20",
    "image\t/var/lib/lxc/web/rootdev",
    "imagebytes\t629145600",
    "loop\t/dev/loop3",
    "cg\tmemory.limit_in_bytes\t536870912",
    "cg\tmemory.memsw.limit_in_bytes\t9223372036854771712",
    "cg\tcpuset.cpus\t0-1",
    "cg\tcpu.cfs_quota_us\t-1",
    "cg\tcpu.cfs_period_us\t100000",
    "cg\tcpu.shares\t1024",
    "fs\t137216 4096 xfs",
    "hwaddr\t9E:54:2C:08:A3:55",
    "@ct\tgone",
    "@ct\tidle",
    "dir\t1",
    "exists\t1",
    ...cfgLines,
    "state\tSTOPPED",
    "image\t/var/lib/lxc/web/rootdev",
    "imagebytes\t314572801",
    "fstype\txfs",
    "",
  ].join("\n");
  const { facts, containers } = parseReadOutput(out);
  assert.deepEqual(facts, { lxcPath: "/var/lib/lxc", cgroupVersion: 1, hostCpus: "0-1" });
  assert.deepEqual(toObserved(containers.get("web")!, facts), {
    name: "web",
    running: true,
    state: "RUNNING",
    initPid: 4242,
    memoryMiB: 512, // live value wins over the config's 256
    cpus: 2,
    cpuShares: 1024,
    diskSizeMiB: 600,
    fsSizeMiB: 536,
    fstype: "xfs",
    loopImage: "/var/lib/lxc/web/rootdev",
    loopDevice: "/dev/loop3",
    autostart: false,
    address: "10.77.101.20/24",
    ips: ["10.77.101.20"], // every address it has (the addresses output)
    hwaddr: "9e:54:2c:08:a3:55",
    bridge: "pvbr0",
    template: "busybox",
  });
  assert.equal(toObserved(containers.get("gone")!, facts), undefined);
  const idle = toObserved(containers.get("idle")!, facts)!;
  assert.equal(idle.running, false);
  assert.equal(idle.memoryMiB, 256);
  assert.equal(idle.swapMiB, 0);
  assert.equal(idle.cpus, 1);
  assert.equal(idle.diskSizeMiB, 300);
  assert.equal(idle.initPid, undefined);
});

test("capability table: limits live, disk grow by filesystem, shrink and template replace", () => {
  for (const k of ["memoryMiB", "swapMiB", "cpus", "cpuQuotaPercent", "cpuShares"] as const) {
    assert.equal(lxcCapabilities[k].grow?.action, "live", k);
    assert.equal(lxcCapabilities[k].shrink?.action, "live", k);
  }
  assert.deepEqual(capabilitiesFor("xfs").diskSizeMiB.grow, { action: "live", mechanism: "online xfs_growfs" });
  assert.deepEqual(capabilitiesFor("btrfs").diskSizeMiB.grow, { action: "live", mechanism: "online btrfs resize" });
  assert.equal(capabilitiesFor("ext4").diskSizeMiB.grow?.action, "restart");
  const shrink = capabilitiesFor("xfs").diskSizeMiB.shrink;
  assert.ok(shrink?.action === "replace" && shrink.destroysData === true);
  assert.equal(lxcCapabilities.template.change?.action, "replace");
  assert.equal(lxcCapabilities.name.change?.action, "restart");
  for (const k of ["network", "environment"] as const) assert.equal(lxcCapabilities[k].change?.action, "restart", k);
  assert.equal(lxcCapabilities.autostart.change?.action, "live");
  assert.equal(lxcCapabilities.running.change?.action, "live");
});

test("every host script parses under the host's /bin/sh (dash)", () => {
  for (const [name, text] of Object.entries(scripts)) {
    const r = spawnSync("sh", ["-n", "-c", text], { encoding: "utf8" });
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
  }
});

test("mergeConfig is idempotent and keeps one managed block for any valid spec", () => {
  const ident = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);
  const arbSpec = fc.record({
    memoryMiB: fc.integer({ min: 16, max: 65536 }),
    swapMiB: fc.option(fc.integer({ min: 0, max: 4096 }), { nil: undefined }),
    cpus: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    cpuQuotaPercent: fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
    cpuShares: fc.option(fc.integer({ min: 2, max: 262144 }), { nil: undefined }),
    autostart: fc.boolean(),
    environment: fc.option(fc.dictionary(ident, fc.stringMatching(/^[ -~]{0,12}$/)), { nil: undefined }),
    withNet: fc.boolean(),
    v: fc.constantFrom(1 as const, 2 as const),
  });
  fc.assert(
    fc.property(arbSpec, ({ withNet, v, ...rest }) => {
      const s = spec({ ...rest, network: withNet ? { bridge: "pvbr0", address: "10.0.0.9/24" } : undefined });
      validateSpec(s);
      const f = v === 1 ? facts1 : facts2;
      const once = mergeConfig(TEMPLATE_CONFIG, s, f);
      assert.equal(mergeConfig(once, s, f), once);
      assert.equal(once.split("\n").filter((l) => l === MANAGED_BEGIN).length, 1);
      const kv = parseConfig(once);
      assert.equal(kv.filter(([k]) => k === "lxc.start.auto").length, 1);
      assert.equal(kv.filter(([k]) => k === "lxc.net.0.link").length, 1);
      assert.equal(kv.filter(([k]) => k === "lxc.environment").length, Object.keys(rest.environment ?? {}).length);
    }),
    { numRuns: 200 },
  );
});
