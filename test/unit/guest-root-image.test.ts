// Issue 21: a Guest's `rootDisk.image` is part of the model (so every language's SDK and the schema have it), and
// check normalises it into `rootDisk.baseImage`: state and plans only ever hold the path, so a stack that gave
// `baseImage` plans no change when it moves to `image` on the same file. No host.
import { test } from "node:test";
import assert from "node:assert/strict";
import { guestArgsSchema } from "../../provider/models/guest";
import * as guest from "../../provider/resources/impl/guest";
import { buildSchema } from "../../provider/schema/build";
import { buildPluginSchema } from "../../provider/plugin/schema";
import { hypervisorRef } from "./plan-fixtures";

const IMG = "/var/lib/libvirt/images/.pulumi-virt-images/sha256-" + "ab".repeat(32) + ".qcow2";
const REF = { path: IMG, checksum: "sha256:" + "ab".repeat(32), format: "qcow2" };
const VM = { name: "vm", virtualization: "full", vcpus: 1, memory: "256MiB", boot: { firmware: "bios" } };

const failures = (raw: unknown) => {
  const r = guestArgsSchema.safeParse(raw);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

test("rootDisk.image (a path or an Image ref) parses into rootDisk.baseImage; image itself is not kept", () => {
  for (const image of [IMG, REF]) {
    const g = guestArgsSchema.parse({ ...VM, rootDisk: { image, size: "80MiB" } });
    assert.deepEqual(g.rootDisk, { baseImage: IMG, size: 80, mode: "overlay" });
  }
  assert.deepEqual(guestArgsSchema.parse({ ...VM, rootDisk: { baseImage: IMG, mode: "copy" } }).rootDisk, { baseImage: IMG, mode: "copy" });
});

test("rootDisk.image refusals name the property: neither, both, a relative or '..' path, an unknown ref field", () => {
  assert.match(failures({ ...VM, rootDisk: { size: 64 } }).join("\n"), /^rootDisk\.image: give image .* or baseImage/m);
  assert.match(failures({ ...VM, rootDisk: { image: IMG, baseImage: IMG } }).join("\n"), /^rootDisk\.image: give either image or baseImage, not both/m);
  for (const bad of ["images/a.qcow2", "/var/lib/../../etc/passwd", { ...REF, path: "a.qcow2" }, { ...REF, url: "http://x" }, 42]) {
    const f = failures({ ...VM, rootDisk: { image: bad } });
    assert.ok(f.length > 0 && f.every((x) => x.startsWith("rootDisk.image")), `${JSON.stringify(bad)}: ${f.join("; ")}`);
  }
});

test("check: a guest whose state has baseImage plans no change when its program gives the same file as rootDisk.image", async () => {
  const base = { ...VM, hypervisor: hypervisorRef("kvm") };
  const olds = (await guest.check({}, { ...base, rootDisk: { baseImage: IMG, size: "80MiB" } })).inputs;
  for (const image of [IMG, REF]) {
    const res = await guest.check(olds, { ...base, rootDisk: { image, size: "80MiB" } });
    assert.deepEqual(res.failures, []);
    assert.deepEqual(res.inputs.rootDisk, olds.rootDisk, "the checked inputs hold baseImage only");
    assert.equal(res.inputs.plannedAction, "none");
    assert.deepEqual(res.inputs.plannedChanges, {});
    assert.equal((await guest.diff("id", olds, res.inputs)).changes, false);
  }
  // Another Image (another checksum, so another path) is still the replacement preview shows.
  const other = await guest.check(olds, { ...base, rootDisk: { image: IMG.replace("abab", "cdcd"), size: "80MiB" } });
  assert.equal(other.inputs.plannedAction, "replace");
  assert.match(JSON.stringify(other.inputs.plannedChanges), /baseImage.*replace/);
});

test("schema.json and the plugin's schema show rootDisk.image as a path or an Image ref", () => {
  for (const schema of [buildSchema(), buildPluginSchema("0.0.0")] as { types: Record<string, { properties: Record<string, { oneOf?: { type?: string; $ref?: string }[] }> }> }[]) {
    const rootDisk = Object.entries(schema.types).find(([k]) => /:GuestRootDisk$/.test(k))?.[1];
    assert.ok(rootDisk, "a GuestRootDisk type");
    const variants = rootDisk.properties.image?.oneOf ?? [];
    assert.equal(variants[0]?.type, "string");
    const ref = schema.types[String(variants[1]?.$ref).replace("#/types/", "")];
    assert.deepEqual(Object.keys(ref?.properties ?? {}), ["path", "checksum", "format"]);
  }
});
