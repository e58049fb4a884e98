// Network and StoragePool: the models refuse at check what cannot work, and the plan classifies each change the way
// the drivers apply it (the lab tests prove the drivers do what these rows say).
import { test } from "node:test";
import assert from "node:assert/strict";
import { dnsmasqConf, networkSpec, vlanDevice } from "../../provider/drivers/net/config";
import { parseNetworkRead } from "../../provider/drivers/net/driver";
import { parsePoolRead } from "../../provider/drivers/pool/driver";
import { planNetwork, type NetworkState } from "../../provider/lifecycle/network";
import { planPool, type StoragePoolState } from "../../provider/lifecycle/storage-pool";
import { zodFailures } from "../../provider/models/common";
import { ipv6ToBigInt, networkArgsSchema, subnetCidr } from "../../provider/models/network";
import { poolImage, poolPath, storagePoolArgsSchema } from "../../provider/models/storage-pool";

const base = {
  bridge: "pvnet0",
  ipv4: { address: "10.9.0.1/24", dhcp: { start: "10.9.0.100", end: "10.9.0.200", hosts: [{ mac: "52:54:00:00:00:01", ip: "10.9.0.10", name: "db" }] } },
  uplink: "nat",
};
const net = (over: Record<string, unknown> = {}) => ({ ...networkArgsSchema.parse({ ...base, ...over }), hostMachineId: "m1" }) as NetworkState;
const failuresOf = (v: unknown) => {
  const r = networkArgsSchema.safeParse(v);
  return r.success ? [] : zodFailures(r.error);
};

