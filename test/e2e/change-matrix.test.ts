// Issue 9: for a matrix of changes (data: one line per case), the action `pulumi preview` predicts equals the
// action observed on the host after `pulumi up`, and no change is ever applied with a stronger action than previewed.
// The review report of the whole matrix is snapshot-tested in both formats.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { PreviewJson, REPO_ROOT, TestStack } from "./harness";
import { ensureLab, loadLab, onHost, LabHost } from "../support/lab";
import { buildReview, renderMarkdown, renderTable, ReviewRow } from "../../provider/cli/review";

type Obs = "none" | "live" | "restart" | "replace";
const RANK: Record<string, number> = { none: 0, live: 1, restart: 2, replace: 3 };

interface Case {
  title: string;
  resource: "web" | "vm";
  change: (args: any) => void;
  expect: Obs;
  /** The case first shows that without the opt-in the preview refuses, naming this property and opt-in. */
  refusedWithout?: { property: RegExp; optIn: "allowRestart" | "allowDataLoss" };
}

// The matrix. Each case mutates the previous state's arguments.
const CASES: Case[] = [
  { title: "container memory up", resource: "web", change: (a) => (a.memory = "512MiB"), expect: "live" },
  { title: "container memory down", resource: "web", change: (a) => (a.memory = "384MiB"), expect: "live" },
  { title: "container CPUs 1 → 2", resource: "web", change: (a) => (a.cpus = 2), expect: "live" },
  { title: "container disk grow", resource: "web", change: (a) => (a.disk.size = "500MiB"), expect: "live" },
  { title: "container rename", resource: "web", change: (a) => (a.name = "mx-web2"), expect: "restart", refusedWithout: { property: /name/, optIn: "allowRestart" } },
  { title: "container disk shrink", resource: "web", change: (a) => (a.disk.size = "300MiB"), expect: "replace", refusedWithout: { property: /disk/, optIn: "allowDataLoss" } },
  { title: "guest memory up within max", resource: "vm", change: (a) => (a.memory = "384MiB"), expect: "live" },
  { title: "guest memory down within max", resource: "vm", change: (a) => (a.memory = "320MiB"), expect: "live" },
  { title: "guest vCPU add within max", resource: "vm", change: (a) => (a.vcpus = 2), expect: "live" },
  { title: "guest root disk grow", resource: "vm", change: (a) => (a.rootDisk.size = "96MiB"), expect: "live" },
  { title: "guest memory beyond max", resource: "vm", change: (a) => { a.memory = "640MiB"; a.maxMemory = "768MiB"; }, expect: "restart", refusedWithout: { property: /memory/, optIn: "allowRestart" } },
  { title: "guest vCPU remove", resource: "vm", change: (a) => (a.vcpus = 1), expect: "restart", refusedWithout: { property: /vcpus/, optIn: "allowRestart" } },
  { title: "guest base image change", resource: "vm", change: (a) => (a.rootDisk.baseImage = a.rootDisk.baseImage.replace("base-a", "base-b")), expect: "replace" },
];

