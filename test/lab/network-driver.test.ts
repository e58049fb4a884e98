// The network driver against a real lab host (h1): bridge, VLAN, addresses, NAT/routed rules, dnsmasq with static
// leases; what each change really does to dnsmasq (its PID proves live vs restart); refusals (in use, not ours);
// what a reboot loses and the next apply restores; destroy leaves the host exactly as it was.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { networkSpec } from "../../provider/drivers/net/config";
import { applyNetwork, destroyNetwork, NetworkInUseError, NetworkOwnedElsewhereError, readNetwork } from "../../provider/drivers/net/driver";
import { missingOnHost } from "../../provider/lifecycle/network";
import { networkArgsSchema, type NetworkArgs } from "../../provider/models/network";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import type { Remote } from "../../provider/ssh/types";
import { ensureLab, LabHost, onHost, onHostOk } from "../support/lab";
import { hostNetworkSnapshot } from "../support/network";

const BR = "pvt-net0";
const FOREIGN = "pvt-foreign";
const TOKEN = "0123456789abcdef0123456789abcdef";
const TAG = `pulumi-virt:${TOKEN}`;
let host: LabHost;
let remote: Remote;
let before0: string;
/** Whether the kernel has 802.1Q VLANs (this machine's kernel has no 8021q and cannot load modules). */
let vlanSupported = false;

const args = (over: Record<string, unknown> = {}): NetworkArgs =>
  networkArgsSchema.parse({
    bridge: BR,
    ipv4: { address: "10.77.150.1/24", dhcp: { start: "10.77.150.100", end: "10.77.150.150", hosts: [{ mac: "52:54:00:77:15:01", ip: "10.77.150.11", name: "fixed1" }] } },
    ipv6: { address: "fd77:150::1/64" },
    uplink: "nat",
    domain: "lab.test",
    ...over,
  });

async function scrub() {
  await onHost(host, ["sh", "-c", `p=$(cat /var/lib/pulumi-virt/net/${BR}/dnsmasq.pid 2>/dev/null) && kill "$p"; ip link del ${BR}.150; ip link del ${BR}.151; ip link del ${BR}; ip link del ${FOREIGN}; ip link del pvt-u0; rm -rf /var/lib/pulumi-virt/net/${BR}; rmdir /var/lib/pulumi-virt/net /var/lib/pulumi-virt`]);
  await onHost(host, ["sh", "-c", `for t in nat filter; do iptables-save -t $t | grep -F '${TAG}' | sed 's/^-A /-D /; s/"//g' | while read -r r; do iptables -t $t $r; done; done`]);
}

before(async () => {
  const lab = await ensureLab();
  host = lab.hosts.find((h) => h.name === "h1")!;
  remote = getRemote({ host: host.address, port: host.port, user: host.user, privateKey: readFileSync(host.privateKeyPath, "utf8"), hostKey: host.hostKey });
  await scrub();
  vlanSupported = (await onHost(host, ["sh", "-c", "ip link add link eth0 name pvt-vlanprobe type vlan id 4000 && ip link del pvt-vlanprobe"])).code === 0;
  before0 = await hostNetworkSnapshot(host);
});

after(async () => {
  try {
    await scrub();
  } finally {
    closeAllRemotes();
  }
});

const dnsmasqPid = async () => Number((await onHost(host, ["cat", `/var/lib/pulumi-virt/net/${BR}/dnsmasq.pid`])).stdout.trim());

test("create: a tagged bridge with VLAN, addresses, NAT rules and dnsmasq serving DHCP, DNS and RA", async () => {
  const { dnsmasq, observed } = await applyNetwork(remote, networkSpec(args(), TOKEN));
  assert.equal(dnsmasq, "started");
  assert.equal(observed.owner, TAG);
  assert.deepEqual(observed.addresses.sort(), ["10.77.150.1/24", "fd77:150::1/64"]);
  assert.deepEqual(observed.vlanDevices, []);
  assert.equal(observed.firewallRules, 3);
  assert.ok(observed.dnsmasqPid > 0);
  assert.deepEqual(missingOnHost(args(), observed), []);
  assert.equal((await onHostOk(host, ["cat", `/sys/class/net/${BR}/ifalias`])).trim(), TAG);
  const nat = await onHostOk(host, ["iptables-save", "-t", "nat"]);
  assert.match(nat, /-A POSTROUTING -s 10\.77\.150\.0\/24 ! -d 10\.77\.150\.0\/24 .*pulumi-virt:0123.*-j MASQUERADE/);
  assert.equal((await onHostOk(host, ["cat", "/proc/sys/net/ipv4/ip_forward"])).trim(), "1");
  // dnsmasq answers DNS for the static lease's name on the bridge address.
  const dig = await onHostOk(host, ["busybox", "nslookup", "fixed1.lab.test", "10.77.150.1"]).catch((e: Error) => e.message);
  assert.match(dig, /10\.77\.150\.11/);
  assert.equal(observed.dnsmasqPid, await dnsmasqPid());
});

test("a new static lease is live: dnsmasq re-reads its hosts file on SIGHUP, same PID, and answers the new name", async () => {
  const pid = await dnsmasqPid();
  const a = args();
  a.ipv4!.dhcp!.hosts.push({ mac: "52:54:00:77:15:02", ip: "10.77.150.12", name: "fixed2" });
  const { dnsmasq, observed } = await applyNetwork(remote, networkSpec(a, TOKEN));
  assert.equal(dnsmasq, "reloaded");
  assert.equal(observed.dnsmasqPid, pid);
  assert.match(await onHostOk(host, ["cat", `/var/lib/pulumi-virt/net/${BR}/dhcp-hosts`]), /52:54:00:77:15:02,10\.77\.150\.12,fixed2/);
  assert.match(await onHostOk(host, ["busybox", "nslookup", "fixed2.lab.test", "10.77.150.1"]), /10\.77\.150\.12/);
});

