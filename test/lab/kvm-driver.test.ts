// Driver-level acceptance of the KVM/libvirt guest driver (issue 7) on lab host h1, under TCG.
// Every claim about a change is checked from inside the guest: its /init prints a PVSTAT line
// each second on the serial console, which libvirt logs to consoleLogPath(spec) on the host.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import {
  applyLive,
  consoleLogPath,
  createGuest,
  destroyGuest,
  domainPaths,
  DomainSpec,
  readGuest,
  renameGuest,
  restartWithDefinition,
  shutdownGuest,
  verifyKvm,
} from "../../provider/drivers/kvm";
import type { Remote } from "../../provider/ssh/types";
import { readFileSync } from "node:fs";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import { ensureLab } from "../support/lab";
import { readPvstat, Stat, waitPvstat } from "../support/pvstat";

// h1's guest bridge and subnet (lab.json: bridge pvbr0, 10.77.101.0/24).
const GUEST_IP = "10.77.101.57";
const GW = "10.77.101.1";
const BRIDGE = "pvbr0";
const NAME = "pvt-kvm-accept";
const NAME2 = "pvt-kvm-renamed";
const USER_DATA = "#cloud-config\n# <pulumi-virt & test>\nhostname: pvt-kvm\n";
const STORAGE = "/var/lib/libvirt/images/pulumi-virt";
// Waits are deadlines against hangs, not assertions about speed.
const BOOT_DEADLINE_MS = 120_000;

/** A lab host over the real SSH transport. */
async function labRemote(name: string): Promise<Remote> {
  const lab = await ensureLab();
  const host = lab.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`lab has no host ${name}`);
  return getRemote({ host: host.address, port: host.port, user: host.user, privateKey: readFileSync(host.privateKeyPath, "utf8"), hostKey: host.hostKey });
}

let remote: Remote;
let image: string;
let spec: DomainSpec;
let dataMarker: string;

function baseSpec(img: string): DomainSpec {
  return {
    name: NAME,
    vcpus: 1,
    maxVcpus: 4,
    memoryMiB: 256,
    maxMemoryMiB: 1024,
    emulated: true,
    boot: {
      kind: "kernel",
      kernel: path.join(img, "vmlinuz"),
      initrd: path.join(img, "initrd.img"),
      cmdline: `console=ttyS0 quiet pv.ip=${GUEST_IP}/24 pv.gw=${GW}`,
    },
    rootDisk: { baseImage: path.join(img, "base-a.qcow2"), sizeMiB: 96, mode: "overlay" },
    dataDisks: [{ name: "data", sizeMiB: 32, bus: "virtio" }],
    network: { bridge: BRIDGE },
    cloudInit: { userData: USER_DATA },
    running: true,
    autostart: false,
    shutdownTimeoutSec: 30,
    storageDir: STORAGE,
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, deadlineMs = BOOT_DEADLINE_MS): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: T = await probe();
  while (!ok(last)) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 1000));
    last = await probe();
  }
  return last;
}

/** A PVSTAT line printed after `after` (a later uptime of the same boot, or any line of a new boot). */
const statAfter = (what: string, prev: Stat | undefined, ok: (s: Stat) => boolean) =>
  waitPvstat(remote, consoleLogPath(spec), what, (s) => (!prev || s.boot !== prev.boot || Number(s.uptime) > Number(prev.uptime)) && ok(s), BOOT_DEADLINE_MS);

/** Waits until libvirt reports the balloon at its target, then returns a console line printed after that. */
async function settledMemory(mib: number): Promise<Stat> {
  await waitFor(`balloon at ${mib} MiB`, () => readGuest(remote, NAME), (o) => o.memoryMiB === mib);
  const at = await readPvstat(remote, consoleLogPath(spec));
  return statAfter(`a PVSTAT line after the balloon settled at ${mib} MiB`, at, () => true);
}

after(async () => {
  try {
    if (remote) for (const n of [NAME, NAME2]) await destroyGuest(remote, n, { deleteDataDisks: ["data"], storageDir: STORAGE });
  } finally {
    closeAllRemotes();
  }
});

