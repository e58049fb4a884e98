// Issue 20, the pure parts: a Guest's NICs (model, MACs kept, cloud-init network-config), the host key the provider
// injects (vendor-data) and pins (connection), addresses from leases / neighbours / virsh, and waitFor's bounded,
// explained failure. No host.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildDomainXml } from "../../provider/drivers/kvm/domain-xml";
import { guestAddresses, guestConnection, kvmMachineDriver, kvmSpec } from "../../provider/drivers/kvm/machine";
import { addressesByMac, networkConfig, nicAddresses, vendorData } from "../../provider/drivers/kvm/network";
import { parseReadOutput } from "../../provider/drivers/kvm/parse";
import { waitUntilReady } from "../../provider/lifecycle/readiness";
import { defaultNicMac, guestArgsSchema } from "../../provider/models/guest";
import type { GuestState } from "../../provider/models/state";
import { stableMac } from "../../provider/drivers/kvm/paths";
import { generateHostKey, publicKeyLine } from "../../provider/ssh/keys";
import { hostRef, hypervisorRef } from "./plan-fixtures";

const BASE = { name: "vm", virtualization: "full", vcpus: 1, memory: 128, boot: { kernel: "/k" }, rootDisk: { baseImage: "/b.qcow2" } };

function state(over: Record<string, unknown> = {}): GuestState {
  return { ...guestArgsSchema.parse({ ...BASE, ...over }), hypervisor: hypervisorRef("kvm") } as unknown as GuestState;
}

test("nics: IPv4 and IPv6 CIDR addresses and gateways are accepted; bad ones are refused naming the property", () => {
  const ok = guestArgsSchema.safeParse({ ...BASE, nics: [{ bridge: "br0" }, { bridge: "br1", addresses: ["10.0.0.5/24", "fd00:1::5/64"], gateway4: "10.0.0.1", gateway6: "fd00:1::1" }] });
  assert.equal(ok.success, true, JSON.stringify(ok.error?.issues));
  for (const [bad, where] of [
    [{ bridge: "br0", addresses: ["10.0.0.5"] }, "addresses"],
    [{ bridge: "br0", addresses: ["10.0.0.300/24"] }, "addresses"],
    [{ bridge: "br0", addresses: ["fd00:::5/64"] }, "addresses"],
    [{ bridge: "br0", gateway6: "nope" }, "gateway6"],
    [{ bridge: "br0", mac: "01:00:5e:00:00:01" }, "mac"],
  ] as const) {
    const r = guestArgsSchema.safeParse({ ...BASE, nics: [bad] });
    assert.equal(r.success, false, JSON.stringify(bad));
    assert.ok(r.error!.issues.some((i) => i.path.includes(where)), `${JSON.stringify(bad)} → ${JSON.stringify(r.error!.issues)}`);
  }
  const both = guestArgsSchema.safeParse({ ...BASE, network: { bridge: "br0" }, nics: [{ bridge: "br0" }] });
  assert.equal(both.success, false);
});

test("a guest whose host key cannot be injected needs the visible opt-in for waitFor.ssh", () => {
  const noCloudInit = guestArgsSchema.safeParse({ ...BASE, imageCloudInit: false, waitFor: { ssh: true } });
  assert.equal(noCloudInit.success, false);
  assert.match(noCloudInit.error!.issues[0].message, /allowUnpinnedConnection/);
  assert.deepEqual(noCloudInit.error!.issues[0].path, ["waitFor"]);
  const para = guestArgsSchema.safeParse({ ...BASE, virtualization: "para", rootDisk: undefined, waitFor: { ssh: true } });
  assert.equal(para.success, false);
  assert.match(para.error!.issues.map((i) => i.message).join("\n"), /para \(Xen PV\).*allowUnpinnedConnection/);
  assert.equal(guestArgsSchema.safeParse({ ...BASE, imageCloudInit: false, waitFor: { ssh: true }, allowUnpinnedConnection: true }).success, true);
  assert.equal(guestArgsSchema.safeParse({ ...BASE, waitFor: { ssh: true, timeoutSec: 0 } }).success, false, "timeoutSec is bounded");
});

