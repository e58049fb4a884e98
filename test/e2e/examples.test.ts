// Issue 10: every example runs against the lab through the CLI, consumed as a dependency (packed tarball).
// (quickstart and xen have their own files: quickstart.test.ts, xen.test.ts.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { REPO_ROOT, TestStack } from "./harness";
import { ensureLab, loadLab, onHost, LabHost } from "../support/lab";

const hostCfg = (h: LabHost) => ({ name: h.name, address: h.address, port: h.port, user: h.user, hostKey: h.hostKey, bridge: h.bridge, guestSubnet: h.guestSubnet });
const sh = async (h: LabHost, argv: string[]) => (await onHost(h, argv)).stdout.trim();

test("examples run against the lab", async (t) => {
  await ensureLab();
  const lab = loadLab();
  const [h1, h2] = ["h1", "h2"].map((n) => lab.hosts.find((h) => h.name === n)!);
  const key = readFileSync(h1.privateKeyPath, "utf8");

  await t.test("template: a WebTier of 2 containers over 2 hosts; one size knob resizes every member live", async () => {
    const stack = await TestStack.create({
      program: "examples/template",
      config: { hosts: JSON.stringify([hostCfg(h1), hostCfg(h2)]), count: "2", size: "small", prefix: "tier" },
      secrets: { privateKey: key },
    });
    try {
      await stack.up();
      const pid0 = await sh(h1, ["lxc-info", "-n", "tier-0", "-p", "-H"]);
      const pid1 = await sh(h2, ["lxc-info", "-n", "tier-1", "-p", "-H"]);
      assert.match(pid0, /^\d+$/);
      assert.match(pid1, /^\d+$/);
      await stack.setConfig("size", "medium");
      const p = await stack.preview({ json: true });
      const members = p.steps.filter((s) => /::web-\d$/.test(s.urn));
      assert.equal(members.length, 2);
      for (const m of members) assert.equal(m.newState!.inputs!.plannedAction, "live");
      await stack.up();
      assert.equal(await sh(h1, ["lxc-info", "-n", "tier-0", "-p", "-H"]), pid0);
      assert.equal(await sh(h2, ["lxc-info", "-n", "tier-1", "-p", "-H"]), pid1);
      assert.equal(Number(await sh(h2, ["lxc-cgroup", "-n", "tier-1", "memory.limit_in_bytes"])), 512 * 1048576);
      await stack.destroy();
      assert.ok(!(await sh(h1, ["lxc-ls", "-1"])).split("\n").includes("tier-0"));
    } finally {
      await stack.destroy().catch(() => undefined);
      await stack.rm();
    }
  });

  await t.test("fleet: a container on each host and an emulated full-virtualization guest, from stack config", async () => {
    const img = execFileSync("bash", [join(REPO_ROOT, "lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
    const stack = await TestStack.create({
      program: "examples/fleet",
      config: {
        hosts: JSON.stringify([hostCfg(h1), hostCfg(h2)]),
        guestImage: JSON.stringify({ kernel: `${img}/vmlinuz`, initrd: `${img}/initrd.img`, baseImage: `${img}/base-a.qcow2` }),
        allowEmulation: "true",
        prefix: "flt",
      },
      secrets: { privateKey: key },
    });
    try {
      await stack.up();
      assert.match(await sh(h1, ["lxc-info", "-n", "flt-app", "-s", "-H"]), /RUNNING/);
      assert.match(await sh(h2, ["lxc-info", "-n", "flt-app", "-s", "-H"]), /RUNNING/);
      assert.match(await sh(h1, ["virsh", "-c", "qemu:///system", "domstate", "flt-vm"]), /running/);
      const outs = (await stack.outputs()) as any;
      assert.equal(outs.kvmEmulated, true);
      assert.equal(outs.guest.emulated, true);
      await stack.destroy();
      const r = await onHost(h1, ["virsh", "-c", "qemu:///system", "domstate", "flt-vm"]);
      assert.notEqual(r.code, 0, "the guest is gone");
    } finally {
      await stack.destroy().catch(() => undefined);
      await stack.rm();
    }
  });

  await t.test("review: preview --json → pulumi-virt review (table, Markdown, --fail-on) → up", async () => {
    const stack = await TestStack.create({
      program: "examples/review",
      config: { host: JSON.stringify(hostCfg(h1)), size: JSON.stringify({ cpus: 1, memory: "256MiB", disk: "300MiB" }), name: "rv-app" },
      secrets: { privateKey: key },
    });
    const bin = join(stack.dir, "..", "..", "node_modules", ".bin", "pulumi-virt");
    const review = (file: string, ...args: string[]) => spawnSync(bin, ["review", file, ...args], { encoding: "utf8" });
    try {
      await stack.up();
      // A live change passes a --fail-on restart gate.
      await stack.setConfig("size", JSON.stringify({ cpus: 2, memory: "512MiB", disk: "300MiB" }));
      const live = join(stack.dir, "preview-live.json");
      writeFileSync(live, (await stack.pulumi(["preview", "--json"])).stdout);
      const table = review(live, "--fail-on", "restart");
      assert.equal(table.status, 0, table.stderr);
      assert.match(table.stdout, /app\s+Container\s+memory\s+256 → 512\s+LIVE/);
      assert.match(table.stdout, /Totals: 2 live, 0 restart, 0 replace/);
      // A template change is a replacement: the gate fails and the Markdown report says why.
      await stack.setConfig("template", "debian:bookworm");
      const repl = join(stack.dir, "preview-replace.json");
      writeFileSync(repl, (await stack.pulumi(["preview", "--json"])).stdout);
      const gate = review(repl, "--format", "markdown", "--fail-on", "restart");
      assert.equal(gate.status, 3);
      assert.match(gate.stdout, /\| app \| Container \| template \| busybox → debian:bookworm \| \*\*REPLACE\*\* \|/);
      await stack.setConfig("template", "busybox");
      await stack.up();
      assert.equal(Number(await sh(h1, ["lxc-cgroup", "-n", "rv-app", "memory.limit_in_bytes"])), 512 * 1048576);
      const outs = (await stack.outputs()) as any;
      assert.equal(outs.lastApplied.action, "live");
    } finally {
      await stack.destroy().catch(() => undefined);
      await stack.rm();
    }
  });
});
