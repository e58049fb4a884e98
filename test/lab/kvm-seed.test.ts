// Issue 19, finding 4 on a real lab host (h1): the cloud-init seed ISO (it carries user-data: passwords, keys) is
// 0600 inside a 0700 directory, no user-data file is left readable beside it, and QEMU still opens it (the guest
// starts with the seed attached).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { createGuest, destroyGuest, domainPaths, DomainSpec } from "../../provider/drivers/kvm";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import type { Remote } from "../../provider/ssh/types";
import { ensureLab } from "../support/lab";

const NAME = "pvt-kvm-seed";
const STORAGE = "/var/lib/libvirt/images/pulumi-virt";
const USER_DATA = "#cloud-config\npassword: seed-test-secret\n";
let remote: Remote | undefined;

after(async () => {
  try {
    if (remote) await destroyGuest(remote, NAME, { deleteDataDisks: [], storageDir: STORAGE });
  } finally {
    closeAllRemotes();
  }
});

test("the seed ISO is 0600 in a 0700 directory, no user-data file is left readable, and QEMU opens it", async () => {
  const lab = await ensureLab();
  const h = lab.hosts.find((x) => x.name === "h1")!;
  remote = getRemote({ host: h.address, port: h.port, user: h.user, privateKey: readFileSync(h.privateKeyPath, "utf8"), hostKey: h.hostKey });
  const img = execFileSync("bash", [path.resolve(__dirname, "../../../lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
  await destroyGuest(remote, NAME, { deleteDataDisks: [], storageDir: STORAGE });
  const spec: DomainSpec = {
    name: NAME, vcpus: 1, maxVcpus: 1, memoryMiB: 128, maxMemoryMiB: 128, emulated: true,
    boot: { kind: "kernel", kernel: path.join(img, "vmlinuz"), initrd: path.join(img, "initrd.img"), cmdline: "console=ttyS0 quiet" },
    rootDisk: { baseImage: path.join(img, "base-a.qcow2"), mode: "overlay" },
    dataDisks: [], network: { bridge: h.bridge }, cloudInit: { userData: USER_DATA, networkConfig: "version: 2\n" },
    running: true, autostart: false, shutdownTimeoutSec: 0, storageDir: STORAGE,
  };
  const obs = await createGuest(remote, spec);
  assert.equal(obs.state, "running", "QEMU started with the seed attached");
  const seed = domainPaths(spec).seedIso!;
  assert.ok(obs.disks?.some((d) => d.device === "cdrom" && d.path === seed));
  const mode = async (p: string) => (await remote!.exec(["stat", "-c", "%a", p])).stdout.trim();
  assert.equal(await mode(seed), "600", "seed ISO mode");
  assert.equal(await mode(path.dirname(seed)), "700", "seed ISO directory mode");
  // Nothing else holding the user data: no source files left, and no file in the guest's directory with it.
  const found = await remote.exec(["grep", "-rl", "seed-test-secret", domainPaths(spec).dir], { okCodes: [0, 1] });
  const holders = found.stdout.trim().split("\n").filter(Boolean);
  assert.deepEqual(holders, [seed], "only the seed ISO holds the user data");
  // No file under the seed's directory is readable by others.
  const others = (await remote.exec(["find", path.dirname(seed), "-perm", "-o=r"])).stdout.trim();
  assert.equal(others, "", "nothing under the seed directory is readable by others");
});
