// Driver-level acceptance of issue 6 on a real lab host (h1) over the real SSH transport:
// live limits and disk grow without restart, enforcement, drift, restart, rename, batch read,
// resumable create and destroy. Every assertion is checked on the host itself (onHost), not only
// through the driver.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import {
  applyLive,
  ContainerSpec,
  createContainer,
  destroyContainer,
  readContainer,
  readContainers,
  readAllContainers,
  renameContainer,
  restartContainer,
  startContainer,
  stopContainer,
  verifyLxc,
} from "../../provider/drivers/lxc";
import { CREATE_SCRIPT } from "../../provider/drivers/lxc/scripts";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import { ExecOptions, ExecResult, Remote } from "../../provider/ssh/types";
import { ensureLab, LabHost, loadLab } from "../support/lab";

const MiB = 1024 * 1024;
const PREFIX = "pvt-lxc-";

/** Counts round trips, and can fail after the n-th call has run (a connection lost mid-create). */
class CountingRemote implements Remote {
  calls = 0;
  failAfterCall?: number;
  constructor(private readonly inner: Remote) {}
  get label() {
    return this.inner.label;
  }
  private async count<T>(p: () => Promise<T>): Promise<T> {
    const n = ++this.calls;
    const v = await p();
    if (this.failAfterCall === n) throw new Error(`injected: connection lost after call ${n}`);
    return v;
  }
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.count(() => this.inner.exec(argv, opts));
  }
  script(script: string, args?: string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.count(() => this.inner.script(script, args, opts));
  }
  upload(path: string, content: string | Buffer, opts?: { mode?: number }): Promise<void> {
    return this.count(() => this.inner.upload(path, content, opts));
  }
}

let host: LabHost;
let remote: CountingRemote;

/** Runs argv in the lab host's namespaces, bypassing the driver and SSH (stdin closed: no EPIPE races). */
function onHost(h: LabHost, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", ["--target", String(h.monitorPid), "--net", "--mount", "--uts", "--", ...argv], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
}
async function onHostOk(h: LabHost, argv: string[]): Promise<string> {
  const r = await onHost(h, argv);
  if (r.code !== 0) throw new Error(`on ${h.name}: ${argv.join(" ")} exited ${r.code}: ${r.stderr.slice(-500)}`);
  return r.stdout;
}

async function sh(argv: string[]): Promise<string> {
  return (await onHostOk(host, argv)).trim();
}
const cg = (name: string, key: string) => sh(["lxc-cgroup", "-n", name, key]);
async function loopsBacking(image: string): Promise<string> {
  return (await onHost(host, ["losetup", "-j", image])).stdout.trim();
}
async function cleanup(names: string[]) {
  for (const n of names) await destroyContainer(remote, n);
}

const NAMES = ["acc", "res", "batch1", "batch2", "batch3", "ren", "ren2", "bt", "foreign", "half", "gone", "src", "tar", "mnt"].map((s) => PREFIX + s);

before(async () => {
  const lab = await ensureLab();
  host = lab.hosts.find((h) => h.name === "h1")!;
  remote = new CountingRemote(
    getRemote({ host: host.address, port: host.port, user: host.user, privateKey: readFileSync(host.privateKeyPath, "utf8"), hostKey: host.hostKey }),
  );
  const info = await verifyLxc(remote);
  assert.ok(info.bridges.includes(host.bridge), `bridge ${host.bridge} on ${host.name}`);
  await cleanup(NAMES); // leftovers of an aborted earlier run
});

after(async () => {
  try {
    await cleanup(NAMES);
  } finally {
    closeAllRemotes();
  }
});

const accSpec = (): ContainerSpec => ({
  name: PREFIX + "acc",
  template: { kind: "busybox" },
  cpus: 1,
  memoryMiB: 256,
  swapMiB: 0,
  disk: { sizeMiB: 300, fstype: "xfs" },
  network: { bridge: host.bridge, address: host.guestSubnet.replace(/\.0\/24$/, ".231/24"), gateway: host.bridgeAddress },
  environment: { GREETING: "hello" },
  running: true,
  autostart: false,
});

