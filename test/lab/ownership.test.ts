// Issue 19, finding 7 on a real lab host (h1), through the resource implementations: a machine belongs to the
// resource that created it (a token on the host), not to whoever declares its name. Another resource with the
// same name (another stack) is refused at create, update and delete unless adopt; a state from a release before
// tokens keeps working and claims its machine on its next update.
import type { HostRef } from "../../provider/models/host";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ensureLab, LabHost, loadLab, onHost } from "../support/lab";
import * as hostImpl from "../../provider/resources/impl/host";
import * as container from "../../provider/resources/impl/container";
import * as guest from "../../provider/resources/impl/guest";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { destroyGuest, readGuest } from "../../provider/drivers/kvm";
import { ownerTokenOf, remoteFor } from "../../provider/lifecycle/support";
import { hostChanged } from "../../provider/drivers/lxc";
import type { HypervisorRef } from "../../provider/models/hypervisor";
import { destroyContainer } from "../../provider/drivers/lxc";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import { SshPool } from "../../provider/ssh/pool";

let h1: LabHost;
let lxcRef: HypervisorRef;
const CT_NAME = "pvt-own-web";
const VM_NAME = "pvt-own-vm";
const STORAGE = "/var/lib/libvirt/images/pulumi-virt";

async function sh(argv: string[]): Promise<string> {
  const r = await onHost(h1, argv);
  assert.equal(r.code, 0, `${argv.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

before(async () => {
  await ensureLab();
  h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const conn = { host: h1.address, port: h1.port, user: h1.user, privateKey: readFileSync(h1.privateKeyPath, "utf8"), hostKey: h1.hostKey };
  const checked = await hostImpl.check({}, { connection: conn });
  assert.deepEqual(checked.failures, []);
  lxcRef = { kind: "lxc", emulated: false, bridge: h1.bridge, storageDir: "/var/lib/lxc", host: { connection: checked.inputs.connection as HostRef["connection"], facts: checked.inputs.facts as HostRef["facts"] } };
  await destroyContainer(getRemote(lxcRef.host.connection), CT_NAME).catch(() => undefined);
  await destroyGuest(getRemote(lxcRef.host.connection), VM_NAME, { deleteDataDisks: [], storageDir: STORAGE }).catch(() => undefined);
});

after(async () => {
  try {
    await destroyContainer(getRemote(lxcRef.host.connection), CT_NAME).catch(() => undefined);
    await destroyGuest(getRemote(lxcRef.host.connection), VM_NAME, { deleteDataDisks: [], storageDir: STORAGE }).catch(() => undefined);
  } finally {
    closeAllRemotes();
    SshPool.shared().closeAll();
  }
});

async function containerInputs(extra: Record<string, unknown> = {}) {
  const r = await container.check({}, { name: CT_NAME, memory: 64, hypervisor: lxcRef, ...extra });
  assert.deepEqual(r.failures, []);
  return r.inputs;
}

const initPid = () => sh(["lxc-info", "-n", CT_NAME, "-p", "-H"]);
const registration = async () => (await sh(["sh", "-c", 'cat "$(lxc-config lxc.lxcpath)/.pulumi-virt/$1"', "sh", CT_NAME]));

test("a Container belongs to the resource that created it: another resource with its name is refused unless adopt", async () => {
  const inputsA = await containerInputs();
  const a = await container.create(inputsA);
  assert.equal(a.outs.ownerToken, ownerTokenOf(a.id));
  assert.equal((await registration()).split(" ")[0], ownerTokenOf(a.id), "the host's register holds the creating resource's token");
  const pid = await initPid();

  // Another stack declares a Container with the same name on the same host.
  const inputsB = await containerInputs({ memory: 128 });
  await assert.rejects(container.create(inputsB), /belongs to another pulumi-virt resource.*adopt: true/s);
  assert.equal(await initPid(), pid, "the refused create left the container running untouched");
  assert.equal(await sh(["lxc-cgroup", "-n", CT_NAME, "memory.limit_in_bytes"]), String(64 * 1048576));

  // B with adopt takes it over; from then on A can neither change nor destroy it.
  const b = await container.create({ ...inputsB, adopt: true });
  assert.equal((await registration()).split(" ")[0], ownerTokenOf(b.id));
  const changedA = await containerInputs({ memory: 96 });
  await assert.rejects(container.update(a.id, a.outs, changedA), /belongs to another pulumi-virt resource/);
  await assert.rejects(container.delete(a.id, a.outs), /belongs to another pulumi-virt resource.*not stopped or destroyed/s);
  await assert.rejects(container.read(a.id, a.outs), /belongs to another pulumi-virt resource/);
  assert.equal(await initPid(), pid, "A's refused update and delete did not touch the container");
  // The owner can.
  const readB = await container.read(b.id, b.outs);
  assert.equal((readB.props.observed as { initPid?: number }).initPid, Number(pid));
});

test("a state from before owner tokens keeps working and claims its container on the next update", async () => {
  // Make the registration look like the previous release's (an empty file) and the state like its (no ownerToken).
  await sh(["sh", "-c", ': > "$(lxc-config lxc.lxcpath)/.pulumi-virt/$1"', "sh", CT_NAME]);
  hostChanged(remoteFor(lxcRef.host)); // changed behind the provider's back: no refresh snapshot may answer
  const legacyId = "lxc-00000000-0000-4000-8000-000000000019";
  const inputs = await containerInputs();
  // A finished container of that release is not another resource's to take by create.
  await assert.rejects(container.create(inputs), /belongs to another pulumi-virt resource/);
  hostChanged(remoteFor(lxcRef.host));
  const { ownerToken: _t, ...legacyOuts } = { ...inputs, observed: {}, ownerToken: undefined };
  const refreshed = await container.read(legacyId, legacyOuts);
  assert.ok((refreshed.props.observed as { initPid?: number }).initPid, "a legacy state still reads its container");
  const pid = await initPid();
  const next = await containerInputs({ memory: 80 });
  const up = await container.update(legacyId, { ...legacyOuts, memory: 64 }, next);
  assert.equal(up.outs.ownerToken, ownerTokenOf(legacyId));
  assert.equal((await registration()).split(" ")[0], ownerTokenOf(legacyId), "the update wrote the resource's token");
  assert.equal(await initPid(), pid, "a live change, same init");
  // Now another resource is refused, and the owner destroys it.
  await assert.rejects(container.create(await containerInputs()), /belongs to another pulumi-virt resource/);
  await container.delete(legacyId, up.outs);
  assert.notEqual((await onHost(h1, ["lxc-info", "-n", CT_NAME])).code, 0, "destroyed by its owner");
});

test("a create the engine never recorded (CLI killed) is resumed by the same resource, not by another stack's", async () => {
  const KEY_A = "a".repeat(32);
  const first = await container.create(await containerInputs({ ownerKey: KEY_A }));
  const pid = await initPid();
  // The engine lost `first` (no state): the next up creates again with a new id but the same stack-and-name key.
  await assert.rejects(container.create(await containerInputs({ ownerKey: "b".repeat(32) })), /belongs to another pulumi-virt resource/);
  const again = await container.create(await containerInputs({ ownerKey: KEY_A }));
  assert.notEqual(again.id, first.id);
  assert.equal(await initPid(), pid, "the unrecorded container was resumed, not rebuilt");
  assert.equal((await registration()).split(" ")[0], ownerTokenOf(again.id), "the resumed create's token is the owner now");
  await container.delete(again.id, again.outs);
});

test("a KVM Guest's owner token is in its libvirt metadata: another resource cannot change or destroy it; a legacy one is claimed", async () => {
  const img = execFileSync("bash", [path.resolve(__dirname, "../../../lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
  const kvmRef: HypervisorRef = { ...lxcRef, kind: "kvm", emulated: true, storageDir: STORAGE };
  const vmInputs = async (extra: Record<string, unknown> = {}) => {
    const r = await guest.check({}, {
      name: VM_NAME, virtualization: "full", vcpus: 1, memory: 128, running: false, hypervisor: kvmRef,
      boot: { kernel: `${img}/vmlinuz`, initrd: `${img}/initrd.img` }, rootDisk: { baseImage: `${img}/base-a.qcow2` }, ...extra,
    });
    assert.deepEqual(r.failures, []);
    return r.inputs;
  };
  const remote = getRemote(lxcRef.host.connection);
  // Defined, not started: ownership is about the definition, and a TCG boot is not needed.
  const a = await guest.create(await vmInputs());
  assert.equal((await readGuest(remote, VM_NAME)).ownerToken, ownerTokenOf(a.id));
  const uuid = (await readGuest(remote, VM_NAME)).uuid;
  await assert.rejects(guest.create(await vmInputs()), /already exists.*adopt/s);
  const b = await guest.create(await vmInputs({ adopt: true }));
  assert.equal((await readGuest(remote, VM_NAME)).ownerToken, ownerTokenOf(b.id), "adopt wrote B's token");
  await assert.rejects(guest.update(a.id, a.outs, await vmInputs({ autostart: true })), /belongs to another pulumi-virt resource/);
  await assert.rejects(guest.delete(a.id, a.outs), /belongs to another pulumi-virt resource/);
  await assert.rejects(guest.read(a.id, a.outs), /belongs to another pulumi-virt resource/);
  const still = await readGuest(remote, VM_NAME);
  assert.equal(still.uuid, uuid, "the same domain, untouched");
  assert.equal(still.autostart, false);

  // A definition from before tokens (no owner element) and a state without ownerToken: read works, update claims.
  await remote.exec(["virsh", "-c", "qemu:///system", "metadata", "--domain", VM_NAME, "--uri", "https://github.com/pulumi-virt/kvm/owner/1", "--remove", "--config"]);
  assert.equal((await readGuest(remote, VM_NAME)).ownerToken, undefined);
  const legacyId = "kvm-00000000-0000-4000-8000-000000000019";
  const { ownerToken: _t, ...legacyOuts } = b.outs;
  assert.ok((await guest.read(legacyId, legacyOuts)).props, "a legacy state reads its guest");
  const up = await guest.update(legacyId, legacyOuts, await vmInputs({ autostart: true }));
  assert.equal(up.outs.ownerToken, ownerTokenOf(legacyId));
  const claimed = await readGuest(remote, VM_NAME);
  assert.equal(claimed.ownerToken, ownerTokenOf(legacyId), "the update wrote the token");
  assert.equal(claimed.autostart, true);
  assert.equal(claimed.uuid, uuid);
  await guest.delete(legacyId, up.outs);
  assert.equal((await readGuest(remote, VM_NAME)).exists, false, "destroyed by its owner");
});
