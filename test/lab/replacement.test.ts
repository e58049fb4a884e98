// Issue 19, finding 8 on a real lab host (h1), through the Container implementation in the order the engine calls
// it (check, diff, create of the replacement, delete of the old resource): a same-name replacement is built beside
// the old container under a temporary name and switched in only when built. A template that cannot be built fails
// the replacement and leaves the old container running, the same init (PID); a good one replaces it.
import type { HostRef } from "../../provider/models/host";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ensureLab, LabHost, loadLab, onHost } from "../support/lab";
import * as hostImpl from "../../provider/resources/impl/host";
import * as container from "../../provider/resources/impl/container";
import * as guest from "../../provider/resources/impl/guest";
import type { HypervisorRef } from "../../provider/models/hypervisor";
import { destroyContainer } from "../../provider/drivers/lxc";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import { SshPool } from "../../provider/ssh/pool";

let h1: LabHost;
let lxcRef: HypervisorRef;
const NAME = "pvt-rep-web";
const TARBALL = `/var/lib/lxc/${NAME}.rootfs.tar`;

async function sh(argv: string[]): Promise<string> {
  const r = await onHost(h1, argv);
  assert.equal(r.code, 0, `${argv.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}
const containersLike = async (part: string) => (await sh(["lxc-ls", "-1"])).split("\n").filter((n) => n.startsWith(NAME) && n.includes(part));
const initPid = () => sh(["lxc-info", "-n", NAME, "-p", "-H"]);

async function cleanup() {
  const remote = getRemote(lxcRef.host.connection);
  for (const n of (await sh(["lxc-ls", "-1"])).split("\n").filter((x) => x.startsWith(NAME))) await destroyContainer(remote, n).catch(() => undefined);
  await destroyContainer(remote, NAME).catch(() => undefined);
  await onHost(h1, ["rm", "-f", TARBALL]);
}

before(async () => {
  await ensureLab();
  h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const conn = { host: h1.address, port: h1.port, user: h1.user, privateKey: readFileSync(h1.privateKeyPath, "utf8"), hostKey: h1.hostKey };
  const checked = await hostImpl.check({}, { connection: conn });
  assert.deepEqual(checked.failures, []);
  lxcRef = { kind: "lxc", emulated: false, bridge: h1.bridge, storageDir: "/var/lib/lxc", host: { connection: checked.inputs.connection as HostRef["connection"], facts: checked.inputs.facts as HostRef["facts"] } };
  await cleanup();
});

after(async () => {
  try {
    await cleanup();
  } finally {
    closeAllRemotes();
    SshPool.shared().closeAll();
  }
});

async function checked(olds: Record<string, unknown>, args: Record<string, unknown>) {
  const r = await container.check(olds, { name: NAME, memory: 64, hypervisor: lxcRef, ...args });
  assert.deepEqual(r.failures, []);
  return r.inputs;
}

test("a template change that cannot be built fails, and the old container keeps running untouched (same init)", async () => {
  const a = await container.create(await checked({}, {}));
  const pid = await initPid();
  const news = await checked(a.outs, { template: "/var/lib/pulumi-virt-missing/rootfs.tar.gz" });
  assert.equal(news.plannedAction, "replace");
  const d = await container.diff(a.id, a.outs, news);
  assert.deepEqual(d.replaces, ["template"]);
  assert.equal(d.deleteBeforeReplace, false, "the engine creates the replacement before it deletes the old one");
  await assert.rejects(container.create(news), (e: Error) => {
    assert.match(e.message, /the replacement could not be built/);
    assert.match(e.message, /not found on the host/);
    assert.match(e.message, /old container was not touched and keeps running/);
    return true;
  });
  assert.equal(await initPid(), pid, "the old container runs on with the same init");
  assert.match(await sh(["lxc-info", "-n", NAME, "-s", "-H"]), /RUNNING/);
  assert.deepEqual(await containersLike("-pvnew-"), [], "the failed build left nothing behind");

  // A template that can be built: the new container takes the name, the old one is deleted by its own resource.
  await sh(["tar", "-cf", TARBALL, "-C", `/var/lib/lxc/${NAME}/rootfs`, "."]);
  const good = await checked(a.outs, { template: TARBALL });
  assert.equal((await container.diff(a.id, a.outs, good)).deleteBeforeReplace, false);
  const b = await container.create(good);
  const pidB = await initPid();
  assert.notEqual(pidB, pid, "a new container runs under the name");
  assert.equal((b.outs.observed as { template?: string } | undefined)?.template, `tarball:${TARBALL}`);
  assert.equal((await containersLike("-pvold-")).length, 1, "the old container waits aside for its delete");
  await container.delete(a.id, a.outs);
  assert.deepEqual(await containersLike("-pvold-"), [], "the old resource's delete removed the container it owns");
  assert.equal(await initPid(), pidB, "deleting the old resource did not touch the new container");
  await container.delete(b.id, b.outs);
});

test("a Guest's same-name replacement is shown as delete-first in preview, and the engine is told so", async () => {
  const kvmRef: HypervisorRef = { ...lxcRef, kind: "kvm", emulated: true, storageDir: "/var/lib/libvirt/images/pulumi-virt" };
  const base = { name: "pvt-rep-vm", virtualization: "full", vcpus: 1, memory: 128, boot: { kernel: "/k" }, rootDisk: { baseImage: "/a.qcow2" }, hypervisor: kvmRef };
  const olds = (await guest.check({}, base)).inputs;
  const r = await guest.check(olds, { ...base, rootDisk: { baseImage: "/b.qcow2" } });
  assert.match((r.inputs.plannedChanges as Record<string, string>)["rootDisk.baseImage"], /^replace: .*delete-first: the old guest is destroyed before the new one is built/);
  assert.equal((await guest.diff("kvm-x", olds, r.inputs)).deleteBeforeReplace, true);
});
