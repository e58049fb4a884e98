// The Network's capability table: what each change costs, as data the planner reads (provider/plan). A Network has
// no machine to restart: "restart" here means dnsmasq restarts (a new PID; leases stay in its lease file, DHCP and
// DNS pause for a moment); "live" means attached machines and a running dnsmasq are untouched.
import type { NetworkArgs } from "../../models/network";
import type { CapabilityTable, ChangeRule, PlanView } from "../../plan/types";
import { runsDnsmasq } from "./config";

export const NETWORK_KEYS = ["bridge", "host", "vlan", "ipv4Address", "ipv6Address", "uplink", "dhcpRange", "dhcpLeaseTimeSec", "domain", "ipv6Ra", "dhcp6Range", "staticLease", "hostState"] as const;
export type NetworkKey = (typeof NETWORK_KEYS)[number];

/** What the user edits for a view key. */
export const NETWORK_INPUT: Record<NetworkKey, string> = {
  bridge: "bridge", host: "host", vlan: "vlan", ipv4Address: "ipv4.address", ipv6Address: "ipv6.address", uplink: "uplink",
  dhcpRange: "ipv4.dhcp", dhcpLeaseTimeSec: "ipv4.dhcp.leaseTimeSec", domain: "domain", ipv6Ra: "ipv6.ra", dhcp6Range: "ipv6.dhcp",
  staticLease: "ipv4.dhcp.hosts", hostState: "(host state)",
};

/** The plannable view of a Network: one key per row, static leases one key per MAC (`staticLease:<mac>`). */
export function networkView(a: NetworkArgs & { hostMachineId?: string; hostState?: string }): PlanView<NetworkKey> {
  const v: PlanView<NetworkKey> = {
    bridge: a.bridge,
    host: a.hostMachineId,
    vlan: a.vlan ? `${a.vlan.parent}.${a.vlan.id}` : undefined,
    ipv4Address: a.ipv4?.address,
    ipv6Address: a.ipv6?.address,
    uplink: a.uplink,
    dhcpRange: a.ipv4?.dhcp ? `${a.ipv4.dhcp.start}-${a.ipv4.dhcp.end}` : undefined,
    dhcpLeaseTimeSec: a.ipv4?.dhcp?.leaseTimeSec,
    domain: a.domain,
    ipv6Ra: a.ipv6?.ra ?? false,
    dhcp6Range: a.ipv6?.dhcp ? `${a.ipv6.dhcp.start}-${a.ipv6.dhcp.end}/${a.ipv6.dhcp.leaseTimeSec}` : undefined,
    hostState: a.hostState ?? "ok",
  };
  for (const h of a.ipv4?.dhcp?.hosts ?? []) v[`staticLease:${h.mac}`] = h.name ? `${h.ip} ${h.name}` : h.ip;
  return v;
}

/**
 * The effective table, given whether dnsmasq runs before and after the change: a configuration change restarts a
 * running dnsmasq, starts one that did not run, stops one no longer needed.
 */
export function networkCapabilities(before: boolean, after: boolean): CapabilityTable<NetworkKey> {
  const conf: ChangeRule = before && after
    ? { action: "restart", reason: "dnsmasq reads its configuration only when it starts: it is restarted (new PID; leases kept in its lease file)" }
    : after ? { action: "live", mechanism: "dnsmasq started" } : before ? { action: "live", mechanism: "dnsmasq stopped" } : { action: "live", mechanism: "no dnsmasq involved" };
  const hosts: ChangeRule = before && after ? { action: "live", mechanism: "dnsmasq re-reads its hosts files on SIGHUP (same PID)" } : conf;
  return {
    bridge: { change: { action: "replace", reason: "the bridge is the network's identity: a new bridge is made; machines attached to the old one must move to the new `bridge` output before the old one can be deleted" } },
    host: { change: { action: "replace", reason: "a network lives on one host" } },
    vlan: { change: { action: "live", mechanism: "ip link: the VLAN device is re-made and enslaved to the bridge" } },
    ipv4Address: { change: { action: "live", mechanism: "ip addr replace on the bridge (dnsmasq follows the bridge's addresses)" } },
    ipv6Address: { change: { action: "live", mechanism: "ip addr replace on the bridge (router advertisements follow the bridge's prefixes)" } },
    uplink: { change: { action: "live", mechanism: "the network's firewall rules are replaced" } },
    dhcpRange: { change: conf },
    dhcpLeaseTimeSec: { grow: conf, shrink: conf },
    domain: { change: conf },
    ipv6Ra: { change: conf },
    dhcp6Range: { change: conf },
    staticLease: { change: hosts },
    hostState: { change: { action: "live", mechanism: "what the host lost (e.g. a reboot: the bridge, rules and dnsmasq do not persist) is made again" } },
  };
}

export function networkCapabilitiesFor(olds: NetworkArgs | undefined, news: NetworkArgs): CapabilityTable<NetworkKey> {
  return networkCapabilities(olds ? runsDnsmasq(olds) : false, runsDnsmasq(news));
}
