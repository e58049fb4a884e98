// Pure rendering of a Network's host-side files from its checked args: dnsmasq's configuration and hosts files,
// the VLAN device name, the spec the scripts take. The plan's dnsmasq rows and the script's "restart when the
// configuration text differs" agree because the text is a function of exactly those rows' values.
import type { NetworkArgs } from "../../models/network";
import { subnetCidr } from "../../models/network";
import type { NetworkSpec } from "./types";

export const NET_ROOT = "/var/lib/pulumi-virt/net";

export function networkDir(bridge: string): string {
  return `${NET_ROOT}/${bridge}`;
}

/** dnsmasq runs when the network serves DHCP or router advertisements. */
export function runsDnsmasq(a: Pick<NetworkArgs, "ipv4" | "ipv6">): boolean {
  return !!a.ipv4?.dhcp || !!a.ipv6?.ra;
}

/** The VLAN device: "<first 10 characters of the bridge>.<id>" fits the 15-character interface name limit. */
export function vlanDevice(bridge: string, id: number): string {
  return `${bridge.slice(0, 10)}.${id}`;
}

export function dnsmasqConf(a: NetworkArgs): string {
  if (!runsDnsmasq(a)) return "";
  const dir = networkDir(a.bridge);
  const lines = [
    `# pulumi-virt network ${a.bridge}: written by pulumi-virt on every up; edits are replaced`,
    `interface=${a.bridge}`,
    "bind-interfaces",
    "except-interface=lo",
    "no-resolv",
    "no-hosts",
    `pid-file=${dir}/dnsmasq.pid`,
    `dhcp-leasefile=${dir}/leases`,
    `dhcp-hostsfile=${dir}/dhcp-hosts`,
    `addn-hosts=${dir}/dns-hosts`,
  ];
  const dhcp = a.ipv4?.dhcp;
  if (dhcp) lines.push(`dhcp-range=${dhcp.start},${dhcp.end},${dhcp.leaseTimeSec}`, "dhcp-authoritative");
  if (a.domain) lines.push(`domain=${a.domain}`, `local=/${a.domain}/`, "expand-hosts");
  const dhcp6 = a.ipv6?.dhcp;
  if (a.ipv6?.ra && dhcp6) {
    // slaac: the advertisements carry the A flag too, so clients without a DHCPv6 client still get an address.
    // 64: dnsmasq wants a length at least the bridge's prefix (at most 64, the model says); a constant keeps an
    // address change (live) from changing this text (a restart).
    lines.push("enable-ra", `dhcp-range=${dhcp6.start},${dhcp6.end},slaac,64,${dhcp6.leaseTimeSec}`);
  } else if (a.ipv6?.ra) {
    // constructor: follows the bridge's IPv6 addresses, so an address change needs no restart.
    lines.push("enable-ra", `dhcp-range=::,constructor:${a.bridge},ra-only`);
  }
  return lines.join("\n") + "\n";
}

export function dhcpHostsFile(a: NetworkArgs): string {
  return (a.ipv4?.dhcp?.hosts ?? []).map((h) => [h.mac, h.ip, h.name].filter(Boolean).join(",") + "\n").join("");
}

export function dnsHostsFile(a: NetworkArgs): string {
  return (a.ipv4?.dhcp?.hosts ?? []).filter((h) => h.name).map((h) => `${h.ip} ${h.name}\n`).join("");
}

export function networkSpec(a: NetworkArgs, token: string): NetworkSpec {
  return {
    bridge: a.bridge,
    token,
    ipv4Address: a.ipv4?.address,
    ipv4Subnet: a.ipv4 ? subnetCidr(a.ipv4.address) : undefined,
    ipv6Address: a.ipv6?.address,
    vlan: a.vlan ? { ...a.vlan, device: vlanDevice(a.bridge, a.vlan.id) } : undefined,
    uplink: a.uplink,
    dnsmasqConf: dnsmasqConf(a),
    dhcpHostsFile: dhcpHostsFile(a),
    dnsHostsFile: dnsHostsFile(a),
  };
}