test("NIC 0's default MAC is the single-NIC form's, so moving from network to nics changes no MAC; others differ", () => {
  assert.equal(defaultNicMac("vm", 0), stableMac("vm"));
  assert.notEqual(defaultNicMac("vm", 1), defaultNicMac("vm", 0));
  assert.match(defaultNicMac("vm", 3), /^52:54:00(:[0-9a-f]{2}){3}$/);
});

test("network-config v2 matches each NIC by MAC: DHCP without a static IPv4, static addresses and gateways as given", () => {
  const text = networkConfig([
    { bridge: "br0", mac: "52:54:00:00:00:01" },
    { bridge: "br1", mac: "52:54:00:00:00:02", addresses: ["10.0.0.5/24", "fd00::5/64"], gateway4: "10.0.0.1", gateway6: "fd00::1" },
    { bridge: "br1", mac: "52:54:00:00:00:03", addresses: ["fd00::6/64"] },
  ]);
  assert.equal(text, [
    "version: 2", "ethernets:",
    "  nic0:", "    match:", '      macaddress: "52:54:00:00:00:01"', "    dhcp4: true",
    "  nic1:", "    match:", '      macaddress: "52:54:00:00:00:02"', "    dhcp4: false", "    addresses:", '      - "10.0.0.5/24"', '      - "fd00::5/64"', "    gateway4: 10.0.0.1", "    gateway6: fd00::1",
    "  nic2:", "    match:", '      macaddress: "52:54:00:00:00:03"', "    dhcp4: true", '    addresses:', '      - "fd00::6/64"',
    "",
  ].join("\n"));
});

test("the seed carries the generated host key and the login key; the domain has one interface per NIC", () => {
  const hostKey = generateHostKey();
  assert.match(hostKey.publicKey, /^ssh-ed25519 [A-Za-z0-9+/=]+$/);
  assert.match(hostKey.privateKey, /BEGIN OPENSSH PRIVATE KEY/);
  const login = publicKeyLine(generateHostKey().privateKey)!;
  const vd = vendorData(hostKey, [login]);
  assert.ok(vd.startsWith("#cloud-config\n"));
  assert.ok(vd.includes(`  ed25519_public: ${hostKey.publicKey}\n`));
  for (const line of hostKey.privateKey.trim().split("\n")) assert.ok(vd.includes(`\n    ${line}\n`), "private key indented under ed25519_private");
  assert.ok(vd.includes(`ssh_authorized_keys:\n  - "${login}"\n`));

  const s = { ...state({ nics: [{ bridge: "br0" }, { bridge: "br1", addresses: ["10.9.0.5/24"] }] }), sshHostKey: hostKey };
  const spec = kvmSpec(s, "a".repeat(32));
  assert.equal(spec.nics?.length, 2);
  assert.equal(spec.nics?.[0].mac, stableMac("vm"));
  assert.ok(spec.cloudInit?.vendorData?.includes(hostKey.publicKey));
  assert.ok(spec.cloudInit?.networkConfig?.includes('macaddress: "' + spec.nics![1].mac + '"'));
  const xml = buildDomainXml(spec);
  assert.equal((xml.match(/<interface type="bridge">/g) ?? []).length, 2);
  assert.ok(xml.includes('<source bridge="br1"/>'));
});

test("a guest from before NICs (no nics, no cloudInit, no host key in state) keeps its definition: no seed, one interface", () => {
  const s = state({ network: { bridge: "br0" } });
  const spec = kvmSpec(s);
  assert.equal(spec.cloudInit, undefined);
  assert.equal(spec.nics, undefined);
  assert.equal((buildDomainXml(spec).match(/<interface /g) ?? []).length, 1);
  assert.deepEqual(kvmMachineDriver.prepare!(s, s), {}, "no key is invented for an existing guest");
  assert.ok(kvmMachineDriver.prepare!(s, undefined).sshHostKey, "a new guest gets one");
  assert.deepEqual(kvmMachineDriver.prepare!({ ...s, imageCloudInit: false }, undefined), {});
});

