// Issue 21 (lab): Images on a lab host through the Image lifecycle, downloaded by the host from the lab's HTTP image
// server (lab/image-server.sh). Every claim is checked on the host itself or in the server's request log.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { HostFacts } from "../../provider/models/host";
import type { EngineProps } from "../../provider/models/state";
import * as hostImpl from "../../provider/resources/impl/host";
import * as imageImpl from "../../provider/resources/impl/image";
import { SshPool } from "../../provider/ssh/pool";
import { cutNextDownload, downloadsOf, ensureImageServer, ImageServer, servedRequests } from "../support/image-server";
import { ensureLab, LabHost, loadLab, onHost, onHostOk } from "../support/lab";

let h1: LabHost;
let server: ImageServer;
let hv: Record<string, unknown>;
// A storage dir of this run only (inside h1's private /var/lib/libvirt), so nothing is cached from an earlier run.
const STORAGE = `/var/lib/libvirt/images/pv-image-test-${randomBytes(3).toString("hex")}`;
const IMAGES = `${STORAGE}/.pulumi-virt-images`;
const DOMAIN = `pv-img-user-${randomBytes(3).toString("hex")}`;

before(async () => {
  await ensureLab();
  server = await ensureImageServer();
  h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const connection = { host: h1.address, port: h1.port, user: h1.user, privateKey: readFileSync(h1.privateKeyPath, "utf8"), hostKey: h1.hostKey };
  const facts = (await hostImpl.check({}, { connection })).inputs.facts as HostFacts;
  hv = { kind: "kvm", emulated: true, bridge: "pvbr0", storageDir: STORAGE, host: { connection, facts } };
});

after(async () => {
  await onHost(h1, ["virsh", "-q", "undefine", DOMAIN]);
  await onHost(h1, ["rm", "-rf", STORAGE]);
  SshPool.shared().closeAll();
});

async function checked(args: Record<string, unknown>): Promise<EngineProps> {
  const c = await imageImpl.check({}, { hypervisor: hv, ...args });
  assert.deepEqual(c.failures, []);
  return c.inputs;
}

const ls = async (dir: string) => (await onHost(h1, ["sh", "-c", 'ls -A "$1" 2>/dev/null || true', "sh", dir])).stdout.split("\n").filter(Boolean).sort();
/** The first bytes of the disk a guest would see (the image's content, not its qcow2 header). */
const firstBytes = async (file: string, n: number) =>
  (await onHostOk(h1, ["sh", "-c", 'qemu-img convert -U -O raw "$1" "$2" && head -c "$3" "$2"; rm -f "$2"', "sh", file, `${file}.firstbytes.raw`, String(n)])).replace(/\0/g, "");

