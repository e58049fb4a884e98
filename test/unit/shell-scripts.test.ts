// Remote scripts are shell files (provider/**/*.sh): each must parse under dash, pass shellcheck, ship in the
// build, and reach the host as one self-contained text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { shellScript } from "../../provider/drivers/shell";
import { REGISTER_DIR } from "../../provider/drivers/lxc/scripts";

const repoRoot = path.resolve(__dirname, "..", "..", "..");
const providerDir = path.join(repoRoot, "provider");

function filesUnder(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p, suffix));
    else if (e.name.endsWith(suffix)) out.push(p);
  }
  return out.sort();
}

const shellFiles = filesUnder(providerDir, ".sh");
const rel = (p: string) => path.relative(repoRoot, p);

test("the drivers' scripts are shell files under provider/", () => {
  // lxc, kvm, xen and host each have several; a count far below this means the search looked in the wrong place.
  assert.ok(shellFiles.length >= 30, `found only ${shellFiles.length} .sh files under ${providerDir}`);
});

test("every .sh file under provider/ parses with sh -n (the hosts' /bin/sh is dash)", () => {
  const findings: string[] = [];
  for (const f of shellFiles) {
    const r = spawnSync("sh", ["-n", f], { encoding: "utf8" });
    if (r.status !== 0) findings.push(`${rel(f)}: ${r.stderr.trim()}`);
  }
  assert.deepEqual(findings, [], `sh -n found:\n${findings.join("\n")}`);
});

test("every .sh file under provider/ passes shellcheck (settings: provider/.shellcheckrc)", () => {
  const version = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
  assert.equal(version.status, 0, "shellcheck is not installed: it is a Debian package (apt-get install shellcheck; scripts/ensure-packages.sh installs it)");
  const findings: string[] = [];
  for (const f of shellFiles) {
    // From the script's folder, so `. ./fragment.sh` lines are followed like the loader inlines them.
    const r = spawnSync("shellcheck", ["-x", "-f", "gcc", path.basename(f)], { cwd: path.dirname(f), encoding: "utf8" });
    if (r.status !== 0) findings.push(`${rel(f)}:\n${(r.stdout + r.stderr).trim()}`);
  }
  assert.deepEqual(findings, [], `shellcheck found:\n${findings.join("\n")}`);
});

test("the build ships every script: dist/provider holds the same .sh files, byte for byte", () => {
  const missing: string[] = [];
  for (const f of shellFiles) {
    const built = path.join(repoRoot, "dist", path.relative(repoRoot, f));
    if (!fs.existsSync(built) || !fs.readFileSync(built).equals(fs.readFileSync(f))) missing.push(rel(f));
  }
  assert.deepEqual(missing, [], "not copied into dist by `npm run build` (scripts/copy-shell-scripts.js)");
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { files: string[] };
  assert.ok(pkg.files.includes("dist/provider"), "package.json files must ship dist/provider (the scripts live there)");
});

test("a loaded script is self-contained: fragments inlined, parses under sh, read once", () => {
  for (const f of shellFiles) {
    const driver = path.basename(path.dirname(path.dirname(f)));
    assert.equal(path.basename(path.dirname(f)), "scripts", `${rel(f)}: scripts live in provider/drivers/<driver>/scripts/`);
    const text = shellScript(driver, path.basename(f));
    assert.ok(!/^\. \.\//m.test(text), `${rel(f)}: a fragment was not inlined`);
    const r = spawnSync("sh", ["-n", "-c", text], { encoding: "utf8" });
    assert.equal(r.status, 0, `${rel(f)} as sent: ${r.stderr}`);
    assert.equal(shellScript(driver, path.basename(f)), text);
  }
});

test("the composed LXC scripts carry their fragments and the read", () => {
  const createThenRead = shellScript("lxc", "create-then-read.sh");
  for (const fragment of ["release-image.sh", "loop-lock.sh", "create.sh", "read.sh"]) {
    const body = shellScript("lxc", fragment).trim().split("\n").filter((l) => !l.startsWith("#") && l.trim())[0];
    assert.ok(createThenRead.includes(body), `create-then-read.sh lacks ${fragment}`);
  }
});

test("no provider code runs shell written in a TypeScript string (the transport's own plumbing aside)", () => {
  const offenders: string[] = [];
  for (const f of filesUnder(providerDir, ".ts")) {
    if (f.startsWith(path.join(providerDir, "ssh") + path.sep)) continue;
    const src = fs.readFileSync(f, "utf8");
    // A literal script argument, or a multi-line template string that starts like a script.
    if (/\.script\(\s*[`'"]/.test(src) || /=\s*`\s*(set [-+]e|n="\$1"|if |for |echo |[a-z]+="\$1")/.test(src)) offenders.push(rel(f));
  }
  assert.deepEqual(offenders, []);
});

test("the LXC scripts and REGISTER_DIR name the same register directory", () => {
  for (const file of ["create.sh", "destroy.sh", "rename.sh"]) {
    assert.ok(shellScript("lxc", file).includes(`"$LXCPATH/${REGISTER_DIR}`), `${file} does not use $LXCPATH/${REGISTER_DIR}`);
  }
});