test("addresses by MAC: dnsmasq leases, the neighbour table (not FAILED, not link-local) and virsh domifaddr", () => {
  const leases = "1733230000 52:54:00:00:00:01 10.77.101.150 vm 01:52:54:00:00:00:01\n1733230000 52:54:00:99:99:99 10.77.101.151 other *\n";
  const neigh = [
    "10.77.101.150 dev pvbr0 lladdr 52:54:00:00:00:01 REACHABLE",
    "10.77.101.160 dev pvbr0 lladdr 52:54:00:00:00:02 FAILED",
    "fd77:101::5 dev pvbr0 lladdr 52:54:00:00:00:02 STALE",
    "fe80::5054:ff:fe00:2 dev pvbr0 lladdr 52:54:00:00:00:02 STALE",
    "10.77.101.170 dev pvbr0  INCOMPLETE",
  ].join("\n");
  const domifaddr = " Name       MAC address          Protocol     Address\n-----\n vnet1      52:54:00:00:00:02    ipv4         10.77.101.161/0\n";
  const m = addressesByMac(leases, neigh, domifaddr, ["52:54:00:00:00:01", "52:54:00:00:00:02"]);
  assert.deepEqual([...m.get("52:54:00:00:00:01")!], ["10.77.101.150"]);
  assert.deepEqual([...m.get("52:54:00:00:00:02")!].sort(), ["10.77.101.161", "fd77:101::5"]);
  assert.equal(m.has("52:54:00:99:99:99"), false, "another guest's lease is not ours");
});

test("addresses by MAC: ARP flux (two NICs on one bridge answer for each other) and expired leases are not addresses", () => {
  const leases = "1800 52:54:00:00:00:01 10.77.101.150 vm *\n1800 52:54:00:00:00:03 10.77.101.165 vm *\n900 52:54:00:00:00:03 10.77.101.120 vm *\n0 52:54:00:00:00:04 10.77.101.170 vm *\n";
  const neigh = [
    "10.77.101.150 dev pvbr0 lladdr 52:54:00:00:00:03 STALE",
    "10.77.101.165 dev pvbr0 lladdr 52:54:00:00:00:03 REACHABLE",
    "10.77.101.180 dev pvbr0 lladdr 52:54:00:00:00:03 REACHABLE",
  ].join("\n");
  const domifaddr = " vnet2      52:54:00:00:00:03    ipv4         10.77.101.150/0\n";
  const macs = ["52:54:00:00:00:01", "52:54:00:00:00:03", "52:54:00:00:00:04"];
  const m = addressesByMac(leases, neigh, domifaddr, macs, 1000);
  assert.deepEqual([...m.get("52:54:00:00:00:01")!], ["10.77.101.150"]);
  assert.deepEqual([...m.get("52:54:00:00:00:03")!].sort(), ["10.77.101.165", "10.77.101.180"], "not the other NIC's leased address, not an expired lease");
  assert.deepEqual([...m.get("52:54:00:00:00:04")!], ["10.77.101.170"], "expiry 0 never expires");
  assert.deepEqual([...addressesByMac(leases, "", "", macs).get("52:54:00:00:00:03")!].sort(), ["10.77.101.120", "10.77.101.165"], "without the host's clock no lease is judged expired");
  const nics = [{ bridge: "br0", mac: "52:54:00:00:00:01", addresses: ["10.77.101.180/24"] }, { bridge: "br0", mac: "52:54:00:00:00:03" }];
  const seen = new Map([["52:54:00:00:00:03", new Set(["10.77.101.165", "10.77.101.180"])]]);
  assert.deepEqual(nicAddresses(nics, seen, true).map((a) => a.ipv4), [["10.77.101.180"], ["10.77.101.165"]], "a static address belongs to the NIC it is configured on");
});

test("outputs: addresses per NIC (static + seen, only while running) and a pinned connection via the host", () => {
  const hostKey = generateHostKey();
  const s: GuestState = { ...state({ nics: [{ bridge: "br0" }, { bridge: "br1", addresses: ["fd77:1::5/64"] }] }), sshHostKey: hostKey };
  const mac0 = defaultNicMac("vm", 0);
  const read = `@@dominfo\nState: running\nUUID: x\n@@xml\n<domain type="qemu"><devices><interface type="bridge"><mac address="${mac0}"/><source bridge="br0"/></interface></devices></domain>\n@@leases\n1 ${mac0} 10.77.101.150 vm *\n@@end\n`;
  const o = parseReadOutput("vm", read);
  const addrs = guestAddresses(s, o);
  assert.deepEqual(addrs, [
    { mac: mac0, bridge: "br0", ipv4: ["10.77.101.150"], ipv6: [] },
    { mac: defaultNicMac("vm", 1), bridge: "br1", ipv4: [], ipv6: ["fd77:1::5"] },
  ]);
  assert.deepEqual(guestAddresses(s, { ...o, state: "shutoff" }).flatMap((a) => [...a.ipv4, ...a.ipv6]), [], "a stopped guest has no address");
  const c = guestConnection(s, addrs)!;
  assert.equal(c.host, "10.77.101.150");
  assert.equal(c.hostKey, hostKey.publicKey);
  assert.equal(c.user, "root");
  assert.equal((c.proxy as Record<string, unknown>).host, hostRef().connection.host);
  assert.equal(guestConnection({ ...s, sshHostKey: undefined }, addrs), undefined, "no pinned key, no opt-in: no connection");
  assert.equal(guestConnection({ ...s, sshHostKey: undefined, allowUnpinnedConnection: true }, addrs)!.hostKey, undefined);
  assert.equal(guestConnection(s, []), undefined, "no address: no connection");
});

