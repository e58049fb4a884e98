// Writes schema.json and the README's reference section from the models (`npm run schema`).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildSchema, renderReference, spliceReadme } from "../provider/schema/build";

const root = join(__dirname, "..", "..");
const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
const schema = buildSchema(undefined, version);
writeFileSync(join(root, "schema.json"), JSON.stringify(schema, null, 2) + "\n");
const readmePath = join(root, "README.md");
const readme = readFileSync(readmePath, "utf8");
writeFileSync(readmePath, spliceReadme(readme, renderReference(schema)));
console.log("wrote schema.json and README reference");
