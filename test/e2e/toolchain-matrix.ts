// The e2e toolchain matrix: what package.json promises, each end of it tested. One row is the oldest Node.js
// `engines` allows with the oldest @pulumi/pulumi the peer range allows; the other is the current LTS (the
// toolchain's default in scripts/ensure-node.sh) with the repo's own SDK (devDependencies).
// Rows come from those files, so widening a range without testing its new end is impossible.
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT, run } from "./harness";

export interface ToolchainRow {
  /** Shown in test names, e.g. "node 22 + @pulumi/pulumi 3.248.0". */
  label: string;
  nodeMajor: number;
  sdk: string;
}

export function toolchainMatrix(): ToolchainRow[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
  const oldestNode = /^>=(\d+)$/.exec(pkg.engines.node);
  const oldestSdk = /^\^(\d+\.\d+\.\d+)$/.exec(pkg.peerDependencies["@pulumi/pulumi"]);
  const ensureNode = fs.readFileSync(path.join(REPO_ROOT, "scripts/ensure-node.sh"), "utf8");
  const currentNode = /^DEFAULT_MAJOR=(\d+)$/m.exec(ensureNode);
  if (!oldestNode || !oldestSdk || !currentNode) {
    throw new Error("package.json engines.node must read '>=N', peerDependencies['@pulumi/pulumi'] '^X.Y.Z', and scripts/ensure-node.sh set DEFAULT_MAJOR");
  }
  const row = (nodeMajor: number, sdk: string): ToolchainRow => ({ label: `node ${nodeMajor} + @pulumi/pulumi ${sdk}`, nodeMajor, sdk });
  return [row(Number(oldestNode[1]), oldestSdk[1]), row(Number(currentNode[1]), pkg.devDependencies["@pulumi/pulumi"])];
}

const nodeDirs = new Map<number, Promise<string>>();

/** The bin directory of the project's Node.js of one major version (scripts/ensure-node.sh: cached, fetched once). */
export function nodeBinDir(major: number): Promise<string> {
  let dir = nodeDirs.get(major);
  if (!dir) {
    dir = run("bash", [path.join(REPO_ROOT, "scripts/ensure-node.sh"), String(major)]).then((r) => r.stdout.trim().split("\n").pop()!);
    nodeDirs.set(major, dir);
  }
  return dir;
}

/** The TestStack options that run a program on one row: its SDK in the consumer, its node first on PATH. */
export async function rowOptions(row: ToolchainRow): Promise<{ sdk: string; nodeBinDir: string }> {
  return { sdk: row.sdk, nodeBinDir: await nodeBinDir(row.nodeMajor) };
}
