// The Xen kernel probe (provider/drivers/xen/scripts/kernel-probe.sh) run on this machine against the lab's test
// kernel (built by lab/images/build-guest.sh, as the lab and xen tiers use it): the PV note is found; with too little
// memory for the decompressor (as on a dom0 short of it, which failed a CI run with a false "built without
// CONFIG_XEN_PV") the probe says it could not look, and the verdict is an error to retry, not a refusal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { parseKernelProbe } from "../../provider/drivers/xen/parse";

const REPO_ROOT = path.resolve(__dirname, "../../..");

test("the kernel probe script on this machine's test kernel: the note is found; with too little memory it says it could not look", () => {
  const dir = execFileSync("bash", [path.join(REPO_ROOT, "lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
  const script = path.join(REPO_ROOT, "provider/drivers/xen/scripts/kernel-probe.sh");
  const ok = execFileSync("sh", [script, `${dir}/vmlinuz`], { encoding: "utf8" });
  assert.equal(parseKernelProbe("vmlinuz", ok).capable, true, ok);
  const starved = execFileSync("sh", ["-c", 'ulimit -v 30000; exec sh "$0" "$1"', script, `${dir}/vmlinuz`], { encoding: "utf8" });
  assert.throws(() => parseKernelProbe("vmlinuz", starved), /cannot inspect vmlinuz on the host/, starved);
});
