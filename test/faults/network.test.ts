// Issue 22, faults of a Network, through the real CLI on lab host h2, with a container on the Network (its NIC on
// the `bridge` output, a static lease for its MAC):
//   9. dnsmasq killed: refresh shows the drift, the next up starts dnsmasq again; the container is untouched;
//  10. the host restarts: what a boot does not bring back (pulumi-virt installs nothing that runs at boot) is the
//      bridge, its firewall rules and dnsmasq, and the containers are down. Refresh shows the drift first, then the
//      next up restores the Network before it starts the container (the engine orders them through the bridge
//      output), and the container gets its lease again. Destroy leaves the host's networking as it was.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ensureLab, LabHost, onHost, onHostOk } from "../support/lab";
import { hostNetworkSnapshot, loseAsOnReboot } from "../support/network";
import { FaultStack, LabLock, assertNoLeftovers, faultHost, restartHost, scrubHost, uniquePrefix, waitFor } from "../support/faults";

const FIXTURE = "test/e2e/fixtures/network-machines";
const BR = "pvf-net0";
const MAC = "52:54:00:77:16:41";
const IP = "10.77.162.20";
const DNSMASQ_PID = `/var/lib/pulumi-virt/net/${BR}/dnsmasq.pid`;

type State = { deployment: { resources: Array<{ urn: string; outputs?: Record<string, any> }> } };

async function stateOf(stack: FaultStack, name: string): Promise<Record<string, any>> {
  const s = JSON.parse(await stack.exportState()) as State;
  return s.deployment.resources.find((r) => r.urn.endsWith(`::${name}`))?.outputs ?? {};
}

const dnsmasqPid = async (h: LabHost) => Number((await onHost(h, ["cat", DNSMASQ_PID])).stdout.trim()) || 0;
const ifindex = async (h: LabHost) => (await onHostOk(h, ["cat", `/sys/class/net/${BR}/ifindex`])).trim();

/** The container's address on its NIC, once its DHCP client has it (bounded). */
function leaseOf(h: LabHost, name: string): Promise<string> {
  return waitFor(`${name}'s DHCP lease`, async () => /inet (\S+)\//.exec((await onHost(h, ["lxc-attach", "-n", name, "--", "ip", "-4", "-o", "addr", "show", "eth0"])).stdout)?.[1], 60_000, 250);
}

test("9-10. a Network's dnsmasq killed, then its host restarted: refresh shows the drift, the next up restores it and the container on it", { timeout: 420_000 }, async (t) => {
  await ensureLab();
  let host = faultHost();
  const ct = `${uniquePrefix("n")}-ct`;
  const before = await hostNetworkSnapshot(host);
  const stack = await FaultStack.create({
    program: FIXTURE,
    config: {
      host: JSON.stringify({ address: host.address, port: host.port, hostKey: host.hostKey }),
      network: JSON.stringify({
        bridge: BR, uplink: "nat", domain: "faults.test",
        ipv4: { address: "10.77.162.1/24", dhcp: { start: "10.77.162.100", end: "10.77.162.150", hosts: [{ mac: MAC, ip: IP, name: "ct" }] } },
      }),
      containers: JSON.stringify({ ct: { name: ct, memory: "64MiB", cpus: 1, stopTimeoutSec: 2, network: { hwaddr: MAC } } }),
    },
    privateKey: readFileSync(host.privateKeyPath, "utf8"),
  });
  t.after(async () => {
    await stack.dispose();
    await scrubHost(faultHost(), [ct]);
  });
  await stack.up();
  assert.equal(await leaseOf(host, ct), IP, "the container has its static lease");
  const initPid = async () => Number((await onHostOk(host, ["lxc-info", "-n", ct, "-p", "-H"])).trim());

  await t.test("9. dnsmasq killed: refresh shows the drift; the next up starts it again, the bridge and the container untouched", async () => {
    const pid = await dnsmasqPid(host);
    assert.ok(pid > 1, `dnsmasq's PID (${pid})`); // never `kill 0`
    const [bridgeBefore, initBefore] = [await ifindex(host), await initPid()];
    await onHostOk(host, ["kill", String(pid)]);
    await waitFor("dnsmasq to exit", async () => (await onHost(host, ["test", "-d", `/proc/${pid}`])).code !== 0, 10_000, 100);
    const r = await stack.refresh({ expectNoChanges: true, okCodes: Array.from({ length: 256 }, (_, i) => i) });
    assert.notEqual(r.code, 0, "refresh --expect-no-changes fails: dnsmasq is gone");
    await stack.refresh();
    assert.equal((await stateOf(stack, "net")).hostState, "drift: dnsmasq missing (e.g. after a host reboot); the next up restores them");
    await stack.up();
    const now = await dnsmasqPid(host);
    assert.ok(now > 1 && now !== pid, `a new dnsmasq runs (${pid} → ${now})`);
    assert.equal((await stack.outputs()).network.lastApplied.action, "live");
    assert.equal(await ifindex(host), bridgeBefore, "the same bridge");
    assert.equal(await initPid(), initBefore, "the container was not restarted");
    await stack.refresh({ expectNoChanges: true });
  });

  await t.test("10. the host restarts: refresh shows the Network and the container down; the next up restores both, the lease comes back", async () => {
    // A lab host "restarts" by losing what a boot would lose: the Network's bridge, rules and dnsmasq (kernel and
    // process state), then its sshd and this stack's container processes (test/support/faults.ts restartHost).
    const pidBefore = await dnsmasqPid(host);
    assert.ok(pidBefore > 1, `dnsmasq's PID (${pidBefore})`);
    host = await LabLock.during(async () => {
      await loseAsOnReboot(host, BR);
      return restartHost(host, [ct]);
    });
    assert.notEqual((await onHost(host, ["test", "-d", `/sys/class/net/${BR}`])).code, 0, "no bridge after the restart");
    assert.notEqual((await onHost(host, ["test", "-d", `/proc/${pidBefore}`])).code, 0, "no dnsmasq after the restart");
    await stack.refresh();
    assert.equal((await stateOf(stack, "net")).hostState, "drift: bridge, dnsmasq, firewall rules missing (e.g. after a host reboot); the next up restores them");
    assert.equal((await stateOf(stack, "ct")).running, false, "the container is observed stopped");
    await stack.up();
    assert.ok((await dnsmasqPid(host)) > 1, "dnsmasq runs again");
    assert.match(await onHostOk(host, ["iptables-save", "-t", "nat"]), new RegExp(`-A POSTROUTING -s 10\\.77\\.162\\.0/24 .*-j MASQUERADE`), "the NAT rule is back");
    assert.equal(await leaseOf(host, ct), IP, "the restarted container has its lease again, from the restored dnsmasq");
    await stack.pulumi(["preview", "--expect-no-changes"]);
    // The Network's outputs were read before the container started again (the engine ordered it so): a refresh
    // reads its new interface on the restored bridge.
    await stack.refresh();
    const users = (await stateOf(stack, "net")).observed?.users as string[];
    assert.ok(users.some((u) => u.startsWith(`container ${ct} (`)), `the container is attached to the restored bridge: ${users}`);
  });

  await t.test("destroy leaves the host's networking as it was and no container; the key appears nowhere", async () => {
    await stack.destroy();
    await assertNoLeftovers(host, [ct]);
    assert.equal(await hostNetworkSnapshot(host), before);
    await stack.assertNoKeyLeak();
  });
});