test("waitFor: a guest that never gets an address fails within timeoutSec, saying what was and was not reached", async () => {
  let reads = 0;
  const t0 = Date.now();
  await assert.rejects(
    waitUntilReady('guest "vm"', hostRef(), { ssh: true, timeoutSec: 1 }, {
      observe: async () => { reads++; return { addresses: [{ mac: "52:54:00:00:00:01", bridge: "br0", ipv4: [], ipv6: [] }] }; },
      exec: async () => { throw new Error("must not be called"); },
    }),
    (e: Error) => {
      assert.match(e.message, /guest "vm" on host "lab1": waitFor not met within 1 s/);
      assert.match(e.message, /address: not reached: 52:54:00:00:00:01 on br0: no address/);
      assert.match(e.message, /ssh: not tried \(no address yet\)/);
      return true;
    },
  );
  assert.ok(reads >= 1);
  assert.ok(Date.now() - t0 < 10_000, "bounded");
});

test("waitFor: returns once SSH answers; an SSH that refuses is reported with its address", async () => {
  const addresses = [{ mac: "52:54:00:00:00:01", bridge: "br0", ipv4: ["10.0.0.5"], ipv6: [] }];
  const calls: string[][] = [];
  await waitUntilReady('guest "vm"', hostRef(), { ssh: true, cloudInit: true, timeoutSec: 5 }, {
    observe: async () => ({ addresses, connection: { host: "10.0.0.5" } }),
    exec: async (_c, argv) => { calls.push(argv); return 0; },
  });
  assert.deepEqual(calls[0], ["true"]);
  assert.equal(calls.length, 2, "then cloud-init's boot-finished");
  await assert.rejects(
    waitUntilReady('guest "vm"', hostRef(), { ssh: true, timeoutSec: 1 }, {
      observe: async () => ({ addresses, connection: { host: "10.0.0.5" } }),
      exec: async () => { throw new Error("host key mismatch: the server's key is not the pinned one"); },
    }),
    /ssh: not reached at 10\.0\.0\.5:22: host key mismatch/,
  );
});

test("NIC changes are classified by what they need: a DHCP NIC plugs in and out live; static addresses or a bridge move restart", async () => {
  const { check, planFor } = await import("../../provider/resources/impl/guest");
  const raw = (nics: unknown[]) => ({ ...BASE, memory: "128MiB", nics, hypervisor: hypervisorRef("kvm") });
  const checked = async (nics: unknown[]) => {
    const r = await check({}, raw(nics));
    assert.deepEqual(r.failures, []);
    return r.inputs;
  };
  const one = await checked([{ bridge: "br0" }]);
  const action = async (nics: unknown[]) => planFor(one, await checked(nics)).overall;
  assert.equal(await action([{ bridge: "br0" }]), "none", "the derived MAC is stable");
  assert.equal(await action([{ bridge: "br0" }, { bridge: "br1" }]), "live", "a DHCP NIC is hot-plugged");
  assert.equal(await action([{ bridge: "br0" }, { bridge: "br1", addresses: ["10.0.0.9/24"] }]), "restart", "a new static NIC needs network-config at boot");
  assert.equal(await action([{ bridge: "br2" }]), "restart", "a bridge move");
  const two = await checked([{ bridge: "br0" }, { bridge: "br1" }]);
  assert.equal(planFor(two, one).overall, "live", "a NIC unplugged");
  assert.match(JSON.stringify(planFor(two, one).properties), /detach-interface/);
});