test("create 1 CPU / 256 MiB / 300 MiB xfs, then live 2 CPUs / 512 MiB / 600 MiB without restart, enforced", async () => {
  const spec = accSpec();
  const name = spec.name;
  remote.calls = 0;
  const created = await createContainer(remote, spec);
  assert.equal(remote.calls, 2, "create: create+read, configure+start+read");
  assert.equal(created.running, true);
  assert.equal(created.memoryMiB, 256);
  assert.equal(created.cpus, 1);
  assert.equal(created.diskSizeMiB, 300);
  assert.equal(created.fstype, "xfs");
  assert.equal(created.address, spec.network!.address);
  const pid = created.initPid!;
  assert.ok(pid > 1);
  assert.equal(await cg(name, "memory.limit_in_bytes"), `${256 * MiB}`);
  assert.equal(await cg(name, "cpuset.cpus"), "0");
  const dfBefore = Number((await sh(["lxc-attach", "-n", name, "--", "df", "-m", "/"])).split("\n")[1].trim().split(/\s+/)[1]);
  assert.equal(dfBefore, created.fsSizeMiB);

  remote.calls = 0;
  const returned = await applyLive(remote, name, { cpus: 2, memoryMiB: 512, diskSizeMiB: 600 });
  assert.equal(remote.calls, 2, "applyLive: read, apply+read");

  const after = (await readContainer(remote, name))!;
  assert.deepEqual(returned, after, "applyLive returns the state after the change");
  assert.equal(after.initPid, pid, "init PID unchanged: no restart");
  assert.equal(after.memoryMiB, 512);
  assert.equal(after.cpus, 2);
  assert.equal(after.diskSizeMiB, 600);
  // The host's own view of the cgroup and of the filesystem inside.
  assert.equal(await cg(name, "memory.limit_in_bytes"), `${512 * MiB}`);
  assert.equal(await cg(name, "memory.memsw.limit_in_bytes"), `${512 * MiB}`, "swapMiB 0 kept: memsw = memory");
  assert.equal(await cg(name, "cpuset.cpus"), "0-1");
  // The same, straight from the cgroup file of the container's init.
  const memPath = (await sh(["cat", `/proc/${pid}/cgroup`])).split("\n").find((l) => l.split(":")[1] === "memory")!.split(":")[2];
  assert.equal(await sh(["cat", `/sys/fs/cgroup/memory${memPath}/memory.limit_in_bytes`]), `${512 * MiB}`);
  const dfAfter = Number((await sh(["lxc-attach", "-n", name, "--", "df", "-m", "/"])).split("\n")[1].trim().split(/\s+/)[1]);
  assert.ok(dfAfter > dfBefore && dfAfter > 512, `df inside: ${dfBefore} -> ${dfAfter} MiB`);
  assert.equal(dfAfter, after.fsSizeMiB);
  assert.equal(await loopsBacking(after.loopImage!).then((s) => s.split("\n").length), 1, "no extra loop device left by the grow");

  // Enforcement: dd holds a bs-sized buffer; within the limit it works, beyond it the OOM killer ends it.
  const fits = await onHost(host, ["lxc-attach", "-n", name, "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"]);
  assert.equal(fits.code, 0, fits.stderr);
  const beyond = await onHost(host, ["lxc-attach", "-n", name, "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=700M", "count=1"]);
  assert.equal(beyond.code, 137, `allocation beyond 512 MiB must be OOM-killed: ${beyond.stderr}`);
  assert.equal((await readContainer(remote, name))!.initPid, pid, "only the allocating process was killed");

  // Persisted: the config holds the new limits, so a restart keeps them.
  const cfg = await sh(["cat", `/var/lib/lxc/${name}/config`]);
  assert.match(cfg, new RegExp(`^lxc.cgroup.memory.limit_in_bytes = ${512 * MiB}$`, "m"));
  assert.match(cfg, /^lxc.cgroup.cpuset.cpus = 0-1$/m);
  // The static address is up: the container reaches the host's bridge address.
  const ping = await onHost(host, ["lxc-attach", "-n", name, "--", "ping", "-c", "1", "-W", "3", host.bridgeAddress]);
  assert.equal(ping.code, 0, `ping: ${ping.stdout}${ping.stderr}`);
});