test("network model: refusals name the property", () => {
  assert.deepEqual(failuresOf(base), []);
  assert.match(JSON.stringify(failuresOf({ bridge: "a-bridge-name-too-long" })), /"property":"bridge"/);
  assert.match(JSON.stringify(failuresOf({ bridge: "br0", uplink: "nat" })), /"property":"uplink".*needs ipv4/);
  assert.match(JSON.stringify(failuresOf({ ...base, ipv4: { address: "10.9.0.1/24", dhcp: { start: "10.8.0.1", end: "10.9.0.2" } } })), /ipv4.dhcp.start.*outside/);
  assert.match(JSON.stringify(failuresOf({ ...base, ipv4: { address: "10.9.0.1/24", dhcp: { start: "10.9.0.9", end: "10.9.0.2" } } })), /ipv4.dhcp.end.*below/);
  const dupe = { ...base, ipv4: { address: "10.9.0.1/24", dhcp: { start: "10.9.0.2", end: "10.9.0.9", hosts: [{ mac: "52:54:00:00:00:01", ip: "10.9.0.3" }, { mac: "52:54:00:00:00:01", ip: "10.9.0.4" }] } } };
  assert.match(JSON.stringify(failuresOf(dupe)), /ipv4.dhcp.hosts.1.mac.*two static leases/);
  assert.match(JSON.stringify(failuresOf({ ...base, ipv4: { address: "10.9.0.1/24", dhcp: { start: "10.9.0.2", end: "10.9.0.9", hosts: [{ mac: "52:54:00:00:00:01", ip: "10.9.0.3", name: "x;rm -rf /" }] } } })), /ipv4.dhcp.hosts.0.name/);
  assert.match(JSON.stringify(failuresOf({ bridge: "br0", domain: "lab" })), /"property":"domain".*needs ipv4.dhcp/);
  assert.match(JSON.stringify(failuresOf({ bridge: "br0", ipv6: { address: "fd00::1/80" } })), /ipv6.address/);
  assert.match(JSON.stringify(failuresOf({ bridge: "br0", vlan: { parent: "eth0", id: 5000 } })), /vlan.id/);
  const v6 = (dhcp: Record<string, unknown>, ra = true) => failuresOf({ bridge: "br0", ipv6: { address: "fd00:9::1/64", ra, dhcp } });
  assert.deepEqual(v6({ start: "fd00:9::100", end: "FD00:9::1ff" }), []);
  assert.match(JSON.stringify(v6({ start: "fd00:8::100", end: "fd00:9::1ff" })), /ipv6.dhcp.start.*outside fd00:9::1\/64's prefix/);
  assert.match(JSON.stringify(v6({ start: "fd00:9::200", end: "fd00:9::1ff" })), /ipv6.dhcp.end.*below/);
  assert.match(JSON.stringify(v6({ start: "fd00:9::100", end: "fd00:9::1ff" }, false)), /"property":"ipv6.dhcp".*needs ipv6.ra/);
  for (const bad of ["fd00:9::1::2", "fd00:9:1", "10.0.0.1", "fd00:9::12345", "1:2:3:4:5:6:7:8:9"]) {
    assert.match(JSON.stringify(v6({ start: bad, end: "fd00:9::1ff" })), /ipv6.dhcp.start.*IPv6 address/, bad);
  }
  assert.equal(ipv6ToBigInt("::1"), 1n);
  assert.equal(ipv6ToBigInt("fd00:9::"), 0xfd000009n << 96n);
  assert.equal(ipv6ToBigInt("1:2:3:4:5:6:7:8"), 0x00010002000300040005000600070008n);
});

test("network rendering: dnsmasq configuration, hosts files, VLAN device name, NAT subnet", () => {
  const a = networkArgsSchema.parse({ ...base, domain: "lab.test", ipv6: { address: "fd00:9::1/64" } });
  const conf = dnsmasqConf(a);
  assert.match(conf, /^interface=pvnet0$/m);
  assert.match(conf, /^dhcp-range=10\.9\.0\.100,10\.9\.0\.200,3600$/m);
  assert.match(conf, /^dhcp-range=::,constructor:pvnet0,ra-only$/m);
  assert.match(conf, /^dhcp-hostsfile=\/var\/lib\/pulumi-virt\/net\/pvnet0\/dhcp-hosts$/m);
  // DHCPv6: the range with SLAAC beside it (M and A flags), instead of advertisements only.
  const v6 = dnsmasqConf(networkArgsSchema.parse({ ...base, ipv6: { address: "fd00:9::1/48", dhcp: { start: "fd00:9::100", end: "fd00:9::1ff", leaseTimeSec: 600 } } }));
  assert.match(v6, /^enable-ra$/m);
  assert.match(v6, /^dhcp-range=fd00:9::100,fd00:9::1ff,slaac,64,600$/m);
  assert.doesNotMatch(v6, /ra-only/);
  const spec = networkSpec(a, "tok");
  assert.equal(spec.dhcpHostsFile, "52:54:00:00:00:01,10.9.0.10,db\n");
  assert.equal(spec.dnsHostsFile, "10.9.0.10 db\n");
  assert.equal(spec.ipv4Subnet, "10.9.0.0/24");
  assert.equal(subnetCidr("172.16.5.9/12"), "172.16.0.0/12");
  assert.equal(vlanDevice("a-long-bridge", 4094), "a-long-bri.4094");
  assert.ok(vlanDevice("a-long-bridge", 4094).length <= 15);
  assert.equal(dnsmasqConf(networkArgsSchema.parse({ bridge: "br0", ipv4: { address: "10.1.0.1/24" } })), "", "no DHCP, no RA: no dnsmasq");
  // A static lease changes only the hosts files, never the configuration text (so the driver reloads, not restarts).
  const b = networkArgsSchema.parse({ ...base, ipv4: { ...base.ipv4, dhcp: { ...base.ipv4.dhcp, hosts: [] } } });
  assert.equal(dnsmasqConf(b), dnsmasqConf(networkArgsSchema.parse(base)));
});

test("network plan: each change's action and reason", () => {
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ["static lease added", { ipv4: { ...base.ipv4, dhcp: { ...base.ipv4.dhcp, hosts: [...base.ipv4.dhcp.hosts, { mac: "52:54:00:00:00:02", ip: "10.9.0.11" }] } } }, "live", /SIGHUP/],
    ["static lease renamed", { ipv4: { ...base.ipv4, dhcp: { ...base.ipv4.dhcp, hosts: [{ ...base.ipv4.dhcp.hosts[0], name: "db2" }] } } }, "live", /SIGHUP/],
    ["range", { ipv4: { ...base.ipv4, dhcp: { ...base.ipv4.dhcp, end: "10.9.0.250" } } }, "restart", /dnsmasq .* restarted/],
    ["lease time", { ipv4: { ...base.ipv4, dhcp: { ...base.ipv4.dhcp, leaseTimeSec: 600 } } }, "restart", /restarted/],
    ["uplink", { uplink: "routed" }, "live", /firewall rules/],
    ["address in the subnet", { ipv4: { ...base.ipv4, address: "10.9.0.2/24" } }, "live", /ip addr replace/],
    ["vlan", { vlan: { parent: "eth0", id: 7 } }, "live", /VLAN device/],
    ["bridge rename", { bridge: "pvnet1" }, "replace", /must move/],
    ["DHCP turned off", { uplink: "none", ipv4: { address: "10.9.0.1/24" } }, "live", /dnsmasq stopped/],
  ];
  for (const [what, over, action, reason] of cases) {
    const plan = planNetwork(net(), net(over));
    assert.equal(plan.overall, action, what);
    assert.match(Object.values(plan.properties).map((p) => p.reason).join(" | "), reason, what);
    assert.deepEqual(plan.failures, [], what);
  }
  const ra = { address: "fd00:9::1/64" };
  const dhcp6 = planNetwork(net({ ipv6: ra }), net({ ipv6: { ...ra, dhcp: { start: "fd00:9::100", end: "fd00:9::1ff" } } }));
  assert.equal(dhcp6.overall, "restart", "a DHCPv6 range is dnsmasq configuration");
  assert.deepEqual(dhcp6.properties.map((p) => p.name), ["ipv6.dhcp"], "named as the user wrote it");
  const dhcpOn = planNetwork(net({ uplink: "none", ipv4: { address: "10.9.0.1/24" } }), net());
  assert.equal(dhcpOn.overall, "live");
  assert.match(dhcpOn.properties.map((p) => p.reason).join(" "), /dnsmasq started/);
  assert.equal(planNetwork(net(), net()).overall, "none");
  const drift = planNetwork({ ...net(), hostState: "drift: bridge missing" }, net());
  assert.equal(drift.overall, "live");
  assert.equal(drift.properties[0].name, "(host state)");
  const host = planNetwork(net(), { ...net(), hostMachineId: "m2" });
  assert.equal(host.overall, "replace");
});

