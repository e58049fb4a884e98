import * as pulumi from "@pulumi/pulumi";
import type { HostRef } from "../models/host";
import type { Host } from "./host";
import { LazyResource } from "./dynamic";
import { dependsOnRef, refOf } from "./ref";

export interface StaticLeaseInput {
  mac: pulumi.Input<string>;
  ip: pulumi.Input<string>;
  name?: pulumi.Input<string>;
}

export interface NetworkArgs {
  /** The Host (or its `ref`). */
  host: Host | pulumi.Input<HostRef>;
  /** The bridge's interface name (1-15 characters). Guests and Containers attach through the `bridge` output. */
  bridge: pulumi.Input<string>;
  vlan?: pulumi.Input<{ parent: pulumi.Input<string>; id: pulumi.Input<number> }>;
  ipv4?: pulumi.Input<{
    address: pulumi.Input<string>;
    dhcp?: pulumi.Input<{ start: pulumi.Input<string>; end: pulumi.Input<string>; leaseTimeSec?: pulumi.Input<number>; hosts?: pulumi.Input<pulumi.Input<StaticLeaseInput>[]> }>;
  }>;
  ipv6?: pulumi.Input<{
    address: pulumi.Input<string>;
    ra?: pulumi.Input<boolean>;
    /** Stateful DHCPv6 from this range, next to SLAAC. */
    dhcp?: pulumi.Input<{ start: pulumi.Input<string>; end: pulumi.Input<string>; leaseTimeSec?: pulumi.Input<number> }>;
  }>;
  uplink?: pulumi.Input<"none" | "nat" | "routed">;
  domain?: pulumi.Input<string>;
}

/** A Linux bridge on a Host, with optional VLAN, NAT/routed uplink, DHCP and DNS (dnsmasq) and IPv6 RA. */
export class Network extends LazyResource {
  /** The bridge's name: pass it as a Guest's or Container's bridge (the dependency follows). */
  declare public readonly bridge: pulumi.Output<string>;
  declare public readonly plannedAction: pulumi.Output<string>;
  declare public readonly plannedChanges: pulumi.Output<Record<string, string>>;
  declare public readonly lastApplied: pulumi.Output<Record<string, unknown>>;
  /** What the host has: addresses, firewall rule count, dnsmasq PID, DHCP leases, attached machines. */
  declare public readonly observed: pulumi.Output<Record<string, unknown>>;
  /** Per property: what changes live, with a dnsmasq restart, or by replacement. */
  declare public readonly capabilities: pulumi.Output<Record<string, string>>;
  declare public readonly hostState: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      "network",
      name,
      {
        host: pulumi.secret(refOf(args.host)),
        bridge: args.bridge, vlan: args.vlan, ipv4: args.ipv4, ipv6: args.ipv6, uplink: args.uplink, domain: args.domain,
        plannedAction: undefined, plannedChanges: undefined, lastApplied: undefined, observed: undefined, capabilities: undefined, hostState: undefined,
      },
      { ...opts, additionalSecretOutputs: ["host"], dependsOn: dependsOnRef(opts?.dependsOn, args.host) },
      "pulumi-virt",
      "Network",
    );
  }
}