test("uplink nat → routed and an IPv4 address move are live: rules replaced, same dnsmasq PID", async () => {
  const pid = await dnsmasqPid();
  const { dnsmasq, observed } = await applyNetwork(remote, networkSpec(args({ uplink: "routed" }), TOKEN));
  assert.equal(dnsmasq, "reloaded"); // the hosts files went back to one lease
  assert.equal(observed.dnsmasqPid, pid);
  assert.equal(observed.firewallRules, 2);
  assert.doesNotMatch(await onHostOk(host, ["iptables-save", "-t", "nat"]), /pulumi-virt:0123/);
});

test("a new DHCP range restarts dnsmasq (new PID): dnsmasq reads its configuration only at start", async () => {
  const pid = await dnsmasqPid();
  const a = args();
  a.ipv4!.dhcp!.end = "10.77.150.160";
  const { dnsmasq, observed } = await applyNetwork(remote, networkSpec(a, TOKEN));
  assert.equal(dnsmasq, "restarted");
  assert.ok(observed.dnsmasqPid > 0 && observed.dnsmasqPid !== pid);
});

test("a VLAN on a parent interface is made, tagged, enslaved, and moved live", async (t) => {
  if (!vlanSupported) return t.skip("this kernel has no 802.1Q VLAN support (no 8021q built in, no module loading)");
  const { observed } = await applyNetwork(remote, networkSpec(args({ vlan: { parent: "eth0", id: 150 } }), TOKEN));
  assert.deepEqual(observed.vlanDevices, [`${BR}.150`]);
  assert.equal((await onHostOk(host, ["cat", `/sys/class/net/${BR}.150/ifalias`])).trim(), TAG);
  assert.equal((await onHostOk(host, ["cat", `/sys/class/net/${BR}.150/master/ifindex`])).trim(), (await onHostOk(host, ["cat", `/sys/class/net/${BR}/ifindex`])).trim());
  const moved = await applyNetwork(remote, networkSpec(args({ vlan: { parent: "eth0", id: 151 } }), TOKEN));
  assert.deepEqual(moved.observed.vlanDevices, [`${BR}.151`]);
  assert.deepEqual((await applyNetwork(remote, networkSpec(args(), TOKEN))).observed.vlanDevices, []);
});

test("delete is refused while an interface is enslaved to the bridge, naming it", async () => {
  await onHostOk(host, ["ip", "link", "add", "pvt-u0", "type", "veth", "peer", "name", "pvt-u1"]);
  await onHostOk(host, ["ip", "link", "set", "pvt-u0", "master", BR]);
  const err = await destroyNetwork(remote, BR, TOKEN).then(() => undefined, (e: Error) => e);
  assert.ok(err instanceof NetworkInUseError, String(err));
  assert.match(err.message, /pvt-u0/);
  assert.ok((await readNetwork(remote, BR))?.bridgePresent, "the bridge is still there");
  await onHostOk(host, ["ip", "link", "del", "pvt-u0"]);
});

test("an interface of that name that pulumi-virt does not own is neither taken nor deleted", async () => {
  await onHostOk(host, ["ip", "link", "add", FOREIGN, "type", "bridge"]);
  await assert.rejects(applyNetwork(remote, networkSpec(args({ bridge: FOREIGN, vlan: undefined }), TOKEN)), NetworkOwnedElsewhereError);
  await assert.rejects(destroyNetwork(remote, FOREIGN, TOKEN), NetworkOwnedElsewhereError);
  assert.equal((await onHost(host, ["ip", "link", "show", FOREIGN])).code, 0);
  await onHostOk(host, ["ip", "link", "del", FOREIGN]);
});

test("what a reboot loses (bridge, VLAN device, rules, dnsmasq) is reported missing, and the next apply restores it", async () => {
  const pid = await dnsmasqPid();
  assert.ok(pid > 1, `dnsmasq's PID (${pid})`); // never `kill 0`: that signals the test's own process group
  await onHostOk(host, ["kill", String(pid)]);
  await onHostOk(host, ["ip", "link", "del", BR]);
  await onHost(host, ["sh", "-c", `for t in nat filter; do iptables-save -t $t | grep -F '${TAG}' | sed 's/^-A /-D /; s/"//g' | while read -r r; do iptables -t $t $r; done; done`]);
  const seen = await readNetwork(remote, BR);
  assert.deepEqual(missingOnHost(args(), seen!), ["bridge", "dnsmasq", "firewall rules"]);
  const { dnsmasq, observed } = await applyNetwork(remote, networkSpec(args(), TOKEN));
  assert.equal(dnsmasq, "started");
  assert.deepEqual(missingOnHost(args(), observed), []);
});

test("destroy leaves the host as it was: links, firewall rules, dnsmasq processes, files", async () => {
  assert.equal(await destroyNetwork(remote, BR, TOKEN), "destroyed");
  assert.equal(await hostNetworkSnapshot(host), before0);
  assert.equal(await destroyNetwork(remote, BR, TOKEN), "absent");
});
