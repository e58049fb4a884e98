// Issue 22 (networks and pools), with the real CLI: a program with a Network (DHCP + NAT), a StoragePool (xfs in a
// loop image) and a container on the network. The container's DHCP lease is in dnsmasq's lease file; a matrix of
// Network / StoragePool changes where preview's action is what `up` did (dnsmasq's PID proves live vs restart,
// the loop device proves a live grow); `pulumi destroy` leaves the host as it was (links, firewall rules, dnsmasq
// processes, files, mounts), compared, not eyeballed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PreviewJson, TestStack } from "./harness";
import { ensureLab, LabHost, onHost, onHostOk } from "../support/lab";
import { hostNetworkSnapshot, loseAsOnReboot } from "../support/network";
import { useBuiltConsumer, waitFor } from "../support/faults";

const BR = "pve-net0";
const POOL_ROOT = "/var/lib/pulumi-virt-e2e-pool";
const MAC = "52:54:00:77:16:20";

const network = () => ({
  bridge: BR,
  ipv4: { address: "10.77.160.1/24", dhcp: { start: "10.77.160.100", end: "10.77.160.150", hosts: [{ mac: MAC, ip: "10.77.160.20", name: "web" }] } },
  uplink: "nat",
  domain: "e2e.test",
});
const pool = () => ({ name: "pve-pool", type: "xfs", size: 320, path: `${POOL_ROOT}/p` });
const container = { name: "pve-web", memory: "64MiB", cpus: 1, stopTimeoutSec: 2, network: { hwaddr: MAC } };

async function snapshot(h: LabHost): Promise<string> {
  const mounts = await onHostOk(h, ["sh", "-c", `grep -F ${POOL_ROOT} /proc/self/mountinfo | cut -d' ' -f5; losetup -a | grep -F ${POOL_ROOT}; find ${POOL_ROOT} 2>/dev/null; true`]);
  return `${await hostNetworkSnapshot(h)}\n# pool\n${mounts}`;
}

const dnsmasqPid = async (h: LabHost) => Number((await onHost(h, ["cat", `/var/lib/pulumi-virt/net/${BR}/dnsmasq.pid`])).stdout.trim()) || 0;
const loopOf = async (h: LabHost) => (await onHostOk(h, ["losetup", "-j", `${POOL_ROOT}/p.img`])).split(":")[0];

function planned(p: PreviewJson, name: string): { op: string; action: string } {
  const steps = p.steps.filter((s) => s.urn.endsWith(`::${name}`));
  const step = steps.find((s) => s.newState?.inputs?.plannedAction) ?? steps[0];
  return { op: steps.map((s) => s.op).join("+"), action: String(step?.newState?.inputs?.plannedAction ?? "none") };
}

interface Case {
  title: string;
  resource: "net" | "pool";
  change: (a: { network: any; pool: any }) => void;
  expect: "live" | "restart" | "replace";
  /** What proves it on the host, given the identities before and after. */
  proof: "dnsmasq-same" | "dnsmasq-new" | "loop-same" | "loop-new";
}

const CASES: Case[] = [
  { title: "a new static lease", resource: "net", change: (a) => a.network.ipv4.dhcp.hosts.push({ mac: "52:54:00:77:16:21", ip: "10.77.160.21", name: "db" }), expect: "live", proof: "dnsmasq-same" },
  { title: "uplink nat → routed", resource: "net", change: (a) => (a.network.uplink = "routed"), expect: "live", proof: "dnsmasq-same" },
  { title: "a wider DHCP range", resource: "net", change: (a) => (a.network.ipv4.dhcp.end = "10.77.160.180"), expect: "restart", proof: "dnsmasq-new" },
  { title: "pool grow", resource: "pool", change: (a) => (a.pool.size = 448), expect: "live", proof: "loop-same" },
  { title: "pool xfs → btrfs (empty pool)", resource: "pool", change: (a) => { a.pool.type = "btrfs"; a.pool.size = 448; }, expect: "replace", proof: "loop-new" },
];

