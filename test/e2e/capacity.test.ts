// Issue 25 through the CLI: a host that cannot hold what the program asks for is refused at preview, before anything
// changes, with the numbers. Sizes are shares of what the Hypervisor reports free on the lab host (the lab hosts
// share this machine's memory, and other tests may have left machines there), never fixed figures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { TestStack } from "./harness";
import { ensureLab, loadLab, onHost } from "../support/lab";

interface Amounts { cpus: number; memoryMiB: number; diskMiB: number }

test("capacity at preview: over the host's memory fails preview naming host, numbers and consumers", async (t) => {
  await ensureLab();
  const h2 = loadLab().hosts.find((h) => h.name === "h2")!;
  const tag = Math.random().toString(36).slice(2, 7);
  const hand = `pv-cap-hand-${tag}`;
  const [a1, a2, b1, b2] = [`pv-cap-a1-${tag}`, `pv-cap-a2-${tag}`, `pv-cap-b1-${tag}`, `pv-cap-b2-${tag}`];
  const stackOf = async (stack: string) =>
    TestStack.create({
      program: "test/e2e/fixtures/capacity",
      stack,
      config: { host: JSON.stringify({ address: h2.address, port: h2.port, user: h2.user, hostKey: h2.hostKey, bridge: h2.bridge }) },
      secrets: { privateKey: readFileSync(h2.privateKeyPath, "utf8") },
    });
  const a = await stackOf("a");
  const b = await stackOf("b");
  t.after(async () => {
    await onHost(h2, ["lxc-destroy", "-f", "-n", hand]);
    await a.destroy().catch(() => undefined);
    await b.destroy().catch(() => undefined);
    await a.rm();
    await b.rm();
  });
  const setContainers = (s: TestStack, c: Record<string, number>) =>
    s.setConfig("containers", JSON.stringify(Object.fromEntries(Object.entries(c).map(([n, m]) => [n, { memory: m }]))));
  const exists = async (name: string) => (await onHost(h2, ["lxc-ls", "-1"])).stdout.split(/\s+/).includes(name);

  // The Hypervisor alone first: what is free on the host before this test's machines.
  await a.up();
  const before = (await a.outputs()) as { capacity: Amounts; free: Amounts; overcommit: { memory: number } };
  assert.equal(before.overcommit.memory, 1, "memory overcommit defaults to 1.0");
  const f0 = before.free.memoryMiB;
  assert.ok(f0 > 1024, `the lab host has memory free to test with (capacity ${before.capacity.memoryMiB} MiB, free ${f0} MiB)`);
  const share = (x: number) => Math.floor(f0 * x);

  await t.test("a program that fits is created", async () => {
    await setContainers(a, { [a1]: share(0.4) });
    await a.up();
    assert.ok(await exists(a1));
    await a.refresh();
    // Refresh updates the Hypervisor's state (stack outputs are only recomputed by the program): read it there.
    const state = JSON.parse(await a.exportState()) as { deployment: { resources: Array<{ type: string; outputs?: { free?: Amounts; committed?: Amounts } }> } };
    const hv = state.deployment.resources.find((r) => r.type.endsWith(":Hypervisor"))!;
    assert.ok(hv.outputs!.free!.memoryMiB <= f0 - share(0.4), `refreshed free (${hv.outputs!.free!.memoryMiB} MiB) counts the new container`);
  });

  await t.test("a container made by hand with a memory limit counts: one more container no longer fits", async () => {
    await onHost(h2, ["lxc-create", "-n", hand, "-t", "busybox"]);
    // The limit in the hand-made container's config, as an operator would write it.
    const conf = (await onHost(h2, ["sh", "-c", 'lxc-config lxc.lxcpath'])).stdout.trim() || "/var/lib/lxc";
    await onHost(h2, ["sh", "-c", 'printf "lxc.cgroup.memory.limit_in_bytes = %sM\\n" "$1" >> "$2"', "sh", String(share(0.3)), `${conf}/${hand}/config`]);
    // 40% + 30% + 40% of what was free: over; without the hand-made one it would fit.
    await setContainers(a, { [a1]: share(0.4), [a2]: share(0.4) });
    const res = await a.preview({ allowFailure: true });
    const text = res.stdout + res.stderr;
    assert.notEqual(res.code, 0, "preview must fail");
    assert.match(text, new RegExp(`host "${h2.hostname}" cannot hold this: memory`));
    assert.match(text, /committed .* against a limit of .*capacity .* × overcommit\.memory 1/);
    assert.match(text, new RegExp(`container "${hand}" \\(lxc, [^)]*\\), not managed by pulumi-virt\\)`));
    assert.match(text, new RegExp(`container "${a2}" \\(lxc, [^)]*\\), this program\\)`));
    assert.ok(!(await exists(a2)), "nothing was created");
  });

  await t.test("a live memory grow that would overcommit the host is refused at preview", async () => {
    await setContainers(a, { [a1]: share(0.75) });
    const res = await a.preview({ allowFailure: true });
    assert.notEqual(res.code, 0, "preview must fail");
    assert.match(res.stdout + res.stderr, /cannot hold this: memory/);
    // Raising the policy lets it through (an explicit, visible choice).
    await a.setConfig("overcommit", JSON.stringify({ memory: 1.5 }));
    await a.preview();
    await a.setConfig("overcommit", "{}");
    await setContainers(a, { [a1]: share(0.4) });
  });

  await t.test("a second stack on the same host sees the first stack's machines; one preview's machines add up", async () => {
    // 40% (stack a) + 30% (by hand) + 20% + 20% (stack b): over. Without stack a's container it would fit, and each
    // of stack b's containers fits alone: the failure needs both stacks and both of b's checks in one provider process.
    await setContainers(b, { [b1]: share(0.2), [b2]: share(0.2) });
    const res = await b.preview({ allowFailure: true });
    const text = res.stdout + res.stderr;
    assert.notEqual(res.code, 0, "preview must fail");
    assert.match(text, new RegExp(`container "${a1}" \\(lxc, [^)]*\\), pulumi-virt\\)`));
    assert.match(text, new RegExp(`container "${b1}" \\(lxc, [^)]*\\), this program\\)`));
    assert.match(text, new RegExp(`container "${b2}" \\(lxc, [^)]*\\), this program\\)`));
    assert.ok(!(await exists(b1)) && !(await exists(b2)));
  });
});
