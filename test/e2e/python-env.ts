// The Python environment a user runs Pulumi Python programs in, for the `virt` Python SDK tests (issue 27). The
// `pulumi` Python package is not installable by the project (no Python package index is reachable here), so it is
// found, never installed: PULUMI_VIRT_PYTHON (a virtualenv directory or an interpreter) if set, else python3 on PATH.
// It must import `pulumi` and have pip (which installs the generated SDK beside the test, never into it).
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "./harness";

export interface PythonEnv {
  /** The interpreter. */
  python: string;
  /** The virtualenv it belongs to (Pulumi.yaml's `virtualenv` option), or undefined for a system interpreter. */
  virtualenv?: string;
  /** `pulumi.__version__`-like version of the pulumi SDK found. */
  pulumiVersion: string;
}

const PROBE = [
  "import sys, pulumi, pulumi.runtime, pulumi._version as v",
  "print(sys.prefix if sys.prefix != sys.base_prefix else '')",
  "print(v._VERSION)",
].join("\n");

/** The environment, or the one-line reason none is usable. */
export async function findPythonEnv(): Promise<PythonEnv | string> {
  const given = process.env.PULUMI_VIRT_PYTHON;
  let python = "python3";
  if (given) python = fs.existsSync(path.join(given, "bin", "python")) ? path.join(given, "bin", "python") : given;
  const where = given ? `PULUMI_VIRT_PYTHON=${given}` : "python3 on PATH (set PULUMI_VIRT_PYTHON to a virtualenv)";
  const probe = await run(python, ["-c", PROBE], { okCodes: [0, 1, 127] }).catch((e: Error) => e);
  if (probe instanceof Error) return `${where}: cannot run it (${probe.message.split("\n")[0]})`;
  if (probe.code !== 0) return `${where} has no \`pulumi\` Python SDK (${probe.stderr.trim().split("\n").pop()})`;
  const pip = await run(python, ["-m", "pip", "--version"], { okCodes: [0, 1] });
  if (pip.code !== 0) return `${where} has the \`pulumi\` SDK but no pip to install the generated SDK with`;
  const [virtualenv, pulumiVersion] = probe.stdout.split("\n");
  return { python, virtualenv: virtualenv || undefined, pulumiVersion };
}

/**
 * Installs the generated SDK (its setup.py) into `target` without touching the environment: no dependencies, no
 * index, no build isolation (the environment already has what it needs). Put `target` on PYTHONPATH to use it; the
 * installed metadata is what the SDK's _utilities.get_version reads.
 */
export async function installGeneratedSdk(env: PythonEnv, sdkDir: string, target: string): Promise<void> {
  await run(env.python, ["-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-build-isolation", "--target", target, sdkDir], {
    env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1" },
  });
}