test("pool model and plan: sizes, types, paths; grow live, shrink refused, type/path replace", () => {
  const ok = (v: unknown) => storagePoolArgsSchema.safeParse(v).success;
  assert.ok(ok({ name: "p1", type: "dir" }));
  assert.ok(!ok({ name: "p1", type: "dir", size: 512 }), "a dir pool has no size");
  assert.ok(!ok({ name: "p1", type: "xfs" }), "xfs needs a size");
  assert.ok(!ok({ name: "p1", type: "xfs", size: 200 }), "xfs needs 300 MiB");
  assert.ok(ok({ name: "p1", type: "btrfs", size: "1GiB" }));
  assert.ok(!ok({ name: "p1", type: "dir", path: "/srv" }), "a one-level path is refused (destroy removes it)");
  assert.ok(!ok({ name: "p1", type: "dir", path: "/srv/a b" }));
  assert.equal(poolPath({ name: "p1" }), "/var/lib/pulumi-virt/pools/p1");
  assert.equal(poolImage("/srv/pool/"), "/srv/pool.img");
  const pool = (over: Record<string, unknown> = {}) => {
    const a = storagePoolArgsSchema.parse({ name: "p1", type: "xfs", size: 512, ...over });
    return { ...a, path: poolPath(a), hostMachineId: "m1" } as StoragePoolState;
  };
  assert.equal(planPool(pool(), pool({ size: 1024 })).overall, "live");
  const shrink = planPool(pool(), pool({ size: 400 }));
  assert.equal(shrink.failures.length, 1);
  assert.match(shrink.failures[0].reason, /size cannot change from 512 to 400/);
  assert.equal(planPool(pool(), pool({ type: "btrfs" })).overall, "replace");
  assert.equal(planPool(pool(), pool({ path: "/srv/p1" })).overall, "replace");
});

test("driver answers parse: network read, pool read", () => {
  const n = parseNetworkRead("bridge=present\nowner=pulumi-virt:t\naddr=10.9.0.1/24\nvlan=pvnet0.7\nrules=3\nforwarding=1\ndnsmasq=42\nlease=1700000000 52:54:00:00:00:01 10.9.0.10 db 01:52\nlease=duid 00:01:00:01\nlease=1700000000 12345678 fd00:9::1a0 * 00:04:aa\nuser=veth1 container web\nuser=vnet0 unknown\n");
  assert.deepEqual(n, {
    bridgePresent: true, owner: "pulumi-virt:t", addresses: ["10.9.0.1/24"], vlanDevices: ["pvnet0.7"], firewallRules: 3, ipv4Forwarding: true, dnsmasqPid: 42,
    leases: [{ expires: 1700000000, mac: "52:54:00:00:00:01", ip: "10.9.0.10", hostname: "db" }], users: ["container web (veth1)", "interface vnet0"],
  });
  assert.equal(parseNetworkRead("garbage"), undefined);
  const p = parsePoolRead("present=1\nmounted=1\nowner=t\nfstype=xfs\nsizeBytes=536870912\nfreeBytes=268435456\nentries=2\nentry=a.qcow2\nentry=b\nimageBytes=536870912\n");
  assert.deepEqual(p, { present: true, mounted: true, owner: "t", fstype: "xfs", capacityMiB: 512, freeMiB: 256, imageMiB: 512, entryCount: 2, entries: ["a.qcow2", "b"] });
});
