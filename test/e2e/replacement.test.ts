// Issue 19, finding 8 through the real CLI: a Container template change to a template the host cannot build fails
// `pulumi up`, and the old container is still there and running with the same init (PID); the stack is unchanged.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { TestStack } from "./harness";
import { ensureLab, loadLab, onHost } from "../support/lab";

test("a failed Container replacement leaves the old container running (same init PID) and the stack unchanged", async (t) => {
  await ensureLab();
  const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const name = `rep-e2e-${randomBytes(3).toString("hex")}`;
  const web: Record<string, unknown> = { hypervisor: "lxc1", name, memory: "64MiB" };
  const stack = await TestStack.create({
    program: "test/e2e/fixtures/matrix",
    config: {
      hosts: JSON.stringify({ h1: { address: h1.address, port: h1.port, user: h1.user, hostKey: h1.hostKey } }),
      hypervisors: JSON.stringify({ lxc1: { host: "h1", kind: "lxc", bridge: "pvbr0" } }),
      containers: JSON.stringify({ web }),
    },
    secrets: { privateKey: readFileSync(h1.privateKeyPath, "utf8") },
  });
  t.after(async () => {
    await stack.destroy().catch(() => undefined);
    await stack.rm();
  });
  const pid = async () => (await onHost(h1, ["lxc-info", "-n", name, "-p", "-H"])).stdout.trim();

  await stack.up();
  const before = await pid();
  assert.match(before, /^\d+$/);

  await stack.setConfig("containers", JSON.stringify({ web: { ...web, template: "/var/lib/pulumi-virt-missing/rootfs.tar.gz" } }));
  const p = await stack.preview({ json: true });
  const step = p.steps.find((s) => s.urn.endsWith("::web") && s.newState?.inputs?.plannedAction);
  assert.equal(step?.newState?.inputs?.plannedAction, "replace");
  const failed = await stack.pulumi(["up", "--yes", "--skip-preview"], { okCodes: [255, 1] });
  const text = failed.stdout + failed.stderr;
  assert.match(text, /the replacement could not be built/);
  assert.match(text, /old container was not touched and keeps running/);
  assert.equal(await pid(), before, "the old container runs on with the same init");
  assert.match((await onHost(h1, ["lxc-info", "-n", name, "-s", "-H"])).stdout, /RUNNING/);
  assert.equal((await onHost(h1, ["sh", "-c", 'lxc-ls -1 | grep -c -- "-pvnew-" || true'])).stdout.trim(), "0", "no half-built container left");

  // Back to the template it has: nothing to do, the stack still manages the same container.
  await stack.setConfig("containers", JSON.stringify({ web }));
  await stack.preview({ expectNoChanges: true });
  await stack.refresh({ expectNoChanges: true });
  assert.equal(await pid(), before);
});