test("manual drift on the host shows in readContainer", async () => {
  const name = PREFIX + "acc";
  await sh(["lxc-cgroup", "-n", name, "memory.limit_in_bytes", `${300 * MiB}`]);
  await sh(["lxc-cgroup", "-n", name, "cpu.shares", "512"]);
  await sh(["lxc-cgroup", "-n", name, "cpu.cfs_quota_us", "50000"]);
  remote.calls = 0;
  const o = (await readContainer(remote, name))!;
  assert.equal(remote.calls, 1, "one round trip per read");
  assert.equal(o.memoryMiB, 300);
  assert.equal(o.cpuShares, 512);
  assert.equal(o.cpuQuotaPercent, 50);
  // Putting it back is a live change again.
  await applyLive(remote, name, { memoryMiB: 512, cpuShares: 1024, cpuQuotaPercent: null });
  const back = (await readContainer(remote, name))!;
  assert.equal(back.memoryMiB, 512);
  assert.equal(back.cpuShares, 1024);
  assert.equal(back.cpuQuotaPercent, undefined);
  // autostart is config only: no restart; it is in the config file that lxc-autostart reads at boot
  // (lxc-ls shows the running container's in-memory value until its next start).
  await applyLive(remote, name, { autostart: true });
  const auto = (await readContainer(remote, name))!;
  assert.equal(auto.autostart, true);
  assert.equal(auto.initPid, back.initPid);
  assert.match(await sh(["cat", `/var/lib/lxc/${name}/config`]), /^lxc\.start\.auto = 1$/m);
});

test("restart rewrites the config (environment), keeps the limits, and gets a new init", async () => {
  const spec = { ...accSpec(), cpus: 2, memoryMiB: 512, disk: { sizeMiB: 600, fstype: "xfs" as const }, environment: { GREETING: "bonjour" } };
  const before = (await readContainer(remote, spec.name))!;
  const stop = await restartContainer(remote, spec, { stopTimeoutSec: 2 });
  assert.ok(stop === "graceful" || stop === "killed", stop);
  const o = (await readContainer(remote, spec.name))!;
  assert.equal(o.running, true);
  assert.notEqual(o.initPid, before.initPid);
  assert.equal(await cg(spec.name, "memory.limit_in_bytes"), `${512 * MiB}`);
  assert.equal(await cg(spec.name, "cpuset.cpus"), "0-1");
  const environ = await sh(["lxc-attach", "-n", spec.name, "--", "cat", "/proc/1/environ"]);
  assert.ok(environ.split("\0").includes("GREETING=bonjour"), environ);
  assert.equal(o.diskSizeMiB, 600);
});

test("batch read of several containers is one round trip", async () => {
  const names = ["batch1", "batch2", "batch3"].map((s) => PREFIX + s);
  for (const [i, name] of names.entries()) {
    await createContainer(remote, { name, template: { kind: "busybox" }, memoryMiB: 64 + i * 16, running: i !== 2, autostart: i === 0 });
  }
  remote.calls = 0;
  const m = await readContainers(remote, [...names, PREFIX + "acc", PREFIX + "absent"]);
  assert.equal(remote.calls, 1);
  assert.equal(m.size, 5);
  assert.equal(m.get(PREFIX + "absent"), undefined);
  for (const [i, name] of names.entries()) {
    const o = m.get(name)!;
    assert.equal(o.memoryMiB, 64 + i * 16, name);
    assert.equal(o.running, i !== 2, name);
    assert.equal(o.autostart, i === 0, name);
    assert.equal(o.template, "busybox");
  }
  assert.equal(m.get(PREFIX + "acc")!.cpus, 2);
  // Live state, not config: the running ones carry their init PID.
  for (const name of names.slice(0, 2)) assert.equal(String(m.get(name)!.initPid), await sh(["lxc-info", "-n", name, "-pH"]));
  // A refresh snapshot: the asked names plus every container of the host, still one round trip.
  remote.calls = 0;
  const all = await readAllContainers(remote, [PREFIX + "absent"]);
  assert.equal(remote.calls, 1);
  assert.ok(all.has(PREFIX + "absent") && all.get(PREFIX + "absent") === undefined);
  const listed = (await sh(["sh", "-c", 'for c in /var/lib/lxc/*/config; do [ -f "$c" ] && basename "${c%/config}"; done'])).split("\n").filter(Boolean);
  for (const n of listed) assert.ok(all.get(n), `${n} is in the snapshot`);
  for (const [i, name] of names.entries()) assert.equal(all.get(name)!.memoryMiB, 64 + i * 16, name);
});

