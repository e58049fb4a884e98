// Issue 22: adding and removing a data disk of a running KVM guest with the real CLI. Preview classifies each as live
// with its reason, `up` applies it without restarting QEMU (same PID), and the guest sees the disk come and go (its
// /init prints a PVDISKS line each second on the console: size, serial pv-<name>, first-sector marker).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { PreviewJson, REPO_ROOT, TestStack } from "./harness";
import { ensureLab, loadLab, onHost, LabHost } from "../support/lab";
import { bySerial, GuestDisks, lastPvdisks } from "../support/pvdisks";

const NAME = "hp-vm";
const DIR = `/var/lib/libvirt/images/pulumi-virt/${NAME}`;
const MiB = 1024 * 1024;
// A deadline against hangs, not a claim about speed.
const DEADLINE_MS = 120_000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Args = Record<string, any>;

async function qemuPid(h: LabHost): Promise<string> {
  return (await onHost(h, ["cat", `/run/libvirt/qemu/${NAME}.pid`])).stdout.trim();
}

async function guestDisks(h: LabHost, what: string, ok: (d: GuestDisks) => boolean): Promise<GuestDisks> {
  const end = Date.now() + DEADLINE_MS;
  for (;;) {
    const last = lastPvdisks((await onHost(h, ["tail", "-n", "40", `${DIR}/console.log`])).stdout);
    if (last && ok(last)) return last;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}; last PVDISKS: ${JSON.stringify(last) ?? "none"}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function planned(p: PreviewJson): { action: string; changes: Record<string, string> } {
  const step = p.steps.find((s) => s.urn.endsWith(`::vm`) && s.newState?.inputs?.plannedAction);
  return { action: String(step?.newState?.inputs?.plannedAction ?? "none"), changes: (step?.newState?.inputs?.plannedChanges ?? {}) as Record<string, string> };
}

test("data disks hot-plugged with the real CLI: preview says live, up keeps QEMU, the guest sees the disk come and go", async (t) => {
  await ensureLab();
  const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const img = execFileSync("bash", [join(REPO_ROOT, "lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
  const vm: Args = {
    hypervisor: "kvm1", name: NAME, virtualization: "full", vcpus: 1, memory: "192MiB",
    boot: { kernel: `${img}/vmlinuz`, initrd: `${img}/initrd.img`, cmdline: "console=ttyS0 quiet" },
    rootDisk: { baseImage: `${img}/base-a.qcow2`, size: "64MiB" }, shutdownTimeoutSec: 5,
    dataDisks: [{ name: "keep", size: "32MiB", deleteOnDestroy: true }],
  };
  const stack = await TestStack.create({
    program: "test/e2e/fixtures/matrix",
    config: {
      hosts: JSON.stringify({ h1: { address: h1.address, port: h1.port, user: h1.user, hostKey: h1.hostKey } }),
      hypervisors: JSON.stringify({ kvm1: { host: "h1", kind: "kvm", bridge: "pvbr0", allowEmulation: true } }),
    },
    secrets: { privateKey: readFileSync(h1.privateKeyPath, "utf8") },
  });
  t.after(async () => {
    await stack.destroy().catch(() => undefined);
    await stack.rm();
    await onHost(h1, ["rm", "-f", `${DIR}/data-extra.qcow2`, `${DIR}/data-keep.qcow2`]);
  });
  const apply = () => stack.setConfig("guests", JSON.stringify({ vm }));

  await apply();
  await stack.up();
  const pid = await qemuPid(h1);
  await guestDisks(h1, "the data disk inside the guest", (d) => bySerial(d, "pv-keep")?.bytes === 32 * MiB);

  await t.test("adding a data disk: live in preview, hot-plugged by up", async () => {
    vm.dataDisks = [...vm.dataDisks, { name: "extra", size: "48MiB", deleteOnDestroy: true }];
    await apply();
    const p = planned(await stack.preview({ json: true }));
    assert.equal(p.action, "live");
    assert.match(p.changes["dataDisks[extra]"] ?? "", /^live: .*hot-plug/);
    await stack.up();
    assert.equal(await qemuPid(h1), pid, "QEMU was not restarted");
    const seen = await guestDisks(h1, "the new disk inside the guest", (d) => !!bySerial(d, "pv-extra"));
    assert.equal(bySerial(seen, "pv-extra")?.bytes, 48 * MiB);
    assert.ok(bySerial(seen, "pv-keep"), "the first disk is still there");
  });

  await t.test("removing a data disk: live in preview, hot-unplugged by up; the other grows live", async () => {
    vm.dataDisks = [{ name: "extra", size: "64MiB", deleteOnDestroy: true }];
    await apply();
    const p = planned(await stack.preview({ json: true }));
    assert.equal(p.action, "live");
    assert.match(p.changes["dataDisks[keep]"] ?? "", /^live: .*hot-unplug/);
    assert.match(p.changes["dataDisks[extra].size"] ?? "", /^live: .*blockresize/);
    await stack.up();
    assert.equal(await qemuPid(h1), pid, "QEMU was not restarted");
    const seen = await guestDisks(h1, "the removed disk gone and the other grown", (d) => !bySerial(d, "pv-keep") && bySerial(d, "pv-extra")?.bytes === 64 * MiB);
    assert.ok(seen);
    // The removed disk's file is kept (only destroy deletes a deleteOnDestroy disk).
    assert.equal((await onHost(h1, ["test", "-f", `${DIR}/data-keep.qcow2`])).code, 0);
  });

  await t.test("refresh finds no drift; destroy deletes the hot-plugged disk it owns", async () => {
    await stack.refresh({ expectNoChanges: true });
    await stack.destroy();
    assert.notEqual((await onHost(h1, ["test", "-e", `${DIR}/data-extra.qcow2`])).code, 0, "deleteOnDestroy applies to a hot-plugged disk too");
  });
});
