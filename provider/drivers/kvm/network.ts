// A guest's NICs: the cloud-init data that configures them (network-config v2) and pins its SSH host key
// (vendor-data), and the addresses it really has, from the host's DHCP leases and neighbour table. Pure.
import type { NicSpec } from "./types";

const quote = (s: string) => JSON.stringify(s);

/** cloud-init network-config v2: every NIC matched by MAC; DHCPv4 unless it has a static IPv4 (or says dhcp4). */
export function networkConfig(nics: NicSpec[]): string {
  const lines = ["version: 2", "ethernets:"];
  nics.forEach((n, i) => {
    const addrs = n.addresses ?? [];
    const dhcp4 = n.dhcp4 ?? !addrs.some((a) => !a.includes(":"));
    lines.push(`  nic${i}:`, "    match:", `      macaddress: ${quote(n.mac)}`, `    dhcp4: ${dhcp4}`);
    if (addrs.length) lines.push("    addresses:", ...addrs.map((a) => `      - ${quote(a)}`));
    if (n.gateway4) lines.push(`    gateway4: ${n.gateway4}`);
    if (n.gateway6) lines.push(`    gateway6: ${n.gateway6}`);
  });
  return lines.join("\n") + "\n";
}

/** The block scalar of a YAML key: every line indented under it. */
const block = (text: string, indent: string) => text.trim().split("\n").map((l) => indent + l).join("\n");

/**
 * vendor-data (cloud-config): the SSH host key pulumi-virt generated (so it knows the key it will meet) and the
 * login key. It is vendor data so that the user's own user-data still wins where both set something.
 */
export function vendorData(hostKey: { privateKey: string; publicKey: string } | undefined, authorizedKeys: string[], opts: { machineId?: string } = {}): string {
  return [
    "#cloud-config",
    // A clone that boots its own kernel from the disk (firmware): the copied /etc/machine-id is replaced once per
    // instance (its instance-id is its own name), early in cloud-init's network stage; whatever started before that
    // in this first boot used the source's, so it is fully the clone's own from the next boot on.
    ...(opts.machineId && /^[0-9a-f]{32}$/.test(opts.machineId)
      ? ["bootcmd:", `  - [cloud-init-per, instance, pulumi-virt-machine-id, sh, -c, 'printf "%s\\n" "$1" > /etc/machine-id', sh, "${opts.machineId}"]`]
      : []),
    ...(hostKey
      ? ["ssh_deletekeys: true", "ssh_keys:", "  ed25519_private: |", block(hostKey.privateKey, "    "), `  ed25519_public: ${hostKey.publicKey.trim()}`, "disable_root: false"]
      : []),
    ...(authorizedKeys.length ? ["ssh_authorized_keys:", ...authorizedKeys.map((k) => `  - ${quote(k.trim())}`)] : []),
    "",
  ].join("\n");
}

/** Addresses one NIC has, as observed. */
export interface ObservedNicAddresses {
  mac: string;
  ipv4: string[];
  ipv6: string[];
}

const isV6 = (a: string) => a.includes(":");
const linkLocal = (a: string) => /^fe80:/i.test(a);

/**
 * Addresses by MAC from the host's view: dnsmasq lease lines (`expiry mac ip host clientid`), `ip neigh` lines
 * (`ADDR dev BR lladdr MAC STATE`) and `virsh domifaddr` tables (`vnet0 MAC ipv4 ADDR/NN`). Stale neighbour
 * entries (FAILED, INCOMPLETE) and link-local addresses are left out; a lease alone counts (the guest asked for it)
 * unless it has expired by the host's clock `nowSec` (expiry 0 is dnsmasq's "infinite").
 *
 * The neighbour table is weaker evidence than a lease: a guest with two NICs on one bridge answers ARP for either
 * NIC's address on both (Linux "ARP flux"), so an address leased to one MAC is never also reported for another.
 */
export function addressesByMac(leases: string, neigh: string, domifaddr: string, macs: string[], nowSec?: number): Map<string, Set<string>> {
  const want = new Set(macs.map((m) => m.toLowerCase()));
  const out = new Map<string, Set<string>>();
  const leasedTo = new Map<string, string>();
  const add = (mac: string, addr: string) => {
    const m = mac.toLowerCase();
    if (!want.has(m) || linkLocal(addr)) return;
    if (!out.has(m)) out.set(m, new Set());
    out.get(m)!.add(addr);
  };
  for (const line of leases.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || !/^\d+$/.test(f[0]) || !/^[0-9a-f:]{17}$/i.test(f[1])) continue;
    const expiry = Number(f[0]);
    if (nowSec !== undefined && expiry !== 0 && expiry < nowSec) continue;
    leasedTo.set(f[2], f[1].toLowerCase());
    add(f[1], f[2]);
  }
  const weak = (mac: string, addr: string) => {
    const owner = leasedTo.get(addr);
    if (owner === undefined || owner === mac.toLowerCase()) add(mac, addr);
  };
  for (const line of neigh.split("\n")) {
    const m = /^(\S+)\s+dev\s+\S+\s+lladdr\s+([0-9a-f:]{17})\s+(.*)$/i.exec(line.trim());
    if (m && !/FAILED|INCOMPLETE/.test(m[3])) weak(m[2], m[1]);
  }
  for (const line of domifaddr.split("\n")) {
    const m = /^\s*\S+\s+([0-9a-f:]{17})\s+ipv[46]\s+(\S+)\/\d+\s*$/i.exec(line);
    if (m) weak(m[1], m[2]);
  }
  return out;
}

/** Observed addresses per NIC: static ones the guest was told, plus what the host sees for its MAC. */
export function nicAddresses(nics: NicSpec[], seen: Map<string, Set<string>>, staticApplied: boolean): ObservedNicAddresses[] {
  // A static address belongs to the NIC it is configured on, whatever MAC the neighbour table shows it under.
  const staticOwner = new Map<string, string>();
  for (const n of nics) for (const a of n.addresses ?? []) staticOwner.set(a.split("/")[0], n.mac.toLowerCase());
  return nics.map((n) => {
    const mine = n.mac.toLowerCase();
    const all = new Set<string>([...(seen.get(mine) ?? [])].filter((a) => (staticOwner.get(a) ?? mine) === mine));
    if (staticApplied) for (const a of n.addresses ?? []) all.add(a.split("/")[0]);
    const list = [...all].sort();
    return { mac: n.mac, ipv4: list.filter((a) => !isV6(a)), ipv6: list.filter(isV6) };
  });
}