test("a qcow2 image: one download shared by two Image resources; released by the last one", async () => {
  const file = "test-guest-a.qcow2";
  const since = servedRequests().length;
  const inputs = await checked({ source: `${server.url}/${file}`, checksum: server.sha256[file] });
  const a = await imageImpl.create(inputs);
  const b = await imageImpl.create(await checked({ source: `${server.url}/${file}?mirror=2`, checksum: server.sha256[file], name: "same bytes" }));
  assert.equal(a.outs.path, inputs.path);
  assert.equal(b.outs.path, a.outs.path, "the same checksum is the same file");
  assert.equal(downloadsOf(file, since).length, 1, "one download for two resources");
  assert.equal(a.outs.format, "qcow2");
  assert.equal(a.outs.virtualSize, 64 * 1048576);
  assert.equal(a.outs.checksum, server.sha256[file]);
  assert.equal((await firstBytes(String(a.outs.path), 13)), "PVMARK:base-a");
  assert.equal(await ls(`${IMAGES}/.partial`).then((f) => f.filter((n) => !n.endsWith(".lock")).length), 0, "nothing left in the partial dir");

  // A refresh reads it back; nothing is downloaded.
  const read = await imageImpl.read(a.id, a.outs);
  assert.equal(read.props.size, a.outs.size);
  assert.equal(downloadsOf(file, since).length, 1);

  // A libvirt domain whose disk is an overlay on it: the last release refuses, naming the guest.
  const overlay = `${STORAGE}/${DOMAIN}.qcow2`;
  await onHostOk(h1, ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", String(a.outs.path), overlay]);
  const xml = `<domain type='qemu'><name>${DOMAIN}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os>` +
    `<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${overlay}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
  await onHostOk(h1, ["sh", "-c", 'cat > "$1" && virsh -q define "$1" >/dev/null', "sh", `${STORAGE}/${DOMAIN}.xml`], { stdin: xml });

  await imageImpl.delete(b.id, b.outs); // another claim remains: kept, no check needed
  assert.ok((await ls(IMAGES)).includes(String(a.outs.path).split("/").pop()!));
  await assert.rejects(imageImpl.delete(a.id, a.outs), (e: Error) => {
    assert.match(e.message, new RegExp(`in use by guest\\(s\\) ${DOMAIN}`));
    return true;
  });
  assert.ok((await ls(IMAGES)).includes(String(a.outs.path).split("/").pop()!), "a refused delete keeps the file");

  await onHostOk(h1, ["virsh", "-q", "undefine", DOMAIN]);
  await imageImpl.delete(a.id, a.outs);
  assert.deepEqual((await ls(IMAGES)).filter((n) => !n.startsWith(".")), [], "the last release removes the file");
});

test("an .xz image is verified as downloaded, then stored decompressed", async () => {
  const file = "test-guest-b.qcow2.xz";
  const r = await imageImpl.create(await checked({ source: `${server.url}/${file}`, checksum: server.sha256[file] }));
  assert.match(String(r.outs.path), /\.qcow2$/);
  assert.equal(r.outs.format, "qcow2");
  assert.equal(await firstBytes(String(r.outs.path), 13), "PVMARK:base-b");
  await imageImpl.delete(r.id, r.outs);
});

test("a checksum mismatch fails naming the URL and both checksums, and leaves no file", async () => {
  const file = "rootfs-busybox.tar.gz";
  const wrong = "sha256:" + "0".repeat(64);
  const url = `${server.url}/${file}`;
  const inputs = await checked({ source: url, checksum: wrong });
  await assert.rejects(imageImpl.create(inputs), (e: Error) => {
    assert.ok(e.message.includes(url), e.message);
    assert.ok(e.message.includes(wrong) && e.message.includes(server.sha256[file]), e.message);
    return true;
  });
  const key = `sha256-${"0".repeat(64)}`;
  assert.deepEqual((await ls(IMAGES)).filter((n) => n.startsWith(key)), []);
  assert.deepEqual((await ls(`${IMAGES}/.partial`)).filter((n) => n.startsWith(key)), [], "no partial download (or its bookkeeping) left");
  assert.deepEqual((await ls(`${IMAGES}/.claims`)).filter((n) => n.startsWith(key)), [], "no claim left");
});

test("a download cut mid-way fails, keeps its partial file, and resumes with a Range request next time", async () => {
  const file = "rootfs-busybox.tar.gz";
  const since = servedRequests().length;
  const inputs = await checked({ source: `${server.url}/${file}`, checksum: server.sha256[file] });
  cutNextDownload(100_000);
  await assert.rejects(imageImpl.create(inputs), /stopped.*next attempt resumes it/s);
  const key = String(inputs.key);
  const partial = Number((await onHostOk(h1, ["stat", "-c", "%s", `${IMAGES}/.partial/${key}.download`])).trim());
  assert.equal(partial, 100_000, "the bytes received are kept");
  assert.deepEqual((await ls(`${IMAGES}/.claims`)).filter((n) => n.startsWith(key)), [], "the failed create holds no claim");
  const r = await imageImpl.create(inputs);
  assert.equal(r.outs.format, "rootfs");
  const gets = downloadsOf(file, since);
  assert.equal(gets.length, 2);
  assert.equal(gets[0].cut, true);
  assert.equal(gets[1].range, "bytes=100000-", "the second attempt asked only for the rest");
  assert.equal(gets[1].status, 206);
  assert.equal((await onHostOk(h1, ["sha256sum", String(r.outs.path)])).split(" ")[0], server.sha256[file].slice(7));
  await imageImpl.delete(r.id, r.outs);
});