test("setup: host facts, clean slate, data disk with a marker", async () => {
  remote = await labRemote("h1");
  image = execFileSync("bash", [path.resolve(__dirname, "../../../lab/images/build-guest.sh")], { encoding: "utf8" }).trim();
  spec = baseSpec(image);

  const facts = await verifyKvm(remote);
  assert.ok(facts.domainTypes.includes("qemu"), `libvirt offers TCG: ${JSON.stringify(facts)}`);
  const cpuFlags = (await remote.exec(["grep", "-cwE", "vmx|svm", "/proc/cpuinfo"], { okCodes: [0, 1] })).stdout.trim();
  assert.equal(facts.hardwareVirt === "none", cpuFlags === "0", "hardwareVirt agrees with /proc/cpuinfo");
  const kvmDev = (await remote.exec(["test", "-e", "/dev/kvm"], { okCodes: [0, 1] })).code === 0;
  assert.equal(facts.kvmDevice, kvmDev);
  assert.match(facts.libvirtVersion, /^\d+\.\d+/);
  assert.match(facts.qemuVersion, /^\d+\.\d+/);

  for (const n of [NAME, NAME2]) await destroyGuest(remote, n, { deleteDataDisks: ["data"], storageDir: STORAGE });
  // The data disk exists before create (as if kept from an earlier guest): create must adopt, not recreate it.
  dataMarker = `data-${randomBytes(4).toString("hex")}`;
  const p = domainPaths(spec);
  await remote.script(
    'set -e; mkdir -p "$1"; raw="$2.raw"; rm -f "$raw"; truncate -s 32M "$raw"; printf "PVMARK:%s\\n" "$3" | dd of="$raw" conv=notrunc status=none; qemu-img convert -q -f raw -O qcow2 "$raw" "$2"; rm -f "$raw"',
    [p.dir, p.dataDisks.data, dataMarker],
  );
});

let first: Stat;
let pid0: number | undefined;

