// Issue 21 through the real CLI: Images downloaded by a lab host from the lab's HTTP image server
// (lab/image-server.sh), two Guests booted from one Image (one download, two overlays, the image's marker on each
// console), one of them grown live on its own, a Container from a rootfs Image; a new checksum previews and applies as a replacement of the guests,
// its download cut mid-way fails the up without touching the running guests and resumes on the next up. One guest
// waits for SSH and is reached over its pinned `connection` output; a stopped guest's root disk is cloned (overlay
// and standalone copy) into new guests, and a clone of a guest the program wants running is refused at preview.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, TestStack } from "./harness";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import { ensureLab, loadLab, onHost, onHostOk } from "../support/lab";
import { cutNextDownload, downloadsOf, ensureImageServer, servedRequests, slowNextDownload } from "../support/image-server";
import { lastPvstat } from "../support/pvstat";

/** Guards a hung boot; not a claim about speed. */
const BOOT_DEADLINE_MS = 240_000;

test("Guests and a Container from Images: one download, overlays, replace on a new checksum, resume after a cut", async (t) => {
  await ensureLab();
  const server = await ensureImageServer();
  const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const img = execFileSync("bash", [join(REPO_ROOT, "lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
  const suffix = randomBytes(3).toString("hex");
  // A storage dir of this run only, so the first download is really one.
  const storageDir = `/var/lib/libvirt/images/pv-e2e-img-${suffix}`;
  const names = { vm1: `img-vm1-${suffix}`, vm2: `img-vm2-${suffix}`, vm3: `img-vm3-${suffix}`, vm4: `img-vm4-${suffix}`, ct: `img-ct-${suffix}` };
  // vm1 answers SSH on a static address of h1's guest bridge (pvbr0 is 10.77.101.1/24, lab.sh).
  const guests: Record<string, Record<string, unknown>> = {
    vm1: { name: names.vm1, image: "disk", ssh: { addresses: ["10.77.101.81/24"] } },
    vm2: { name: names.vm2, image: "disk" },
  };
  const image = (file: string, on: "kvm" | "lxc") => ({ source: `${server.url}/${file}`, checksum: server.sha256[file], on });
  const images = { disk: image("test-guest-a.qcow2", "kvm"), rootfs: image("rootfs-busybox.tar.gz", "lxc") };
  const since = servedRequests().length;
  const stack = await TestStack.create({
    program: "test/e2e/fixtures/images",
    config: {
      host: JSON.stringify({ address: h1.address, port: h1.port, user: h1.user, hostKey: h1.hostKey }),
      boot: JSON.stringify({ kernel: `${img}/vmlinuz`, initrd: `${img}/initrd.img` }),
      storageDir,
      images: JSON.stringify(images),
      guests: JSON.stringify(guests),
      containers: JSON.stringify({ ct: { name: names.ct, image: "rootfs" } }),
    },
    secrets: { privateKey: readFileSync(h1.privateKeyPath, "utf8") },
  });
  t.after(async () => {
    closeAllRemotes();
    await stack.destroy().catch(() => undefined);
    await stack.rm();
    await onHost(h1, ["rm", "-rf", storageDir]);
  });

  const qemuPid = async (name: string) => (await onHost(h1, ["sh", "-c", 'cat "/run/libvirt/qemu/$1.pid" 2>/dev/null || true', "sh", name])).stdout.trim();
  // The guest's status line on its console (lab/images/guest-init.sh), polled until it says what is asked.
  const consoleSays = async (name: string, what: string, ok: (s: Record<string, string>) => boolean) => {
    const end = Date.now() + BOOT_DEADLINE_MS;
    for (;;) {
      const s = lastPvstat((await onHost(h1, ["tail", "-n", "30", `${storageDir}/${name}/console.log`])).stdout);
      if (s && ok(s)) return s;
      if (Date.now() > end) throw new Error(`${name}: no PVSTAT with ${what}; last ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  const rootMarker = (name: string, want: string) => consoleSays(name, `root_marker=${want}`, (s) => s.root_marker === want);
  const rootInfo = async (name: string) => JSON.parse(await onHostOk(h1, ["qemu-img", "info", "-U", "--output=json", `${storageDir}/${name}/root.qcow2`]));
  const backingOf = async (name: string) => (await rootInfo(name))["backing-filename"];

  // One of the two first downloads goes slowly, so `up` has one in progress to report.
  slowNextDownload(128 * 1024);
  const up1 = await stack.up();
  const outs = (await stack.outputs()).imageOutputs as Record<string, { path: string; format: string; virtualSize: number; checksum: string }>;
  const diskPath = outs.disk.path;
  assert.equal(outs.disk.format, "qcow2");
  assert.equal(outs.disk.checksum, images.disk.checksum);
  assert.equal(outs.rootfs.format, "rootfs");

  await t.test("a guest built from an Image answers SSH on its pinned connection output: its own hostname and boot id", async () => {
    const outs = (await stack.outputs({ showSecrets: true })).machines as Record<string, { connection?: Record<string, unknown> }>;
    const connection = outs.vm1.connection;
    assert.ok(connection, "vm1 has a connection output");
    assert.match(String(connection.hostKey), /^ssh-ed25519 /, "pinned to the host key pulumi-virt injected");
    assert.equal(connection.host, "10.77.101.81");
    // The first try, no retry loop: up returned only once SSH answered.
    const vm1 = getRemote({ ...connection, dialTimeoutMs: 20_000 });
    assert.equal((await vm1.exec(["hostname"])).stdout.trim(), names.vm1, "the hostname the seed gave this guest");
    // The boot id only this boot of this guest has: the same one its console reports, not vm2's.
    const bootId = (await vm1.exec(["cat", "/proc/sys/kernel/random/boot_id"])).stdout.trim();
    assert.equal(bootId.slice(0, 8), (await consoleSays(names.vm1, "a status line", () => true)).boot);
    assert.notEqual(bootId.slice(0, 8), (await consoleSays(names.vm2, "a status line", () => true)).boot);
  });

  await t.test("two guests on one Image: one download, two overlays on it, both boot its content", async () => {
    assert.equal(downloadsOf("test-guest-a.qcow2", since).length, 1);
    assert.equal(await backingOf(names.vm1), diskPath);
    assert.equal(await backingOf(names.vm2), diskPath);
    const size = JSON.parse(await onHostOk(h1, ["qemu-img", "info", "-U", "--output=json", `${storageDir}/${names.vm1}/root.qcow2`]))["virtual-size"];
    assert.equal(size, 80 * 1048576, "the overlay is grown to rootDisk.size");
    for (const vm of [names.vm1, names.vm2]) {
      assert.match(await qemuPid(vm), /^\d+$/, `${vm}: QEMU runs`);
      await rootMarker(vm, "base-a");
    }
  });

  await t.test("each guest on the Image resizes on its own: one root disk grows live, the other overlay is untouched", async () => {
    const MiB = 1048576;
    guests.vm1.size = "96MiB";
    await stack.setConfig("guests", JSON.stringify(guests));
    const p = await stack.preview({ json: true });
    const step = (r: string) => p.steps.find((s) => s.urn.endsWith(`::${r}`));
    assert.equal(step("vm1")?.newState?.inputs?.plannedAction, "live", "vm1's grow previews as live");
    assert.match(JSON.stringify(step("vm1")?.newState?.inputs?.plannedChanges), /rootDisk\.size[^,]*live/);
    assert.equal(step("vm2")?.op ?? "same", "same", "vm2 is not touched");
    assert.equal(step("disk")?.op ?? "same", "same", "the Image is not touched");
    const pids = [await qemuPid(names.vm1), await qemuPid(names.vm2)];
    await stack.up();
    assert.deepEqual([await qemuPid(names.vm1), await qemuPid(names.vm2)], pids, "same QEMU processes: the grow was live");
    assert.equal((await rootInfo(names.vm1))["virtual-size"], 96 * MiB);
    assert.equal((await rootInfo(names.vm2))["virtual-size"], 80 * MiB, "the other overlay keeps its size");
    assert.equal(await backingOf(names.vm1), diskPath, "still an overlay on the one Image");
    await consoleSays(names.vm1, `vda_bytes=${96 * MiB}`, (s) => s.vda_bytes === String(96 * MiB));
    assert.equal((await consoleSays(names.vm2, "a status line", () => true)).vda_bytes, String(80 * MiB), "the other guest still sees its own size");
    assert.equal(downloadsOf("test-guest-a.qcow2", since).length, 1, "no second download");
  });

  await t.test("a download in progress shows in `up` as percent lines", () => {
    assert.match(up1.stdout + up1.stderr, /image (test-guest-a\.qcow2|rootfs-busybox\.tar\.gz): [\d.]+ MiB of [\d.]+ MiB \(\d+%\) downloaded on host "pv-h1"/);
  });

  await t.test("a Container from a rootfs Image starts with the image's files", async () => {
    assert.match((await onHostOk(h1, ["lxc-info", "-n", names.ct, "-s", "-H"])), /RUNNING/);
    assert.equal((await onHostOk(h1, ["lxc-attach", "-n", names.ct, "--", "/bin/cat", "/etc/pv-image"])).trim(), "PVMARK:rootfs-busybox");
  });

  await t.test("a new checksum: preview replaces the Image and its guests; a cut download fails the up and leaves the guests running; the next up resumes and replaces", async () => {
    const newDisk = image("test-guest-b.qcow2.xz", "kvm");
    await stack.setConfig("images", JSON.stringify({ ...images, disk: newDisk }));
    const p = await stack.preview({ json: true });
    const step = (r: string) => p.steps.find((s) => s.urn.endsWith(`::${r}`));
    assert.equal(step("disk")?.op, "replace");
    for (const vm of ["vm1", "vm2"]) {
      assert.equal(step(vm)?.newState?.inputs?.plannedAction, "replace", `${vm} is replaced in preview`);
      assert.match(JSON.stringify(step(vm)?.newState?.inputs?.plannedChanges), /baseImage.*replace/);
    }
    assert.equal(step("ct")?.op ?? "same", "same");

    const pids = [await qemuPid(names.vm1), await qemuPid(names.vm2)];
    const before = servedRequests().length;
    cutNextDownload(200);
    const failed = await stack.pulumi(["up", "--yes", "--skip-preview"], { okCodes: [255, 1] });
    assert.match(failed.stdout + failed.stderr, /download of .*test-guest-b\.qcow2\.xz stopped/);
    assert.deepEqual([await qemuPid(names.vm1), await qemuPid(names.vm2)], pids, "the guests on the old image run on untouched");

    await stack.up();
    const gets = downloadsOf("test-guest-b.qcow2.xz", before);
    assert.equal(gets.length, 2);
    assert.equal(gets[0].cut, true);
    assert.equal(gets[1].range, "bytes=200-", "the next up asked only for the rest");
    const newPath = ((await stack.outputs()).imageOutputs as Record<string, { path: string }>).disk.path;
    assert.notEqual(newPath, diskPath);
    for (const vm of [names.vm1, names.vm2]) {
      assert.equal(await backingOf(vm), newPath);
      await rootMarker(vm, "base-b");
    }
    assert.notDeepEqual([await qemuPid(names.vm1), await qemuPid(names.vm2)], pids, "new QEMU processes");
    assert.equal((await onHost(h1, ["test", "-e", diskPath])).code, 1, "the old image, no longer used, was removed");
  });

  await t.test("cloneFrom: a stopped guest's root disk copied into new guests (overlay on its base, standalone copy); a running source is refused at preview", async () => {
    const virsh = (...args: string[]) => onHostOk(h1, ["virsh", "-c", "qemu:///system", ...args]);
    // vm2 still runs: a clone of it fails preview, naming the property, before anything changes.
    await stack.setConfig("guests", JSON.stringify({ ...guests, vm3: { name: names.vm3, cloneFrom: "vm2" } }));
    const refused = await stack.pulumi(["preview"], { okCodes: [255, 1] });
    assert.match(refused.stdout + refused.stderr, /rootDisk\.cloneFrom[^\n]*: guest "img-vm2-[0-9a-f]+" is meant to run \(running: true\): only a stopped guest is copied/);
    guests.vm2.running = false;
    await stack.setConfig("guests", JSON.stringify(guests));
    await stack.up();
    assert.equal((await virsh("domstate", names.vm2)).trim(), "shut off");
    // A token written into the stopped source's disk, where the guest's console reports it (its first sector).
    const token = `clone-${suffix}`;
    const vm2Disk = `${storageDir}/${names.vm2}/root.qcow2`;
    // A ref by name with a token that is not the source's: nothing pulumi-virt manages under that pair, refused at up.
    await stack.setConfig("guests", JSON.stringify({ ...guests, vm5: { name: `img-vm5-${suffix}`, cloneRef: { guest: names.vm2, ownerToken: "0".repeat(32) } } }));
    const wrongToken = await stack.pulumi(["up", "--yes", "--skip-preview"], { okCodes: [255, 1] });
    assert.match(wrongToken.stdout + wrongToken.stderr, /rootDisk\.cloneFrom: guest "img-vm2-[0-9a-f]+" on host [^\n]* is not the pulumi-virt guest given \(another resource's token is in its metadata\)/);
    assert.equal((await onHost(h1, ["test", "-e", `${storageDir}/img-vm5-${suffix}/root.qcow2`])).code, 1, "no disk was copied");
    await onHostOk(h1, ["sh", "-c", 'f=$(mktemp) && printf "PVMARK:%s\\n" "$1" > "$f" && truncate -s 512 "$f" && qemu-io -f qcow2 -c "write -s $f 0 512" "$2" && rm -f "$f"', "sh", token, vm2Disk]);
    await stack.setConfig("guests", JSON.stringify({ ...guests, vm3: { name: names.vm3, cloneFrom: "vm2", size: "112MiB" }, vm4: { name: names.vm4, cloneFrom: "vm2", mode: "copy", running: false } }));
    await stack.up();
    const newPath = ((await stack.outputs()).imageOutputs as Record<string, { path: string }>).disk.path;
    assert.equal(await backingOf(names.vm3), newPath, "overlay: the clone shares the source's base image");
    assert.equal((await rootInfo(names.vm3))["virtual-size"], 112 * 1048576, "grown to its own rootDisk.size");
    assert.equal(await backingOf(names.vm4), undefined, "copy: a standalone file");
    assert.match(await onHostOk(h1, ["qemu-img", "compare", "-U", vm2Disk, `${storageDir}/${names.vm4}/root.qcow2`]), /identical/);
    const seen = await rootMarker(names.vm3, token);
    // Its own machine ID: systemd.machine_id= on its kernel cmdline (the test guest's init reads it as systemd's
    // PID 1 does), where the source boots with none of ours.
    const cmdline = /<cmdline>([^<]*)<\/cmdline>/.exec(await virsh("dumpxml", names.vm3))?.[1] ?? "";
    assert.match(cmdline, /^systemd\.machine_id=[0-9a-f]{32} console=ttyS0 quiet$/);
    assert.equal(seen.machine_id, cmdline.slice("systemd.machine_id=".length, "systemd.machine_id=".length + 32), "the clone booted with it");
    assert.equal((await consoleSays(names.vm2, "its last status line", () => true)).machine_id, "none", "the source has no machine ID of ours");
    // Its own identity: another libvirt UUID and MAC than the source's.
    assert.notEqual((await virsh("domuuid", names.vm3)).trim(), (await virsh("domuuid", names.vm2)).trim());
    const macOf = async (n: string) => /([0-9a-f]{2}:){5}[0-9a-f]{2}/.exec(await virsh("domiflist", n))?.[0];
    assert.notEqual(await macOf(names.vm3), await macOf(names.vm2));
    assert.equal((await virsh("domstate", names.vm2)).trim(), "shut off", "the source was not started by the copy");
  });
});