test("create resumes after an interruption at every step, without duplicates", async () => {
  const base = (name: string): ContainerSpec => ({ name, template: { kind: "busybox" }, memoryMiB: 128, disk: { sizeMiB: 300, fstype: "xfs" }, running: true, autostart: false });
  // Cut the connection after each call of create in turn; a plain retry must always complete.
  for (let k = 1; ; k++) {
    const name = PREFIX + "res";
    remote.failAfterCall = k;
    remote.calls = 0;
    let interrupted = false;
    try {
      await createContainer(remote, base(name));
    } catch (e) {
      interrupted = /injected/.test(String(e));
      if (!interrupted) throw e;
    } finally {
      remote.failAfterCall = undefined;
    }
    const o = await createContainer(remote, base(name));
    assert.equal(o.running, true, `after interruption at call ${k}`);
    assert.equal(o.memoryMiB, 128);
    assert.equal(await cg(name, "memory.limit_in_bytes"), `${128 * MiB}`);
    const cfg = await sh(["cat", `/var/lib/lxc/${name}/config`]);
    assert.equal(cfg.split("\n").filter((l) => l.startsWith("# BEGIN pulumi-virt")).length, 1, "one managed block");
    assert.equal(cfg.split("\n").filter((l) => l.startsWith("lxc.rootfs.path")).length, 1);
    assert.equal(await loopsBacking(o.loopImage!).then((s) => s.split("\n").length), 1, "one loop device");
    assert.equal(await destroyContainer(remote, name), "destroyed");
    if (!interrupted) break; // k is past the last call: every step has been interrupted once
  }

  // Killed for real in the middle of creating (process group SIGKILLed at a few points): a retry completes.
  for (const delayMs of [40, 150, 400]) {
    const name = PREFIX + "res";
    const child = spawn("nsenter", ["--target", String(host.monitorPid), "--net", "--mount", "--uts", "--", "sh", "-c", CREATE_SCRIPT, "sh", name, "busybox", "", "xfs", "300", "0"], {
      stdio: "ignore",
      detached: true,
    });
    const exited = new Promise((r) => child.on("close", r));
    await new Promise((r) => setTimeout(r, delayMs));
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already finished: the retry then just resumes a complete create
    }
    await exited;
    const o = await createContainer(remote, base(name));
    assert.equal(o.running, true, `after a kill at ${delayMs} ms`);
    assert.equal(o.diskSizeMiB, 300);
    assert.equal(await loopsBacking(o.loopImage!).then((s) => s.split("\n").length), 1, "one loop device");
    const cfg = await sh(["cat", `/var/lib/lxc/${name}/config`]);
    assert.equal(cfg.split("\n").filter((l) => l.startsWith("# BEGIN pulumi-virt")).length, 1, "one managed block");
    assert.equal(await destroyContainer(remote, name), "destroyed");
  }

  // Interrupted inside lxc-create: a half-made directory marked "creating" is cleaned up and redone. Create
  // registers the name on the host before it makes anything, so such a directory is always registered...
  const half = PREFIX + "half";
  const registered = async (n: string) => (await onHost(host, ["test", "-e", `/var/lib/lxc/.pulumi-virt/${n}`])).code === 0;
  await sh(["mkdir", "-p", `/var/lib/lxc/${half}`]);
  await sh(["touch", `/var/lib/lxc/${half}/.pulumi-virt-creating`, `/var/lib/lxc/${half}/config`]);
  await sh(["truncate", "-s", "10M", `/var/lib/lxc/${half}/rootdev`]);
  // ... and without the registration it is someone else's: refused, left as it was.
  await assert.rejects(createContainer(remote, base(half)), (e: Error) => e.name === "ContainerExistsError" && /not created by pulumi-virt/.test(e.message));
  assert.equal((await onHost(host, ["test", "-f", `/var/lib/lxc/${half}/rootdev`])).code, 0, "nothing of it removed");
  await sh(["mkdir", "-p", "/var/lib/lxc/.pulumi-virt"]);
  await sh(["touch", `/var/lib/lxc/.pulumi-virt/${half}`]);
  const o = await createContainer(remote, base(half));
  assert.equal(o.running, true);
  assert.equal(o.diskSizeMiB, 300);
  assert.equal(await destroyContainer(remote, half), "destroyed");
  assert.equal(await registered(half), false, "destroy takes the name out of the register");

  // A container that pulumi-virt did not create is never taken over or destroyed by create.
  const foreign = PREFIX + "foreign";
  await sh(["lxc-create", "-n", foreign, "-t", "busybox"]);
  await assert.rejects(createContainer(remote, base(foreign)), /not created by pulumi-virt/);
  assert.equal((await onHost(host, ["test", "-f", `/var/lib/lxc/${foreign}/rootfs/bin/busybox`])).code, 0, "foreign rootfs kept");
  // ... unless asked to adopt it: then it is configured and started, its rootfs kept.
  assert.equal(await registered(foreign), false, "a refused create registers nothing");
  const adopted = await createContainer(remote, { ...base(foreign), disk: undefined, network: { bridge: host.bridge } }, { adopt: true });
  assert.equal(adopted.running, true);
  assert.equal(adopted.memoryMiB, 128);
  assert.equal(await registered(foreign), true, "an adopted container is registered");
  assert.equal(await destroyContainer(remote, foreign), "destroyed");
});

