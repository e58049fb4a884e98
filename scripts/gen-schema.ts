// Writes schema.json and the README's reference section from the models (`npm run schema`).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildSchema, renderReference, spliceReadme } from "../provider/schema/build";
import { buildPluginSchema } from "../provider/plugin/schema";

const root = join(__dirname, "..", "..");
const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
const schema = buildSchema(undefined, version);
writeFileSync(join(root, "schema.json"), JSON.stringify(schema, null, 2) + "\n");
// The `virt` plugin's package schema (provider/plugin/schema.ts), from the same models.
writeFileSync(join(root, "schema.virt.json"), JSON.stringify(buildPluginSchema(version), null, 2) + "\n");
const readmePath = join(root, "README.md");
const readme = readFileSync(readmePath, "utf8");
writeFileSync(readmePath, spliceReadme(readme, renderReference(schema)));
console.log("wrote schema.json, schema.virt.json and README reference");