function guestImageDir(): string {
  return execFileSync("bash", [join(REPO_ROOT, "lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
}

async function sh(h: LabHost, argv: string[]): Promise<string> {
  return (await onHost(h, argv)).stdout.trim();
}

/** Identity of the running thing: what tells live (same process), restart (same machine, new process), replace. */
async function identity(h: LabHost, resource: "web" | "vm", args: any): Promise<{ pid: string; machine: string }> {
  if (resource === "web") {
    const pid = await sh(h, ["lxc-info", "-n", args.name, "-p", "-H"]);
    // A token in the container's own filesystem survives restarts, not replacement.
    const machine = await sh(h, ["lxc-attach", "-n", args.name, "--", "cat", "/root/.pv-identity"]).catch(() => "");
    return { pid, machine };
  }
  const pid = await sh(h, ["cat", `/run/libvirt/qemu/${args.name}.pid`]);
  const machine = await sh(h, ["virsh", "-c", "qemu:///system", "domuuid", args.name]);
  return { pid, machine };
}

async function stampContainer(h: LabHost, name: string): Promise<void> {
  const token = `id-${Date.now()}`;
  await onHost(h, ["lxc-attach", "-n", name, "--", "sh", "-c", 'echo "$1" > /root/.pv-identity', "sh", token]);
}

function observed(before: { pid: string; machine: string }, after: { pid: string; machine: string }): Obs {
  if (!after.machine || after.machine !== before.machine) return "replace";
  if (after.pid !== before.pid) return "restart";
  return "live";
}

function plannedFor(p: PreviewJson, resource: string): { action: string; op: string } {
  const steps = p.steps.filter((s) => s.urn.endsWith(`::${resource}`));
  const ops = steps.map((s) => s.op);
  const step = steps.find((s) => s.newState?.inputs?.plannedAction) ?? steps[0];
  const action = String(step?.newState?.inputs?.plannedAction ?? "none");
  return { action, op: ops.join(",") };
}

test("change matrix: preview's classification is what up does on the host", async (t) => {
  await ensureLab();
  const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const img = guestImageDir();
  const web: any = { hypervisor: "lxc1", name: "mx-web", cpus: 1, memory: "256MiB", disk: { size: "300MiB", fstype: "xfs" }, network: { address: "10.77.101.60/24", gateway: "10.77.101.1" } };
  const vm: any = {
    hypervisor: "kvm1", name: "mx-vm", virtualization: "full", vcpus: 1, maxVcpus: 4, memory: "256MiB", maxMemory: "512MiB",
    boot: { kernel: `${img}/vmlinuz`, initrd: `${img}/initrd.img`, cmdline: "console=ttyS0" },
    rootDisk: { baseImage: `${img}/base-a.qcow2`, size: "64MiB" }, shutdownTimeoutSec: 5,
  };
  const args: Record<string, any> = { web, vm };
  const stack = await TestStack.create({
    program: "test/e2e/fixtures/matrix",
    config: {
      hosts: JSON.stringify({ h1: { address: h1.address, port: h1.port, user: h1.user, hostKey: h1.hostKey } }),
      hypervisors: JSON.stringify({ lxc1: { host: "h1", kind: "lxc", bridge: "pvbr0" }, kvm1: { host: "h1", kind: "kvm", bridge: "pvbr0", allowEmulation: true } }),
    },
    secrets: { privateKey: readFileSync(h1.privateKeyPath, "utf8") },
  });
  const apply = async () => {
    const { hypervisor: _a, ...w } = args.web;
    await stack.setConfig("containers", JSON.stringify({ web: args.web }));
    await stack.setConfig("guests", JSON.stringify({ vm: args.vm }));
    void w;
  };
  t.after(async () => {
    await stack.destroy().catch(() => undefined);
    await stack.rm();
  });

  await apply();
  await stack.up();
  const reviews: ReviewRow[] = [];
  for (const c of CASES) {
    await t.test(`${c.title}: preview says ${c.expect}, up does ${c.expect}`, async () => {
      const target = args[c.resource];
      if (c.resource === "web") await stampContainer(h1, target.name);
      const before = await identity(h1, c.resource, target);
      c.change(target);
      target.allowRestart = false;
      target.allowDataLoss = false;
      await apply();
      if (c.refusedWithout) {
        const refused = await stack.preview({ allowFailure: true });
        assert.notEqual(refused.code, 0, "the preview must refuse the change without the opt-in");
        const text = refused.stdout + refused.stderr;
        assert.match(text, c.refusedWithout.property);
        assert.match(text, new RegExp(c.refusedWithout.optIn));
        target[c.refusedWithout.optIn] = true;
        await apply();
      }
      const p = await stack.preview({ json: true });
      const planned = plannedFor(p, c.resource);
      assert.equal(planned.action, c.expect, `preview planned ${planned.action} (${planned.op})`);
      if (c.expect === "replace") assert.match(planned.op, /replace/);
      else assert.match(planned.op, /update/);
      // The image directory's name carries a content hash: keep snapshots stable across image rebuilds.
      const stable = (v: string) => v.split(img).join("<images>");
      reviews.push(...buildReview(p).rows.filter((r) => r.resource === c.resource).map((r) => ({ ...r, from: stable(r.from), to: stable(r.to), reason: stable(r.reason) })));
      await stack.up();
      const after = await identity(h1, c.resource, target);
      const seen = observed(before, after);
      assert.ok(RANK[seen] <= RANK[c.expect], `applied with ${seen}, stronger than the previewed ${c.expect}`);
      assert.equal(seen, c.expect, `observed ${seen} on the host`);
      // The applied action is recorded in the outputs for reviewers.
      const outs = (await stack.outputs()).resources as any;
      assert.equal(outs[c.resource].lastApplied.action === "create" ? "replace" : outs[c.resource].lastApplied.action, c.expect);
    });
  }

  await t.test("after the matrix, refresh finds no drift", async () => {
    await stack.refresh({ expectNoChanges: true });
  });

  await t.test("the review report of the matrix matches its snapshots (Markdown and table)", () => {
    const totals = { live: 0, restart: 0, replace: 0, create: 0, delete: 0, settings: 0 };
    for (const r of reviews) totals[r.action]++;
    const review = { rows: reviews, totals };
    for (const [file, text] of [["review-matrix.md", renderMarkdown(review)], ["review-matrix.txt", renderTable(review)]] as const) {
      const snap = join(REPO_ROOT, "test/e2e/snapshots", file);
      if (!existsSync(snap) || process.env.UPDATE_SNAPSHOTS === "1") writeFileSync(snap, text);
      assert.equal(text, readFileSync(snap, "utf8"), `${file} differs (UPDATE_SNAPSHOTS=1 to accept)`);
    }
  });
});