test("stop, rename while stopped, start; btrfs grows online", async () => {
  const name = PREFIX + "ren";
  const to = PREFIX + "ren2";
  await createContainer(remote, { name, template: { kind: "busybox" }, memoryMiB: 96, disk: { sizeMiB: 256, fstype: "btrfs" }, running: true, autostart: false });
  const pid = (await readContainer(remote, name))!.initPid;
  await applyLive(remote, name, { diskSizeMiB: 400 });
  const grown = (await readContainer(remote, name))!;
  assert.equal(grown.initPid, pid);
  assert.equal(grown.fstype, "btrfs");
  assert.equal(grown.diskSizeMiB, 400);
  assert.equal(grown.fsSizeMiB, 400);
  await assert.rejects(renameContainer(remote, name, to), /not stopped/);
  const stop = await stopContainer(remote, name, 1);
  assert.ok(stop === "graceful" || stop === "killed", stop);
  assert.equal(await stopContainer(remote, name, 1), "already-stopped");
  assert.equal((await readContainer(remote, name))!.running, false);
  assert.equal(await renameContainer(remote, name, to), "renamed");
  assert.equal(await renameContainer(remote, name, to), "already-renamed");
  assert.equal(await readContainer(remote, name), undefined);
  const reg = (n: string) => onHost(host, ["test", "-e", `/var/lib/lxc/.pulumi-virt/${n}`]).then((r) => r.code === 0);
  assert.deepEqual([await reg(name), await reg(to)], [false, true], "the registration moves with the name");
  await startContainer(remote, to);
  const o = (await readContainer(remote, to))!;
  assert.equal(o.running, true);
  assert.equal(o.memoryMiB, 96);
  assert.equal(o.diskSizeMiB, 400);
  assert.equal(o.loopImage, `/var/lib/lxc/${to}/rootdev`);
  assert.equal(await sh(["lxc-attach", "-n", to, "--", "hostname"]), to);
  await assert.rejects(applyLive(remote, to, { diskSizeMiB: 300 }), /shrink/);
});

test("destroy removes the container, its loop image and device; destroying again says absent", async () => {
  const name = PREFIX + "gone";
  const o = await createContainer(remote, { name, template: { kind: "busybox" }, memoryMiB: 64, disk: { sizeMiB: 300, fstype: "xfs" }, running: true, autostart: false });
  assert.ok(o.loopImage && o.loopDevice, JSON.stringify(o));
  assert.notEqual(await loopsBacking(o.loopImage), "");
  assert.equal(await destroyContainer(remote, name), "destroyed");
  assert.equal((await onHost(host, ["test", "-e", o.loopImage])).code, 1, "image removed");
  assert.equal(await loopsBacking(o.loopImage), "", "no loop device backs the image");
  assert.equal((await onHost(host, ["test", "-e", `/var/lib/lxc/${name}`])).code, 1);
  assert.equal(await readContainer(remote, name), undefined);
  assert.equal(await destroyContainer(remote, name), "absent");
});