test("create: 1 of 4 vCPUs, 256 of 1024 MiB, 96 MiB root; guest sees it all", async (t) => {
  const t0 = Date.now();
  const obs = await createGuest(remote, spec);
  assert.equal(obs.state, "running");
  assert.equal(obs.vcpus, 1);
  assert.equal(obs.maxVcpus, 4);
  assert.equal(obs.maxMemoryMiB, 1024);
  assert.equal(obs.emulated, true);
  assert.equal(obs.bridge, BRIDGE);
  pid0 = obs.qemuPid;
  assert.ok(pid0 && pid0 > 0);
  const booted = await statAfter("first PVSTAT line", undefined, () => true);
  t.diagnostic(`boot to first PVSTAT under TCG: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // Idempotent: a second create changes nothing.
  const again = await createGuest(remote, spec);
  assert.equal(again.qemuPid, pid0);
  assert.equal(again.uuid, obs.uuid);

  first = await settledMemory(256);
  assert.equal(first.boot, booted.boot);
  assert.equal(first.cpus_online, "1");
  assert.equal(first.vda_bytes, String(96 * 1024 * 1024));
  assert.equal(first.vdb_bytes, String(32 * 1024 * 1024));
  assert.equal(first.root_marker, "base-a");
  assert.equal(first.marker, dataMarker, "the pre-existing data disk was attached, not recreated");
  assert.ok(Number(first.memtotal_kb) <= 256 * 1024, `MemTotal ${first.memtotal_kb} kB fits 256 MiB`);
  // The NoCloud seed is attached as a cdrom labelled cidata and carries the user data verbatim.
  const seed = domainPaths(spec).seedIso!;
  assert.ok(obs.disks?.some((d) => d.device === "cdrom" && d.path === seed));
  assert.match((await remote.exec(["isoinfo", "-d", "-i", seed])).stdout, /^Volume id: cidata$/m);
  assert.equal((await remote.exec(["isoinfo", "-R", "-i", seed, "-x", "/user-data"])).stdout, USER_DATA);
  assert.match((await remote.exec(["isoinfo", "-R", "-i", seed, "-x", "/meta-data"])).stdout, /instance-id: pvt-kvm-accept/);
  // The NIC on pvbr0 works: the host reaches the address the guest configured from its cmdline.
  await waitFor("guest answers ping", async () => (await remote.exec(["busybox", "ping", "-c", "1", "-W", "2", GUEST_IP], { okCodes: [0, 1] })).code, (c) => c === 0, 30_000);
});

test("applyLive: 2 vCPUs, 512 MiB, root 128 MiB, data 48 MiB, autostart: same QEMU, same boot, visible inside", async () => {
  await applyLive(remote, NAME, {
    vcpus: 2,
    memoryMiB: 512,
    disks: [
      { target: "vda", sizeMiB: 128 },
      { target: "vdb", sizeMiB: 48 },
    ],
    autostart: true,
  });
  const obs = await readGuest(remote, NAME);
  assert.equal(obs.qemuPid, pid0, "QEMU was not restarted");
  assert.equal(obs.vcpus, 2);
  assert.equal(obs.autostart, true);
  assert.equal(obs.disks?.find((d) => d.target === "vda")?.sizeMiB, 128);

  assert.equal(obs.disks?.find((d) => d.target === "vdb")?.sizeMiB, 48);
  await statAfter(
    "2 CPUs online and both disks grown",
    first,
    (s) => s.cpus_online === "2" && s.vda_bytes === String(128 * 1024 * 1024) && s.vdb_bytes === String(48 * 1024 * 1024),
  );
  const now = await settledMemory(512);
  assert.equal(now.boot, first.boot, "same guest boot");
  assert.ok(Number(now.uptime) > Number(first.uptime), "uptime continued");
  assert.equal(now.cpus_online, "2");
  // The balloon hands pages back to the guest: MemTotal grows by exactly the 256 MiB deflated.
  assert.equal(Number(now.memtotal_kb) - Number(first.memtotal_kb), 256 * 1024);
  assert.equal(now.marker, dataMarker);
  spec = { ...spec, vcpus: 2, memoryMiB: 512, autostart: true, rootDisk: { ...spec.rootDisk, sizeMiB: 128 }, dataDisks: [{ ...spec.dataDisks[0], sizeMiB: 48 }] };
  first = now;
});

test("drift made by hand with virsh setmem shows in readGuest", async () => {
  await remote.exec(["virsh", "-c", "qemu:///system", "setmem", NAME, "384M", "--live"]);
  const obs = await waitFor("readGuest memory 384", () => readGuest(remote, NAME), (o) => o.memoryMiB === 384, 60_000);
  assert.equal(obs.memoryMiB, 384);
  assert.equal(obs.configuredMemoryMiB, 512, "a --live-only change leaves the definition alone");
  assert.equal(obs.qemuPid, pid0);
  // Put it back to the desired size so later steps start from the spec.
  await applyLive(remote, NAME, { memoryMiB: 512 });
  first = await settledMemory(512);
});

test("memory beyond the maximum: restartWithDefinition gives a new QEMU and the guest sees more than the old max", async () => {
  const bigger = { ...spec, memoryMiB: 1280, maxMemoryMiB: 1536 };
  const { stopped, observed } = await restartWithDefinition(remote, bigger);
  assert.equal(stopped, "acpi", "the guest powered off on the ACPI request");
  assert.equal(observed.state, "running");
  assert.notEqual(observed.qemuPid, pid0, "QEMU restarted");
  assert.equal(observed.maxMemoryMiB, 1536);
  spec = bigger;
  const s = await settledMemory(1280);
  assert.notEqual(s.boot, first.boot, "the guest booted again");
  assert.ok(Number(s.memtotal_kb) > 1024 * 1024, `MemTotal ${s.memtotal_kb} kB is above the old 1024 MiB maximum`);
  assert.ok(Number(s.memtotal_kb) <= 1280 * 1024);
  assert.equal(s.cpus_online, "2", "vCPUs kept across the restart");
  assert.equal(s.vda_bytes, String(128 * 1024 * 1024), "grown root disk kept");
  pid0 = observed.qemuPid;
  first = s;
});

test("base image change (replace): new root from base-b, data disk kept with its marker", async () => {
  assert.equal(await destroyGuest(remote, NAME, { deleteDataDisks: [] }), "destroyed");
  const gone = await readGuest(remote, NAME);
  assert.equal(gone.exists, false);
  const p = domainPaths(spec);
  assert.equal((await remote.exec(["test", "-e", p.rootDisk], { okCodes: [0, 1] })).code, 1, "root overlay removed");
  assert.equal((await remote.exec(["test", "-e", p.dataDisks.data], { okCodes: [0, 1] })).code, 0, "data disk kept");

  spec = { ...spec, memoryMiB: 256, maxMemoryMiB: 1024, rootDisk: { ...spec.rootDisk, baseImage: path.join(image, "base-b.qcow2") } };
  // Resumable create: a first pass that stops after define (running: false), then the full create.
  const defined = await createGuest(remote, { ...spec, running: false });
  assert.equal(defined.state, "shutoff");
  assert.equal(defined.qemuPid, undefined);
  const obs = await createGuest(remote, spec);
  assert.equal(obs.state, "running");
  assert.equal(obs.uuid, defined.uuid, "the defined domain was started, not defined again");
  assert.notEqual(obs.qemuPid, pid0);
  const s = await statAfter("the replaced guest's first line", first, (x) => x.boot !== first.boot);
  assert.equal(s.root_marker, "base-b");
  assert.equal(s.marker, dataMarker);
  assert.equal(s.vdb_bytes, String(48 * 1024 * 1024), "the kept data disk keeps its grown size");
  first = s;
});

test("shutdown of a guest deaf to ACPI (pv.noacpi=1) falls back to destroy after the timeout", async () => {
  if (spec.boot.kind !== "kernel") throw new Error("kernel boot expected");
  const deaf: DomainSpec = { ...spec, boot: { ...spec.boot, cmdline: `${spec.boot.cmdline} pv.noacpi=1` } };
  const { stopped } = await restartWithDefinition(remote, deaf);
  assert.equal(stopped, "acpi");
  spec = deaf;
  const s = await statAfter("the deaf guest running", first, (x) => x.boot !== first.boot);
  // Let it run a few seconds so the power button driver is certainly loaded before the request.
  await statAfter("a few seconds of uptime", s, (x) => Number(x.uptime) >= Number(s.uptime) + 3);
  assert.equal(await shutdownGuest(remote, NAME, 8), "destroyed");
  const obs = await readGuest(remote, NAME);
  assert.equal(obs.state, "shutoff");
  assert.equal(await shutdownGuest(remote, NAME, 8), "already-off");
});

test("rename: the stopped guest moves to its new name with its files and boots again", async () => {
  const renamed: DomainSpec = { ...spec, name: NAME2 };
  const { stopped, observed } = await renameGuest(remote, NAME, renamed);
  assert.equal(stopped, "already-off");
  assert.equal((await readGuest(remote, NAME)).exists, false);
  assert.equal(observed.name, NAME2);
  assert.equal(observed.state, "running");
  assert.equal(observed.rootDiskPath, domainPaths(renamed).rootDisk);
  spec = renamed;
  // A new console log under the new name; the guest still has its base-b root and the kept data disk.
  const s = await statAfter("the renamed guest running", undefined, () => true);
  assert.equal(s.root_marker, "base-b");
  assert.equal(s.marker, dataMarker);
});

test("destroy removes the guest and, when asked, its data disk", async () => {
  const p = domainPaths(spec);
  assert.equal(await destroyGuest(remote, spec.name, { deleteDataDisks: ["data"] }), "destroyed");
  assert.equal((await readGuest(remote, spec.name)).exists, false);
  assert.equal((await remote.exec(["test", "-e", p.dir], { okCodes: [0, 1] })).code, 1, "guest directory removed");
  assert.equal(await destroyGuest(remote, spec.name, { deleteDataDisks: ["data"] }), "absent");
});
