// Issue 26: a container's destroy is one round trip that kills it (nothing of it survives), a graceful stop only
// when asked for (bounded by its timeout), and a container another resource owns is left running. Checked on a real
// lab host (h2) over the real SSH transport; each machine is identified by its init PID.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ContainerSpec, createContainer, destroyContainer, destroyContainerReport, readContainer } from "../../provider/drivers/lxc";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import { ExecOptions, ExecResult, Remote } from "../../provider/ssh/types";
import { ensureLab, LabHost, onHost } from "../support/lab";

const PREFIX = "pvt-destroy-";
const NAMES = ["kill", "graceful", "owned"].map((s) => PREFIX + s);
const TOKEN = "0123456789abcdef0123456789abcdef";
const OTHER = "fedcba9876543210fedcba9876543210";

/** Counts round trips. */
class CountingRemote implements Remote {
  calls = 0;
  constructor(private readonly inner: Remote) {}
  get label() {
    return this.inner.label;
  }
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    this.calls++;
    return this.inner.exec(argv, opts);
  }
  script(script: string, args?: string[], opts?: ExecOptions): Promise<ExecResult> {
    this.calls++;
    return this.inner.script(script, args, opts);
  }
  upload(path: string, content: string | Buffer, opts?: { mode?: number }): Promise<void> {
    this.calls++;
    return this.inner.upload(path, content, opts);
  }
}

let host: LabHost;
let remote: CountingRemote;

const spec = (name: string): ContainerSpec => ({ name, template: { kind: "busybox" }, memoryMiB: 64, running: true, autostart: false });

/** Whether `pid` is still the init of a container named `name` (its process is alive and in that container's cgroup). */
async function stillInit(pid: number, name: string): Promise<boolean> {
  const r = await onHost(host, ["cat", `/proc/${pid}/cgroup`]);
  return r.code === 0 && r.stdout.includes(`lxc.payload.${name}`);
}
const listed = async (name: string) => (await onHost(host, ["lxc-ls", "-1"])).stdout.split("\n").includes(name);

before(async () => {
  const lab = await ensureLab();
  host = lab.hosts.find((h) => h.name === "h2")!;
  remote = new CountingRemote(getRemote({ host: host.address, port: host.port, user: host.user, privateKey: readFileSync(host.privateKeyPath, "utf8"), hostKey: host.hostKey }));
  for (const n of NAMES) await destroyContainer(remote, n, { ownerToken: TOKEN }).catch(() => destroyContainer(remote, n, { ownerToken: OTHER }));
});

after(async () => {
  try {
    for (const n of NAMES) await destroyContainer(remote, n, { ownerToken: TOKEN }).catch(() => undefined);
  } finally {
    closeAllRemotes();
  }
});

test("destroy kills a running container and removes it in one round trip", async () => {
  const name = PREFIX + "kill";
  const pid = (await createContainer(remote, spec(name), { ownerToken: TOKEN })).initPid!;
  assert.ok(await stillInit(pid, name));
  remote.calls = 0;
  const r = await destroyContainerReport(remote, name, { ownerToken: TOKEN });
  assert.equal(remote.calls, 1);
  assert.deepEqual(r, { result: "destroyed", stopped: "killed" });
  assert.equal(await stillInit(pid, name), false, "the init process is gone");
  assert.equal(await listed(name), false);
  assert.equal(await destroyContainer(remote, name, { ownerToken: TOKEN }), "absent");
});

test("destroy with a stop timeout shuts the container down gracefully first (busybox init halts on its signal)", async () => {
  const name = PREFIX + "graceful";
  const pid = (await createContainer(remote, spec(name), { ownerToken: TOKEN })).initPid!;
  const r = await destroyContainerReport(remote, name, { ownerToken: TOKEN, stopTimeoutSec: 30 });
  assert.deepEqual(r, { result: "destroyed", stopped: "graceful" });
  assert.equal(await stillInit(pid, name), false);
  assert.equal(await listed(name), false);
});

test("destroy refuses a container another resource owns: nothing is stopped", async () => {
  const name = PREFIX + "owned";
  const pid = (await createContainer(remote, spec(name), { ownerToken: OTHER })).initPid!;
  await assert.rejects(destroyContainerReport(remote, name, { ownerToken: TOKEN }), (e: Error) => e.name === "ContainerOwnedElsewhereError");
  assert.ok(await stillInit(pid, name), "still running under the same init PID");
  assert.equal((await readContainer(remote, name))?.initPid, pid);
  assert.equal(await destroyContainer(remote, name, { ownerToken: OTHER }), "destroyed");
});
