// Issue 8 end to end: paravirtualized guests on the Xen lab host through the pulumi CLI (examples/xen).
// Live memory / vCPU changes keep the domain (same domid, same boot id, checked inside the guest's console);
// memory beyond maxMemory is a restart that preview refuses without allowRestart. The guest is reachable (issue 20):
// disk-backed, on dom0's bridge, `waitFor: { ssh: true }`; `up` returns once SSH answers and the secret `connection`
// output (pinned to the host key pulumi-virt generated, through dom0) runs commands inside it.
import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT, TestStack } from "./harness";
import { getRemote } from "../../provider/ssh/remote";
import { SshPool } from "../../provider/ssh/pool";
import { consoleLogPath } from "../../provider/drivers/xen";
import { Stat, waitPvstat } from "../support/pvstat";

const labDir = process.env.PULUMI_VIRT_LAB_DIR ?? "/run/pulumi-virt-lab";
let xen1: { address: string; port: number; user: string; hostKey: string; privateKeyPath: string };

before(() => {
  // Fails loudly (never skips) when Xen cannot boot on this machine.
  execFileSync("bash", [join(REPO_ROOT, "lab/xen/xen-host.sh"), "up"], { stdio: "inherit" });
  xen1 = JSON.parse(readFileSync(join(labDir, "xen.json"), "utf8")).hosts[0];
});
after(() => {
  SshPool.shared().closeAll();
  execFileSync("bash", [join(REPO_ROOT, "lab/xen/xen-host.sh"), "down"], { stdio: "inherit" });
});

function dom0() {
  return getRemote({ host: xen1.address, port: xen1.port, user: xen1.user, privateKey: readFileSync(xen1.privateKeyPath, "utf8"), hostKey: xen1.hostKey });
}

/** The newest PVSTAT line the guest printed on its console (hvc0) that satisfies `after` (any, without it). */
const guestStat = (name: string, after: (s: Stat) => boolean = () => true) =>
  waitPvstat(dom0(), consoleLogPath(name), `a matching PVSTAT line from ${name}`, after, 120_000);

async function domid(name: string): Promise<string> {
  return (await dom0().exec(["xl", "domid", name])).stdout.trim();
}

const STORAGE = "/var/lib/xen/pv-e2e";
type Addresses = { mac: string; bridge: string; ipv4: string[]; ipv6: string[] }[];