test("Network + StoragePool + a container with the real CLI: lease, change matrix, destroy leaves the host as it was", async (t) => {
  const lab = await ensureLab();
  const h = lab.hosts.find((x) => x.name === "h1")!;
  // The pool's parent directory is the user's (a destroy removes the pool's own directory and image only).
  await onHostOk(h, ["mkdir", "-p", POOL_ROOT]);
  const before = await snapshot(h);
  const stack = await TestStack.create({
    program: "test/e2e/fixtures/network",
    consumer: await useBuiltConsumer(),
    config: { host: JSON.stringify({ address: h.address, port: h.port, hostKey: h.hostKey }), network: JSON.stringify(network()), pool: JSON.stringify(pool()), container: JSON.stringify(container) },
    secrets: { privateKey: readFileSync(h.privateKeyPath, "utf8") },
  });
  try {
    await stack.up();
    const out = await stack.outputs();
    const storage = out.storage as { path: string; capacityMiB: number; freeMiB: number };
    assert.equal(storage.path, `${POOL_ROOT}/p`);
    assert.ok(storage.capacityMiB > 250 && storage.freeMiB > 0, JSON.stringify(storage));
    assert.equal(out.kvmStorageDir, storage.path, "the pool's path is the hypervisor's storage directory");

    await t.test("the container's DHCP request got its static lease from the network's dnsmasq", async () => {
      const leases = await waitFor("the container's lease", async () => {
        const text = (await onHost(h, ["cat", `/var/lib/pulumi-virt/net/${BR}/leases`])).stdout;
        return text.includes(MAC) ? text : undefined;
      }, 60_000, 250);
      assert.match(leases, new RegExp(`${MAC} 10\\.77\\.160\\.20 `));
      assert.match(await onHostOk(h, ["lxc-attach", "-n", container.name, "--", "ip", "-4", "addr", "show", "eth0"]), /10\.77\.160\.20\//);
      await stack.refresh();
      // Stack outputs are computed by `up`; what refresh read is in the resource's state.
      const state = JSON.parse(await stack.exportState()) as { deployment: { resources: Array<{ urn: string; outputs?: Record<string, unknown> }> } };
      const res = state.deployment.resources.find((r) => r.urn.endsWith("::net"));
      const observed = res?.outputs?.observed as { leases: Array<{ mac: string; ip: string }>; users: string[] };
      assert.ok(observed.leases.some((l) => l.mac === MAC && l.ip === "10.77.160.20"), "refresh shows the lease in the Network's outputs");
      assert.ok(observed.users.some((u) => u.startsWith(`container ${container.name}`)), `the container is named as a user: ${observed.users}`);
    });

    const args = { network: network(), pool: pool() };
    for (const c of CASES) {
      await t.test(`${c.title}: preview says ${c.expect}, up does ${c.expect}`, async () => {
        c.change(args);
        await stack.setConfig("network", JSON.stringify(args.network));
        await stack.setConfig("pool", JSON.stringify(args.pool));
        const p = planned(await stack.preview({ json: true }), c.resource);
        assert.equal(p.action, c.expect, `preview planned ${p.action} (${p.op})`);
        const pid = await dnsmasqPid(h);
        const loop = await loopOf(h);
        await stack.up();
        const out = await stack.outputs();
        const last = ((c.resource === "net" ? out.network : out.storage) as { lastApplied: { action: string } }).lastApplied;
        assert.equal(last.action, c.expect, "what up recorded");
        switch (c.proof) {
          case "dnsmasq-same": assert.equal(await dnsmasqPid(h), pid, "dnsmasq kept its PID"); break;
          case "dnsmasq-new": assert.notEqual(await dnsmasqPid(h), pid, "dnsmasq restarted"); break;
          case "loop-same": assert.equal(await loopOf(h), loop, "the pool stayed mounted on the same loop device"); break;
          case "loop-new": assert.equal((await onHostOk(h, ["stat", "-f", "-c", "%T", `${POOL_ROOT}/p`])).trim(), "btrfs"); break;
        }
        await stack.preview({ expectNoChanges: true });
      });
    }

    await t.test("after a host reboot: refresh shows the drift, preview plans a live restore, up restores it", async () => {
      // pulumi-virt installs nothing that runs at boot: this is the documented way back (README "Host reboots").
      await loseAsOnReboot(h, BR, `${POOL_ROOT}/p`);
      await stack.refresh();
      const state = JSON.parse(await stack.exportState()) as { deployment: { resources: Array<{ urn: string; outputs?: Record<string, unknown> }> } };
      const stateOf = (n: string) => state.deployment.resources.find((r) => r.urn.endsWith(`::${n}`))?.outputs ?? {};
      assert.match(String(stateOf("net").hostState), /^drift: bridge, dnsmasq, firewall rules missing/);
      assert.match(String(stateOf("pool").hostState), /^drift: mount of its image missing/);
      const p = await stack.preview({ json: true });
      assert.equal(planned(p, "net").action, "live");
      assert.equal(planned(p, "pool").action, "live");
      await stack.up();
      assert.ok((await dnsmasqPid(h)) > 1, "dnsmasq runs again");
      assert.match(await loopOf(h), /^\/dev\/loop\d+$/, "the pool's image is mounted again");
      assert.match(await onHostOk(h, ["iptables-save"]), new RegExp(`-A FORWARD -i ${BR} `));
      await stack.preview({ expectNoChanges: true });
    });

    await t.test("pulumi destroy leaves the host as it was", async () => {
      await stack.destroy();
      assert.equal(await snapshot(h), before);
    });
  } finally {
    await stack.destroy().catch(() => undefined);
    await stack.rm();
    await onHost(h, ["rmdir", POOL_ROOT]);
  }
});
