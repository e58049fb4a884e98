import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { buildSchema, DEFAULT_MODELS, README_BEGIN, README_END, renderReference } from "../../provider/schema/build";
import { containerArgsSchema } from "../../provider/models/container";

const root = join(__dirname, "..", "..", "..");
const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;

/** The check CI runs: the checked-in schema must be exactly what the models generate. */
function staleness(generated: unknown): string | undefined {
  const checkedIn = readFileSync(join(root, "schema.json"), "utf8");
  const fresh = JSON.stringify(generated, null, 2) + "\n";
  return checkedIn === fresh ? undefined : "schema.json differs from the models: run `npm run schema` and commit it";
}

test("schema.json is generated from the current models", () => {
  assert.equal(staleness(buildSchema(undefined, version)), undefined);
});

test("the schema check catches a deliberate model change", () => {
  const changed = {
    ...DEFAULT_MODELS,
    Container: { ...DEFAULT_MODELS.Container, input: containerArgsSchema.extend({ hugepages: z.number().optional() }) },
  };
  const schema = buildSchema(changed, version);
  assert.ok(schema.resources["pulumi-virt:index:Container"].inputProperties.hugepages, "the new input appears in the schema");
  assert.match(staleness(schema) ?? "", /run `npm run schema`/);
});

test("the schema lists every resource with required inputs and change classification", () => {
  const s = buildSchema(undefined, version);
  const tokens = Object.keys(s.resources).sort();
  assert.deepEqual(tokens, ["pulumi-virt:index:Container", "pulumi-virt:index:Guest", "pulumi-virt:index:Host", "pulumi-virt:index:Hypervisor", "pulumi-virt:index:Image", "pulumi-virt:index:Network", "pulumi-virt:index:Snapshot", "pulumi-virt:index:StoragePool"]);
  const c = s.resources["pulumi-virt:index:Container"];
  assert.ok(c.requiredInputs.includes("name") && c.requiredInputs.includes("memory") && c.requiredInputs.includes("hypervisor"));
  assert.match(c.inputProperties.memory.description ?? "", /live/);
  assert.match(c.inputProperties.template.description ?? "", /replace/);
  const g = s.resources["pulumi-virt:index:Guest"];
  assert.match(g.inputProperties.memory.description ?? "", /full: .*live.*maxMemory/);
  assert.match(g.inputProperties.rootDisk.description ?? "", /replace/);
  assert.equal(s.resources["pulumi-virt:index:Host"].properties.connection.secret, true);
  const snap = s.resources["pulumi-virt:index:Snapshot"];
  assert.match(snap.inputProperties.restore.description ?? "", /restart/);
  assert.match(snap.description, /crash-consistent/);
  assert.match(snap.description, /Xen PV Guest: refused/);
});

test("the README reference tables are generated from the schema", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const a = readme.indexOf(README_BEGIN) + README_BEGIN.length;
  const b = readme.indexOf(README_END);
  assert.ok(a > README_BEGIN.length && b > a, "README has the generated-reference markers");
  assert.equal(readme.slice(a, b).trim(), renderReference(buildSchema(undefined, version)).trim());
});
