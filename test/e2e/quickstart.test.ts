// Issues 3, 5, 6 end to end through the real CLI: the quickstart against lab host h1.
// up creates on the host (checked on the host), a no-op preview is a no-op, a resize previews as live in the normal
// output and in --json, up applies it live (init PID unchanged), refresh sees hand-made drift, destroy removes everything.
// On each row of the toolchain matrix (oldest supported Node + SDK, current LTS + current SDK).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { TestStack } from "./harness";
import { rowOptions, toolchainMatrix } from "./toolchain-matrix";
import { ensureLab, loadLab, onHost } from "../support/lab";

for (const row of toolchainMatrix()) {
  test(`quickstart [${row.label}]: create, no-op, live resize, drift, destroy — through the pulumi CLI`, async (t) => {
    await ensureLab();
    const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
    const key = readFileSync(h1.privateKeyPath, "utf8");
    const name = `qs${Date.now().toString(36).slice(-6)}`;
    const trace = path.join(mkdtempSync(path.join(tmpdir(), "qs-trace-")), "commands.tsv");
    const stack = await TestStack.create({
      program: "examples/quickstart",
      config: {
        host: JSON.stringify({ address: h1.address, port: h1.port, user: h1.user, hostKey: h1.hostKey, bridge: h1.bridge, guestSubnet: h1.guestSubnet }),
        containerName: name,
        size: JSON.stringify({ cpus: 1, memory: "256MiB", disk: "300MiB" }),
      },
      secrets: { privateKey: key },
      // One line per remote command the provider runs (start, ms, host, step): what each `up` costs on the host.
      env: { PULUMI_VIRT_TRACE_FILE: trace },
      ...(await rowOptions(row)),
    });
    const steps = () => (existsSync(trace) ? readFileSync(trace, "utf8").trim().split("\n").map((l) => l.split("\t")[3]) : []);
    const onH1 = async (argv: string[]) => (await onHost(h1, argv)).stdout.trim();
    const initPid = async () => Number(await onH1(["lxc-info", "-n", name, "-p", "-H"]));
    t.after(async () => {
      await stack.destroy().catch(() => undefined);
      await stack.rm();
    });

    await t.test("up creates the container on the host", async () => {
      await stack.up();
      assert.match(await onH1(["lxc-info", "-n", name, "-s", "-H"]), /RUNNING/);
      // The host's facts are read once (check reads them; create takes them), the Hypervisor verifies LXC once, and
      // the container is created, configured and started in two round trips.
      const ran = steps();
      assert.equal(ran.filter((s) => s === "read host facts").length, 1, ran.join(" | "));
      assert.equal(ran.filter((s) => s === `create container ${name}`).length, 2, ran.join(" | "));
      const v1 = await onH1(["lxc-cgroup", "-n", name, "memory.limit_in_bytes"]);
      assert.equal(Number(v1), 256 * 1048576);
    });

    await t.test("a second preview is a no-op", async () => {
      const p = await stack.preview({ json: true });
      const { same: _same, ...changes } = p.changeSummary;
      assert.deepEqual(changes, {});
      await stack.preview({ expectNoChanges: true });
    });

    await t.test("refresh reports no drift", async () => {
      await stack.refresh({ expectNoChanges: true });
    });

    const pidBefore = await initPid();

    await t.test("a resize previews as live per property, in the console and in --json", async () => {
      await stack.setConfig("size", JSON.stringify({ cpus: 2, memory: "512MiB", disk: "600MiB" }));
      const text = await stack.preview({ diff: true });
      assert.match(text.stdout, /memory.*live: 256 → 512: applied live/);
      assert.match(text.stdout, /disk\.size.*live: 300 → 600: applied live \(online xfs_growfs\)/);
      const json = await stack.preview({ json: true });
      const step = json.steps.find((s) => s.urn.endsWith("::web"))!;
      assert.equal(step.op, "update");
      const planned = step.newState!.inputs!.plannedChanges as Record<string, string>;
      assert.match(planned.memory, /^live:/);
      assert.match(planned.cpus, /^live:/);
      assert.match(planned["disk.size"], /^live:/);
      assert.equal(step.newState!.inputs!.plannedAction, "live");
    });

    await t.test("up applies it live: same init PID, new limits enforced on the host", async () => {
      await stack.up();
      assert.equal(await initPid(), pidBefore, "the container was not restarted");
      assert.equal(Number(await onH1(["lxc-cgroup", "-n", name, "memory.limit_in_bytes"])), 512 * 1048576);
      assert.equal((await onH1(["lxc-cgroup", "-n", name, "cpuset.cpus"])).split(/[,-]/).length, 2);
      const df = await onH1(["lxc-attach", "-n", name, "--", "df", "-m", "/"]);
      const sizeMb = Number(df.split("\n")[1].trim().split(/\s+/)[1]);
      assert.ok(sizeMb > 450, `df inside shows the grown filesystem (${sizeMb} MiB)`);
      const outs = await stack.outputs();
      assert.equal((outs.container as any).lastApplied.action, "live");
    });

    await t.test("a disk shrink is refused at preview, naming the property", async () => {
      await stack.setConfig("size", JSON.stringify({ cpus: 2, memory: "512MiB", disk: "300MiB" }));
      const res = await stack.preview({ allowFailure: true });
      assert.notEqual(res.code, 0);
      assert.match(res.stdout + res.stderr, /disk/);
      assert.match(res.stdout + res.stderr, /allowDataLoss/);
      await stack.setConfig("size", JSON.stringify({ cpus: 2, memory: "512MiB", disk: "600MiB" }));
    });

    await t.test("drift made by hand shows on refresh, and the next up corrects it live", async () => {
      await onH1(["lxc-cgroup", "-n", name, "memory.limit_in_bytes", String(300 * 1048576)]);
      const r = await stack.refresh();
      assert.match(r.stdout, /~ 1 updated|1 updated/);
      const p = await stack.preview({ json: true });
      const step = p.steps.find((s) => s.urn.endsWith("::web"))!;
      assert.match(String((step.newState!.inputs!.plannedChanges as any).memory), /^live: 300 → 512/);
      await stack.up();
      assert.equal(Number(await onH1(["lxc-cgroup", "-n", name, "memory.limit_in_bytes"])), 512 * 1048576);
      assert.equal(await initPid(), pidBefore);
    });

    await t.test("the state file holds no private key in plain text", async () => {
      const state = await stack.exportState();
      const body = key.split("\n").filter((l) => l && !l.startsWith("-----"));
      for (const line of body) assert.ok(!state.includes(line), "a line of the private key appears in the state");
    });

    await t.test("destroy removes the container from the host", async () => {
      await stack.destroy();
      const ls = await onH1(["lxc-ls", "-1"]);
      assert.ok(!ls.split("\n").includes(name));
    });
  });
}
