// The directory the bench programs run from (pulumi-virt installed from this checkout's packed tarball).
// Normally the e2e harness prepares it (it rebuilds and fails on any tsc error). When the tree has a type error
// in code the benchmarks never load, scripts/bench.sh says so (BENCH_BUILD_OK=0) and the bench packs what tsc
// emitted into its own consumer directory, the way the harness does.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { consumerDir, REPO_ROOT } from "../test/e2e/harness";
import { BENCH_DIR } from "./lab-sshd";
import { log } from "./util";

export async function prepareConsumer(): Promise<string> {
  if (process.env.PULUMI_VIRT_E2E_CONSUMER || process.env.BENCH_BUILD_OK !== "0") return consumerDir();
  log("the build reported type errors: packing the emitted dist/ into the bench's own consumer directory");
  const packDir = fs.mkdtempSync(path.join(BENCH_DIR, "pack-"));
  try {
    const tgzName = execFileSync("npm", ["pack", "--silent", "--pack-destination", packDir], { cwd: REPO_ROOT, encoding: "utf8" }).trim().split("\n").pop()!;
    const tgz = fs.readFileSync(path.join(packDir, tgzName));
    const dir = path.join(BENCH_DIR, `consumer-${createHash("sha256").update(tgz).digest("hex").slice(0, 16)}`);
    for (const old of fs.readdirSync(BENCH_DIR)) {
      // ~130 MB each: keep only the one for this tarball.
      if (old.startsWith("consumer-") && path.join(BENCH_DIR, old) !== dir) fs.rmSync(path.join(BENCH_DIR, old), { recursive: true, force: true });
    }
    if (!fs.existsSync(path.join(dir, ".ready"))) {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "pulumi-virt.tgz"), tgz);
      const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
      const dependencies = { "pulumi-virt": "file:./pulumi-virt.tgz", "@pulumi/pulumi": pkg.devDependencies["@pulumi/pulumi"] }; // the repo's own SDK (pulumi-virt takes it as a peer)
      fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "pulumi-virt-bench-consumer", private: true, dependencies }, null, 2));
      execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
      fs.writeFileSync(path.join(dir, ".ready"), new Date().toISOString());
    }
    process.env.PULUMI_VIRT_E2E_CONSUMER = dir;
    return consumerDir();
  } finally {
    fs.rmSync(packDir, { recursive: true, force: true });
  }
}
