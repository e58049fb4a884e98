// A newcomer's first steps (issue 23), on each row of the toolchain matrix: a fresh directory, `npm init -y`, the
// row's @pulumi/pulumi (with typescript and @types/node, as a TypeScript program has), then the packed pulumi-virt
// tarball. There must be exactly one @pulumi/pulumi in the tree (pulumi-virt takes it as a peer), and a first
// program (Host + lxc Hypervisor + busybox Container on lab host h1) must go through up, preview and destroy.
// npm runs on the row's Node.js too, offline-first from npm's cache, so a second run is quick.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT, TestStack, packedTarball, run } from "./harness";
import { nodeBinDir, toolchainMatrix } from "./toolchain-matrix";
import { ensureLab, labHost, onHostOk } from "../support/lab";

const NPM_FLAGS = ["--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"];

/** Every installed copy of @pulumi/pulumi under dir: path relative to dir → version. */
function sdkCopies(dir: string): Record<string, string> {
  const copies: Record<string, string> = {};
  const walk = (nm: string) => {
    if (!fs.existsSync(nm)) return;
    for (const name of fs.readdirSync(nm)) {
      if (name.startsWith(".")) continue;
      const pkgs = name.startsWith("@") ? fs.readdirSync(path.join(nm, name)).map((n) => path.join(name, n)) : [name];
      for (const p of pkgs) {
        const pkgDir = path.join(nm, p);
        if (p === path.join("@pulumi", "pulumi")) {
          copies[path.relative(dir, pkgDir)] = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")).version;
        }
        walk(path.join(pkgDir, "node_modules"));
      }
    }
  };
  walk(path.join(dir, "node_modules"));
  return copies;
}

for (const row of toolchainMatrix()) {
  test(`newcomer [${row.label}]: npm init, the SDK, the packed tarball: one @pulumi/pulumi; up, preview, destroy on h1`, async (t) => {
    const [nodeBin, tarball] = await Promise.all([nodeBinDir(row.nodeMajor), packedTarball()]);
    const root = path.join(os.tmpdir(), "pulumi-virt-e2e");
    fs.mkdirSync(root, { recursive: true });
    const dir = fs.mkdtempSync(path.join(root, "newcomer-"));
    let stack: TestStack | undefined;
    t.after(async () => {
      await stack?.destroy().catch(() => undefined);
      await stack?.rm();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const env = { ...process.env, PATH: `${nodeBin}${path.delimiter}${process.env.PATH ?? ""}` };
    const npm = (args: string[]) => run("npm", args, { cwd: dir, env });
    const dev = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).devDependencies;

    await t.test("npm init, @pulumi/pulumi, then the pulumi-virt tarball: npm ls shows one SDK copy", async () => {
      await npm(["init", "-y"]);
      await npm(["install", ...NPM_FLAGS, `@pulumi/pulumi@${row.sdk}`, `typescript@${dev.typescript}`, `@types/node@${dev["@types/node"]}`]);
      await npm(["install", ...NPM_FLAGS, tarball.file]);
      // npm ls exits non-zero on an invalid or missing peer: run() would throw.
      const ls = (await npm(["ls", "@pulumi/pulumi", "--all"])).stdout;
      t.diagnostic(`npm ls @pulumi/pulumi --all:\n${ls.trimEnd()}`);
      const lines = ls.trim().split("\n").slice(1);
      assert.equal(lines.filter((l) => /@pulumi\/pulumi@/.test(l) && !/deduped/.test(l)).length, 1, ls);
      assert.ok(lines.some((l) => l.includes(`@pulumi/pulumi@${row.sdk}`) && !l.includes("deduped")), ls);
      assert.ok(lines.some((l) => /pulumi-virt@/.test(l)), ls);
      assert.ok(lines.every((l) => !/@pulumi\/pulumi@/.test(l) || l.includes(`@${row.sdk}`)), ls);
      // ... and on disk: one copy, at the top, of the row's version.
      assert.deepEqual(sdkCopies(dir), { [path.join("node_modules", "@pulumi", "pulumi")]: row.sdk });
    });

    await ensureLab();
    const h1 = labHost("h1");
    const name = `nc${row.nodeMajor}${Date.now().toString(36).slice(-5)}`;
    const created = await TestStack.create({
      program: "test/e2e/fixtures/newcomer",
      consumer: dir,
      nodeBinDir: nodeBin,
      config: {
        host: JSON.stringify({ address: h1.address, port: h1.port, user: h1.user, hostKey: h1.hostKey, bridge: h1.bridge }),
        containerName: name,
      },
      secrets: { privateKey: fs.readFileSync(h1.privateKeyPath, "utf8") },
    });
    stack = created;

    await t.test("pulumi up creates the container on h1, with the row's node and SDK", async () => {
      await created.up();
      const outs = await created.outputs();
      assert.equal(outs.containerName, name);
      assert.equal(Number((await onHostOk(h1, ["lxc-info", "-n", name, "-p", "-H"])).trim()), outs.initPid);
      assert.equal((outs.runtime as { sdk: string }).sdk, row.sdk);
      assert.match((outs.runtime as { node: string }).node, new RegExp(`^v${row.nodeMajor}\\.`));
      assert.equal(outs.providerNode, (outs.runtime as { node: string }).node);
    });

    await t.test("pulumi preview shows no changes", async () => {
      await created.preview({ expectNoChanges: true });
    });

    await t.test("pulumi destroy removes the container", async () => {
      await created.destroy();
      assert.ok(!(await onHostOk(h1, ["lxc-ls", "-1"])).split("\n").includes(name));
    });
  });
}