test("tarball template: a rootfs tarball on the host becomes a loop-backed container", async () => {
  const src = PREFIX + "src";
  const tarName = PREFIX + "tar";
  const tarball = `/var/lib/lxc/${src}.rootfs.tar`;
  await createContainer(remote, { name: src, template: { kind: "busybox" }, memoryMiB: 64, running: false, autostart: false });
  await sh(["tar", "-cf", tarball, "-C", `/var/lib/lxc/${src}/rootfs`, "."]);
  try {
    const o = await createContainer(remote, { name: tarName, template: { kind: "tarball", path: tarball }, memoryMiB: 64, disk: { sizeMiB: 300, fstype: "xfs" }, running: true, autostart: false });
    assert.equal(o.running, true);
    assert.equal(o.template, `tarball:${tarball}`);
    assert.equal(o.fstype, "xfs");
    assert.equal(await sh(["lxc-attach", "-n", tarName, "--", "cat", "/etc/init.d/rcS"]), await sh(["cat", `/var/lib/lxc/${src}/rootfs/etc/init.d/rcS`]));
    await assert.rejects(
      createContainer(remote, { name: PREFIX + "mnt", template: { kind: "tarball", path: "/nonexistent/rootfs.tar" }, memoryMiB: 64, running: false, autostart: false }),
      /not found on the host/,
    );
  } finally {
    await sh(["rm", "-f", tarball]);
  }
});

test("environment and read-only bind mounts reach the container", async () => {
  const name = PREFIX + "mnt";
  const share = `/var/lib/lxc/${name}-share`;
  await sh(["mkdir", "-p", share]);
  await sh(["sh", "-c", 'echo from-host > "$1/file"', "sh", share]);
  try {
    await createContainer(remote, {
      name, template: { kind: "busybox" }, memoryMiB: 64, running: true, autostart: false,
      environment: { STAGE: "lab test" }, mounts: [{ hostPath: share, containerPath: "/srv/share", readOnly: true }],
    });
    assert.equal(await sh(["lxc-attach", "-n", name, "--", "cat", "/srv/share/file"]), "from-host");
    const write = await onHost(host, ["lxc-attach", "-n", name, "--", "touch", "/srv/share/new"]);
    assert.notEqual(write.code, 0, "read-only mount refuses writes");
    assert.ok((await sh(["lxc-attach", "-n", name, "--", "cat", "/proc/1/environ"])).split("\0").includes("STAGE=lab test"));
  } finally {
    await destroyContainer(remote, name);
    await sh(["rm", "-rf", share]);
  }
});

test("works for a non-root login through sudo (h2's ops user)", async () => {
  const h2 = loadLab().hosts.find((h) => h.name === "h2")!;
  const u = h2.sudoUser;
  const r = getRemote({
    host: h2.address, port: h2.port, user: u.user, sudo: true, hostKey: h2.hostKey,
    privateKey: readFileSync(u.privateKeyPath, "utf8"), password: readFileSync(u.passwordFile, "utf8").trim(),
  });
  const name = PREFIX + "sudo";
  await destroyContainer(r, name);
  try {
    const spec: ContainerSpec = { name, template: { kind: "busybox" }, memoryMiB: 64, disk: { sizeMiB: 300, fstype: "xfs" }, running: true, autostart: false };
    const o = await createContainer(r, spec);
    await applyLive(r, name, { memoryMiB: 96, diskSizeMiB: 400 });
    const n = (await readContainer(r, name))!;
    assert.equal(n.initPid, o.initPid);
    assert.equal(n.memoryMiB, 96);
    assert.equal(n.diskSizeMiB, 400);
    assert.equal((await onHostOk(h2, ["lxc-cgroup", "-n", name, "memory.limit_in_bytes"])).trim(), `${96 * MiB}`);
  } finally {
    assert.equal(await destroyContainer(r, name), "destroyed");
  }
});
