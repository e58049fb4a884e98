// The registry and the contract: every hypervisor kind has one backend with a host driver and exactly one machine
// driver of its own kind; and behaviours the Xen backend's capability table promises (a PV disk grows in place; with a
// restart, while the domain is down) are what its applyLive and restart do, shown with a recording Remote.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HYPERVISOR_KINDS } from "../../provider/models/hypervisor";
import { BACKEND_KINDS, backendFor } from "../../provider/drivers/registry";
import { xenMachineDriver } from "../../provider/drivers/xen/machine";
import { SHUTDOWN_SCRIPT, CREATE_SCRIPT, READ_SCRIPT, GROW_DISK_SCRIPT } from "../../provider/drivers/xen/scripts";
import type { GuestState } from "../../provider/models/state";
import type { ExecOptions, ExecResult, Remote } from "../../provider/ssh/types";
import * as guest from "../../provider/resources/impl/guest";
import { hypervisorRef } from "./plan-fixtures";

test("registry: one backend per hypervisor kind, each with a host driver and one machine driver of that kind", () => {
  assert.deepEqual([...BACKEND_KINDS].sort(), [...HYPERVISOR_KINDS].sort());
  for (const kind of BACKEND_KINDS) {
    const b = backendFor(kind);
    assert.equal(b.host.kind, kind);
    const machines = [b.container, b.guest].filter((m) => m !== undefined);
    assert.equal(machines.length, 1, `${kind} serves exactly one resource`);
    assert.equal(machines[0]!.kind, kind);
    assert.ok(b.host.packages.length > 0);
  }
});

/** Answers the Xen driver's scripts like a dom0 with one running domain, and records every command. */
class RecordingDom0 implements Remote {
  readonly label = "fake-dom0";
  readonly calls: string[] = [];
  private result(stdout: string): ExecResult {
    return { code: 0, stdout, stderr: "", stdoutBytes: Buffer.from(stdout) };
  }
  async exec(argv: string[], _opts?: ExecOptions) {
    this.calls.push(argv.join(" "));
    return this.result("");
  }
  async script(script: string, args: string[] = [], _opts?: ExecOptions) {
    const name = script === SHUTDOWN_SCRIPT ? "shutdown" : script === CREATE_SCRIPT ? "create" : script === READ_SCRIPT ? "read" : script === GROW_DISK_SCRIPT ? "grow" : "other";
    this.calls.push(`script:${name} ${args.join(" ")}`);
    if (name === "shutdown") return this.result("graceful\n");
    if (name === "create") return this.result("created\n");
    return this.result("@@absent\n");
  }
  async upload(path: string) {
    this.calls.push(`upload ${path}`);
  }
}

test("xen: a PV root and data disk grow is live: each image grows in place (loop devices re-read); no shutdown, no create", async () => {
  const base = {
    name: "pv1", virtualization: "para", vcpus: 1, memory: "128MiB", boot: { kernel: "/srv/vmlinuz" },
    rootDisk: { baseImage: "/srv/base.img", size: "1GiB" }, dataDisks: [{ name: "data", size: "64MiB" }], hypervisor: hypervisorRef("xen"),
  };
  const olds = (await guest.check({}, base)).inputs;
  const res = await guest.check(olds, { ...base, rootDisk: { ...base.rootDisk, size: "2GiB" }, dataDisks: [{ name: "data", size: "128MiB" }] });
  assert.deepEqual(res.failures, []);
  const plan = guest.planFor(olds, res.inputs);
  assert.equal(plan.overall, "live");
  const dom0 = new RecordingDom0();
  const changed = new Set(plan.properties.map((p) => p.property));
  await xenMachineDriver.applyLive(dom0, { olds: olds as unknown as GuestState, news: res.inputs as unknown as GuestState, owner: { token: "0".repeat(32), adopt: false }, changed });
  assert.deepEqual(dom0.calls.filter((c) => c.startsWith("script:grow ")), [
    "script:grow /var/lib/xen/pulumi-virt/pv1-root.img 2048",
    "script:grow /var/lib/xen/pulumi-virt/pv1-data.img 128",
  ]);
  assert.ok(!dom0.calls.some((c) => c.startsWith("script:shutdown") || c.startsWith("script:create")), dom0.calls.join("\n"));
  assert.ok(dom0.calls.includes("upload /etc/xen/pulumi-virt/pv1.cfg"), "the config keeps the new sizes");
});

test("xen: with a restart, a PV root and data disk grow while the domain is down (never shrinks)", async () => {
  const base = {
    name: "pv1", virtualization: "para", vcpus: 1, memory: "128MiB", boot: { kernel: "/srv/vmlinuz" },
    rootDisk: { baseImage: "/srv/base.img", size: "1GiB" }, dataDisks: [{ name: "data", size: "64MiB" }], hypervisor: hypervisorRef("xen"),
  };
  const olds = (await guest.check({}, base)).inputs;
  // maxMemory makes it a restart; the disk grows ride along.
  const res = await guest.check(olds, { ...base, maxMemory: "256MiB", rootDisk: { ...base.rootDisk, size: "2GiB" }, dataDisks: [{ name: "data", size: "128MiB" }], allowRestart: true });
  assert.deepEqual(res.failures, []);
  const plan = guest.planFor(olds, res.inputs);
  assert.equal(plan.overall, "restart");
  const dom0 = new RecordingDom0();
  const changed = new Set(plan.properties.map((p) => p.property));
  const stopped = await xenMachineDriver.restart(dom0, { olds: olds as unknown as GuestState, news: res.inputs as unknown as GuestState, owner: { token: "0".repeat(32), adopt: false }, changed });
  assert.equal(stopped, "graceful");
  const shutdown = dom0.calls.findIndex((c) => c.startsWith("script:shutdown pv1"));
  const growRoot = dom0.calls.indexOf("truncate -s >2048M -- /var/lib/xen/pulumi-virt/pv1-root.img");
  const growData = dom0.calls.indexOf("truncate -s >128M -- /var/lib/xen/pulumi-virt/pv1-data.img");
  const create = dom0.calls.findIndex((c) => c.startsWith("script:create pv1"));
  assert.ok(shutdown >= 0 && growRoot > shutdown && growData > shutdown && create > Math.max(growRoot, growData), dom0.calls.join("\n"));
});
