// What the network driver takes and what it reads back. No Pulumi here.

/** Everything the host needs to hold one network, already validated and rendered (see config.ts). */
export interface NetworkSpec {
  bridge: string;
  /** The owner token: tags the bridge, VLAN device and firewall rules as this resource's. */
  token: string;
  ipv4Address?: string;
  ipv4Subnet?: string;
  ipv6Address?: string;
  vlan?: { parent: string; id: number; device: string };
  uplink: "none" | "nat" | "routed";
  /** dnsmasq's configuration text; "" when the network runs no dnsmasq. */
  dnsmasqConf: string;
  dhcpHostsFile: string;
  dnsHostsFile: string;
}

export interface DhcpLease {
  expires: number;
  mac: string;
  ip: string;
  hostname: string;
}

/** What a read found on the host. */
export interface NetworkObserved {
  bridgePresent: boolean;
  /** The bridge's tag ("pulumi-virt:<token>"), "" when untagged or absent. */
  owner: string;
  addresses: string[];
  vlanDevices: string[];
  firewallRules: number;
  ipv4Forwarding: boolean;
  /** dnsmasq's PID, 0 when it does not run. */
  dnsmasqPid: number;
  leases: DhcpLease[];
  /** Interfaces enslaved to the bridge that are not the network's own, with their machine ("container web"). */
  users: string[];
}

/** What an apply did to dnsmasq (a test compares it with the plan). */
export type DnsmasqOutcome = "started" | "restarted" | "reloaded" | "unchanged" | "stopped" | "none";