test("Xen PV guest: create, live memory and vCPU changes, restart beyond max refused without opt-in, destroy", async (t) => {
  const img = execFileSync("bash", [join(REPO_ROOT, "lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
  const name = `pv${Date.now().toString(36).slice(-5)}`;
  const stack = await TestStack.create({
    program: "examples/xen",
    config: {
      host: JSON.stringify({ address: xen1.address, port: xen1.port, user: xen1.user, hostKey: xen1.hostKey }),
      guestImage: JSON.stringify({ kernel: `${img}/vmlinuz`, initrd: `${img}/initrd.img`, baseImage: `${img}/base-a.qcow2` }),
      guestName: name,
      reachable: "true",
      // dom0's root is this machine's, read-only (9p); its /var/lib/xen is writable.
      storageDir: STORAGE,
      memory: "128MiB",
      vcpus: "1",
    },
    secrets: { privateKey: readFileSync(xen1.privateKeyPath, "utf8") },
  });
  t.after(async () => {
    await stack.destroy().catch(() => undefined);
    await stack.rm();
  });

  let first: Record<string, string> = {};
  let id = "";
  await t.test("up creates a PV domain that boots and returns once SSH answers: the pinned connection runs commands in it", async () => {
    await dom0().exec(["mkdir", "-p", STORAGE]);
    await stack.up();
    id = await domid(name);
    first = await guestStat(name);
    assert.equal(first.cpus_online, "1");
    const outs = (await stack.outputs({ showSecrets: true })) as { xenVersion: string; reach: { addresses: Addresses; connection: Record<string, unknown> } };
    assert.equal(outs.xenVersion.startsWith("4.17"), true);
    const ip = outs.reach.addresses[0]?.ipv4[0] ?? "";
    assert.match(ip, /^10\.77\.120\.\d+$/, `an address from dom0's DHCP: ${JSON.stringify(outs.reach.addresses)}`);
    // No retry: `up` already waited for SSH. The boot id inside is the one the guest's console reports.
    const guest = getRemote({ ...outs.reach.connection, dialTimeoutMs: 60_000 } as Parameters<typeof getRemote>[0]);
    assert.equal((await guest.exec(["cut", "-c1-8", "/proc/sys/kernel/random/boot_id"])).stdout.trim(), first.boot, "the connection reached this guest");
    assert.match((await guest.exec(["uname", "-a"])).stdout, /Linux/);
    assert.match((await guest.exec(["ip", "addr"])).stdout, new RegExp(`inet ${ip.replace(/\./g, "\\.")}/`), "the address output is the guest's");
    await assert.rejects(getRemote({ ...outs.reach.connection, hostKey: xen1.hostKey, dialTimeoutMs: 60_000 } as Parameters<typeof getRemote>[0]).exec(["true"]), /host key|fingerprint|pin/i, "a wrong pin is refused");
    const plain = (await stack.outputs()) as { reach: unknown };
    assert.doesNotMatch(JSON.stringify(plain.reach ?? ""), /PRIVATE KEY/, "the connection is secret");
  });

  await t.test("200 MiB and 2 vCPUs preview as live and apply live: same domid, same boot, more memory and CPUs inside", async () => {
    await stack.setConfig("memory", "200MiB");
    await stack.setConfig("vcpus", "2");
    const p = await stack.preview({ json: true });
    const step = p.steps.find((s) => s.urn.endsWith("::pv"))!;
    assert.equal(step.newState!.inputs!.plannedAction, "live");
    const planned = step.newState!.inputs!.plannedChanges as Record<string, string>;
    assert.match(planned.memory, /^live: 128 → 200: applied live \(xl mem-set/);
    assert.match(planned.vcpus, /^live: 1 → 2/);
    await stack.up();
    assert.equal(await domid(name), id, "same domain");
    const s = await guestStat(name, (x) => x.cpus_online === "2" && Number(x.memtotal_kb) > Number(first.memtotal_kb));
    assert.equal(s.boot, first.boot, "the guest did not reboot");
    assert.ok(Number(s.memtotal_kb) - Number(first.memtotal_kb) >= 60 * 1024, "MemTotal grew by about 72 MiB");
  });

  await t.test("memory beyond maxMemory is a restart: refused without allowRestart, naming the property", async () => {
    await stack.setConfig("memory", "300MiB");
    await stack.setConfig("maxMemory", "384MiB");
    const res = await stack.preview({ allowFailure: true });
    assert.notEqual(res.code, 0);
    assert.match(res.stdout + res.stderr, /memory/);
    assert.match(res.stdout + res.stderr, /allowRestart/);
    const p = (await stack.pulumi(["preview", "--json"], { okCodes: [0, 255, 1] })).stdout;
    assert.match(p, /maxMemory \(256 → 384\) needs a restart/);
  });

  await t.test("with allowRestart, up restarts the domain once, as previewed: new domid, new boot, the new memory inside", async () => {
    await stack.setConfig("allowRestart", "true");
    const p = await stack.preview({ json: true });
    const step = p.steps.find((s) => s.urn.endsWith("::pv"))!;
    assert.equal(step.newState!.inputs!.plannedAction, "restart");
    const before = await guestStat(name);
    await stack.up();
    const after = await guestStat(name, (x) => x.boot !== before.boot);
    assert.notEqual(await domid(name), id, "a restarted domain has a new domid");
    assert.ok(Number(after.memtotal_kb) > Number(before.memtotal_kb), "the guest came back with more memory");
    const outs = (await stack.outputs()) as any;
    assert.equal(outs.guest.lastApplied.action, "restart");
  });

  await t.test("destroy removes the domain", async () => {
    await stack.destroy();
    const r = await dom0().exec(["xl", "domid", name], { okCodes: [0, 1] });
    assert.notEqual(r.code, 0);
  });
});
