// Image (issue 21): what check accepts and refuses before any SSH command, where the file goes (known at preview),
// the host's poll answers, and the rate of progress lines.
import { test } from "node:test";
import assert from "node:assert/strict";
import { imageArgsSchema, imageKey, imageLayout, imagePath, sourceFileName } from "../../provider/models/image";
import { parsePoll, ProgressReporter } from "../../provider/drivers/image/images";
import { check, diff } from "../../provider/lifecycle/image";

const SHA = "sha256:" + "ab".repeat(32);
const hv = {
  kind: "kvm",
  emulated: true,
  bridge: "pvbr0",
  storageDir: "/var/lib/libvirt/images/pulumi-virt",
  host: { connection: { host: "10.77.0.11", user: "root", privateKey: "k", hostKey: "SHA256:" + "A".repeat(43) }, facts: { hostname: "pv-h1", machineId: "m1", cpus: 2, kernel: { name: "Linux" } } },
};

function failures(args: Record<string, unknown>): string[] {
  const r = imageArgsSchema.safeParse(args);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

test("a checksum is required unless allowUnverified says otherwise; bad ones are named", () => {
  assert.match(failures({ source: "http://10.77.0.1:8077/a.qcow2" }).join("\n"), /^checksum: a checksum is required.*allowUnverified: true/);
  assert.deepEqual(failures({ source: "http://10.77.0.1:8077/a.qcow2", allowUnverified: true }), []);
  assert.match(failures({ source: "http://x/a.qcow2", checksum: "md5:abc" }).join("\n"), /checksum: expected "sha256:<64 hex digits>" or "sha512:<128 hex digits>"/);
  assert.match(failures({ source: "http://x/a.qcow2", checksum: "sha256:" + "a".repeat(63) }).join("\n"), /checksum/);
  assert.deepEqual(failures({ source: "http://x/a.qcow2", checksum: "sha512:" + "C".repeat(128) }), []);
  assert.equal(imageArgsSchema.parse({ source: "http://x/a.qcow2", checksum: "SHA256:".toLowerCase() + "AB".repeat(32) }).checksum, SHA);
});

test("sources: http(s) URLs without credentials or shell characters, or absolute host paths", () => {
  for (const bad of ["ftp://x/a.qcow2", "http://user:pw@x/a.qcow2", "http://x/a b.qcow2", "http://x/a$(id).qcow2", "relative/a.qcow2", "/tmp/../etc/x.qcow2"]) {
    assert.notDeepEqual(failures({ source: bad, checksum: SHA }), [], bad);
  }
  assert.deepEqual(failures({ source: "https://10.77.0.1/img/a.qcow2?x=1", checksum: SHA }), []);
  assert.deepEqual(failures({ source: "/var/lib/images/a.qcow2", checksum: SHA }), []);
  assert.equal(sourceFileName("https://h/p/a.qcow2.xz?sig=1#f"), "a.qcow2.xz");
});

test("format and compression are detected from the name; contradictions are refused at check", () => {
  assert.deepEqual(imageLayout({ source: "http://x/a.qcow2" }), { format: "qcow2", compression: "none", suffix: "qcow2" });
  assert.deepEqual(imageLayout({ source: "http://x/b.qcow2.xz" }), { format: "qcow2", compression: "xz", suffix: "qcow2" });
  assert.deepEqual(imageLayout({ source: "http://x/c.raw.zst" }), { format: "raw", compression: "zst", suffix: "raw" });
  assert.deepEqual(imageLayout({ source: "http://x/d.img.gz" }), { format: undefined, compression: "gz", suffix: "img" });
  assert.deepEqual(imageLayout({ source: "http://x/r.tar.gz" }), { format: "rootfs", compression: "none", suffix: "tar.gz" });
  assert.deepEqual(imageLayout({ source: "http://x/r.txz" }), { format: "rootfs", compression: "none", suffix: "txz" });
  assert.deepEqual(imageLayout({ source: "http://x/blob", format: "rootfs" }), { format: "rootfs", compression: "none", suffix: "tar" });
  assert.match(failures({ source: "http://x/r.tar.gz", checksum: SHA, format: "qcow2" }).join("\n"), /^format: .*tarball.*"rootfs"/);
  assert.match(failures({ source: "http://x/r.tar.gz", checksum: SHA, compression: "xz" }).join("\n"), /^format: a rootfs tarball is kept/);
});

test("the path is keyed by checksum (same bytes, same file) and known without the host", () => {
  const dir = "/var/lib/libvirt/images/pulumi-virt";
  const p = imagePath(dir + "/", { source: "http://x/a.qcow2", checksum: SHA });
  assert.equal(p, `${dir}/.pulumi-virt-images/sha256-${"ab".repeat(32)}.qcow2`);
  assert.equal(imagePath(dir, { source: "http://mirror/other-name.qcow2", checksum: SHA }), p, "another URL for the same bytes shares the file");
  assert.match(imageKey({ source: "http://x/a.qcow2" }), /^unverified-[0-9a-f]{32}$/);
  assert.notEqual(imageKey({ source: "http://x/a.qcow2" }), imageKey({ source: "http://x/b.qcow2" }));
});

test("check computes path and key; a new checksum is a replace, a new label an update", async () => {
  const news = { hypervisor: hv, source: "http://10.77.0.1:8077/test-guest-a.qcow2", checksum: SHA };
  const c = await check({}, news);
  assert.deepEqual(c.failures, []);
  assert.equal(c.inputs.path, `${hv.storageDir}/.pulumi-virt-images/sha256-${"ab".repeat(32)}.qcow2`);
  const c2 = await check({}, { ...news, checksum: "sha256:" + "cd".repeat(32) });
  const d = await diff("id", c.inputs, c2.inputs);
  assert.deepEqual(d.replaces, ["checksum"]);
  assert.equal(d.deleteBeforeReplace, false, "the new image is ready before the old one is released");
  const c3 = await check({}, { ...news, name: "debian" });
  const d3 = await diff("id", c.inputs, c3.inputs);
  assert.deepEqual([d3.changes, d3.replaces], [true, []]);
  assert.equal((await diff("id", c.inputs, (await check({}, news)).inputs)).changes, false);
  const bad = await check({}, { hypervisor: hv, source: "http://x/a.qcow2" });
  assert.deepEqual(bad.failures.map((f) => f.property), ["checksum"]);
  const noHv = await check({}, { source: "http://x/a.qcow2", checksum: SHA });
  assert.deepEqual(noHv.failures.map((f) => f.property), ["hypervisor"]);
});

test("the host's poll answers parse; anything else is an error", () => {
  const info = JSON.stringify({ format: "qcow2", "virtual-size": 67108864 });
  assert.deepEqual(parsePoll(`ready 393216 -\n${info}\n`, false), { state: "ready", image: { size: 393216, format: "qcow2", virtualSize: 67108864, sha256: undefined } });
  assert.deepEqual(parsePoll("ready 1000 abc\n", true), { state: "ready", image: { size: 1000, format: "rootfs", virtualSize: 1000, sha256: "abc" } });
  assert.deepEqual(parsePoll("running 100 400\n", false), { state: "running", bytes: 100, total: 400 });
  assert.deepEqual(parsePoll("running 100 -\n", false), { state: "running", bytes: 100, total: undefined });
  assert.deepEqual(parsePoll("failed checksum mismatch for u: expected a, got b\n", false), { state: "failed", reason: "checksum mismatch for u: expected a, got b" });
  assert.deepEqual(parsePoll("idle\n", false), { state: "idle" });
  assert.throws(() => parsePoll("what\n", false), /unexpected answer/);
});

test("progress: a line per 10% or per 5 s, not per poll", () => {
  let now = 0;
  const lines: string[] = [];
  const p = new ProgressReporter((l) => lines.push(l), "image a", 10, 5000, () => now);
  const total = 100 * 1048576;
  for (let i = 0; i <= 100; i++) {
    now += 100;
    p.report((total * i) / 100, total);
  }
  assert.equal(lines.length, 11, lines.join("\n"));
  assert.match(lines[5], /^image a: 50\.0 MiB of 100\.0 MiB \(50%\) downloaded$/);
  const slow: string[] = [];
  const q = new ProgressReporter((l) => slow.push(l), "image b", 10, 5000, () => now);
  for (let i = 0; i < 60; i++) {
    now += 1000;
    q.report(i * 1024);
  }
  assert.ok(slow.length >= 11 && slow.length <= 13, `${slow.length} lines for 60 s without a total`);
});
