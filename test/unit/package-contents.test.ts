// What users get from the npm registry: `npm pack --dry-run --json` lists the published files, and package.json's
// dependency fields say what the package needs from the program (one @pulumi/pulumi, the program's own).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { builtinModules } from "node:module";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(__dirname, "..", "..", "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

function npmJson(args: string[]): unknown {
  return JSON.parse(execFileSync("npm", [...args, "--json"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

const packed = new Set(
  (npmJson(["pack", "--dry-run"]) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path),
);

test("the package holds the provider code, its types, schema.json, README and LICENSE", () => {
  for (const f of ["package.json", "README.md", "LICENSE", "schema.json", pkg.main, pkg.types, pkg.bin["pulumi-virt"]]) {
    assert.ok(packed.has(f), `${f} is not in the package`);
  }
  // Every provider source file ships: compiled (.js + .d.ts) for TypeScript, as is (under dist/ or not) otherwise,
  // e.g. a driver's remote .sh script.
  const missing: string[] = [];
  for (const src of filesUnder(join(root, "provider"))) {
    // Docs and linter settings (provider/.shellcheckrc) are for this repository, not for users.
    if (src.endsWith(".md") || /(^|\/)\.[^/]+$/.test(src)) continue;
    const wanted = src.endsWith(".ts")
      ? [[`dist/${src.replace(/\.ts$/, ".js")}`], [`dist/${src.replace(/\.ts$/, ".d.ts")}`]]
      : [[`dist/${src}`, src]];
    for (const alternatives of wanted) if (!alternatives.some((f) => packed.has(f))) missing.push(alternatives[0]);
  }
  assert.deepEqual(missing, [], "provider files missing from the package");
  assert.match(readFileSync(join(root, "LICENSE"), "utf8"), /Apache License\s+Version 2\.0, January 2004/);
  assert.equal(pkg.license, "Apache-2.0");
});

test("the package holds no tests, lab, bench, examples, tools or build scripts", () => {
  const stray = [...packed].filter((f) => /^(dist\/)?(test|lab|bench|examples|tools|scripts|\.ci)\//.test(f));
  assert.deepEqual(stray, []);
  assert.ok(packed.size < 400, `${packed.size} files: did a whole directory slip in?`);
});

test("@pulumi/pulumi is a peer dependency (the program's one copy), with the repo's own SDK inside the range", () => {
  assert.equal(pkg.dependencies["@pulumi/pulumi"], undefined, "a dependency would nest a second SDK copy under pulumi-virt");
  const range: string = pkg.peerDependencies["@pulumi/pulumi"];
  const [lowMajor, lowMinor] = /^\^(\d+)\.(\d+)\.\d+$/.exec(range)!.slice(1).map(Number);
  const [devMajor, devMinor] = pkg.devDependencies["@pulumi/pulumi"].split(".").map(Number);
  assert.ok(devMajor === lowMajor && devMinor >= lowMinor, `devDependency ${pkg.devDependencies["@pulumi/pulumi"]} outside ${range}`);
  assert.match(pkg.engines.node, /^>=\d+$/);
});

test("the provider loads only Node built-ins, its dependencies and the peer SDK at run time", () => {
  const allowed = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)]);
  const builtins = new Set(builtinModules);
  const stray = new Set<string>();
  for (const f of filesUnder(join(root, "dist", "provider")).filter((f) => f.endsWith(".js"))) {
    for (const m of readFileSync(join(root, f), "utf8").matchAll(/require\("([^"./][^"]*)"\)/g)) {
      const spec = m[1].replace(/^node:/, "");
      const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
      if (!builtins.has(spec) && !builtins.has(name) && !allowed.has(name)) stray.add(`${f}: ${m[1]}`);
    }
  }
  // @pulumi/command in particular is only a devDependency: the example and the interop test use it, the provider
  // only shapes its `connection` outputs like remote.Connection.
  assert.deepEqual([...stray], []);
});

test("every installed dependency's install script is decided in allowScripts (pulumi-virt needs none to run)", () => {
  const pending = npmJson(["install-scripts", "ls"]) as { allowScripts: unknown[] };
  assert.deepEqual(pending.allowScripts, [], "run `npm install-scripts ls` and record a decision in package.json");
  assert.deepEqual(Object.values(pkg.allowScripts).filter((v) => v !== false), [], "an install script is allowed");
});
