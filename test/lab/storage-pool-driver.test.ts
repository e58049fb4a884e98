// The storage-pool driver against a real lab host (h1): a directory pool and btrfs / xfs pools in loop-mounted
// images; live grow (the same loop device, a bigger filesystem); refusals (in use, not ours, shrink); what a reboot
// loses (the mount) and the next apply restores; destroy leaves no file, mount or loop device behind.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { applyPool, destroyPool, PoolInUseError, PoolOwnedElsewhereError, readPool, type PoolSpec } from "../../provider/drivers/pool/driver";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import type { Remote } from "../../provider/ssh/types";
import { ensureLab, LabHost, onHost, onHostOk } from "../support/lab";

const ROOT = "/var/lib/pulumi-virt-test-pools";
const TOKEN = "fedcba9876543210fedcba9876543210";
let host: LabHost;
let remote: Remote;

const spec = (type: PoolSpec["type"], over: Partial<PoolSpec> = {}): PoolSpec => ({
  type,
  path: `${ROOT}/${type}`,
  image: type === "dir" ? undefined : `${ROOT}/${type}.img`,
  sizeMiB: type === "dir" ? undefined : type === "xfs" ? 320 : 160,
  token: TOKEN,
  ...over,
});

async function scrub() {
  await onHost(host, ["sh", "-c", `for d in ${ROOT}/*; do mountpoint -q "$d" && umount "$d"; done; rm -rf ${ROOT}`]);
}
const hostView = async () => (await onHostOk(host, ["sh", "-c", `find ${ROOT} 2>/dev/null | sort; grep -F ${ROOT} /proc/self/mountinfo | cut -d' ' -f5; losetup -a | grep -F ${ROOT}; true`])).trim();

before(async () => {
  const lab = await ensureLab();
  host = lab.hosts.find((h) => h.name === "h1")!;
  remote = getRemote({ host: host.address, port: host.port, user: host.user, privateKey: readFileSync(host.privateKeyPath, "utf8"), hostKey: host.hostKey });
  await scrub();
  await onHostOk(host, ["mkdir", "-p", ROOT]);
});

after(async () => {
  try {
    await scrub();
  } finally {
    closeAllRemotes();
  }
});

test("a directory pool: created with its owner marker, capacity and free space read, refused while it holds a disk", async () => {
  const { outcome, observed } = await applyPool(remote, spec("dir"));
  assert.equal(outcome, "created");
  assert.ok(observed.capacityMiB > 0 && observed.freeMiB > 0 && observed.freeMiB <= observed.capacityMiB);
  assert.equal(observed.owner, TOKEN);
  assert.equal((await applyPool(remote, spec("dir"))).outcome, "unchanged");
  await onHostOk(host, ["touch", `${ROOT}/dir/disk-a.qcow2`]);
  const err = await destroyPool(remote, `${ROOT}/dir`, undefined, TOKEN).then(() => undefined, (e: Error) => e);
  assert.ok(err instanceof PoolInUseError, String(err));
  assert.match(err.message, /disk-a\.qcow2/);
  await onHostOk(host, ["rm", `${ROOT}/dir/disk-a.qcow2`]);
  await assert.rejects(destroyPool(remote, `${ROOT}/dir`, undefined, "another-token"), PoolOwnedElsewhereError);
  assert.equal(await destroyPool(remote, `${ROOT}/dir`, undefined, TOKEN), "destroyed");
  assert.equal((await onHost(host, ["test", "-e", `${ROOT}/dir`])).code, 1);
});

test("a non-empty directory pulumi-virt does not own is not taken", async () => {
  await onHostOk(host, ["mkdir", "-p", `${ROOT}/dir`]);
  await onHostOk(host, ["touch", `${ROOT}/dir/someone-elses`]);
  await assert.rejects(applyPool(remote, spec("dir")), PoolOwnedElsewhereError);
  await onHostOk(host, ["rm", "-r", `${ROOT}/dir`]);
});

for (const type of ["xfs", "btrfs"] as const) {
  test(`a ${type} pool: loop-mounted image, reflink copies, live grow on the same loop device, remount after a reboot, destroy leaves nothing`, async () => {
    const s = spec(type);
    const created = await applyPool(remote, s);
    assert.equal(created.outcome, "created");
    assert.equal(created.observed.fstype, type);
    assert.ok(created.observed.mounted);
    const loop = (await onHostOk(host, ["losetup", "-j", s.image!])).split(":")[0];
    assert.match(loop, /^\/dev\/loop\d+$/);
    // Reflink: a copy shares the extents (cp --reflink=always fails on filesystems without it).
    await onHostOk(host, ["sh", "-c", `head -c 1048576 /dev/urandom > ${s.path}/a && cp --reflink=always ${s.path}/a ${s.path}/b && rm ${s.path}/a ${s.path}/b`]);
    const grown = await applyPool(remote, { ...s, sizeMiB: s.sizeMiB! + 128 });
    assert.equal(grown.outcome, "grown");
    assert.ok(grown.observed.capacityMiB > created.observed.capacityMiB + 64, `${grown.observed.capacityMiB} > ${created.observed.capacityMiB}`);
    assert.equal((await onHostOk(host, ["losetup", "-j", s.image!])).split(":")[0], loop, "grown live: same loop device, never unmounted");
    await assert.rejects(applyPool(remote, s), /shrinking/);
    // A reboot unmounts it; the next apply mounts it again.
    await onHostOk(host, ["umount", s.path]);
    assert.equal((await readPool(remote, s.path, s.image)).mounted, false);
    const back = await applyPool(remote, { ...s, sizeMiB: s.sizeMiB! + 128 });
    assert.equal(back.outcome, "mounted");
    assert.equal(back.observed.owner, TOKEN);
    assert.equal(await destroyPool(remote, s.path, s.image, TOKEN), "destroyed");
    assert.equal(await hostView(), ROOT);
  });
}
