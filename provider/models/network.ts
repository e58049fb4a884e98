// Network: a Linux bridge on a Host with optional VLAN uplink, NAT or routed forwarding, DHCP/DNS and IPv6 router
// advertisements (dnsmasq). Every refusal knowable without the host is made here, at check.
import { z } from "zod";
import { bridgeName, count, ipv4Address, ipv4Cidr, macAddress } from "./common";

/** A host name in DNS: letters, digits and '-' per label (dnsmasq writes it into replies, never into a shell). */
const dnsLabel = z
  .string({ error: "expected a DNS name: labels of letters, digits and '-' separated by '.'" })
  .regex(/^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/, {
    error: "expected a DNS name: labels of 1-63 letters, digits and '-' (not at either end) separated by '.'",
  });

const ipv6Cidr = z
  .string({ error: 'expected an IPv6 address with prefix length like "fd00:77::1/64"' })
  .regex(/^[0-9a-fA-F:]{2,39}\/(6[0-4]|[1-5]?\d)$/, { error: 'expected an IPv6 address with prefix length like "fd00:77::1/64" (prefix 64 or shorter, for router advertisements)' })
  .refine((s) => s.includes("::") ? s.split("::").length === 2 : s.split("/")[0].split(":").length === 8, { error: 'expected an IPv6 address with prefix length like "fd00:77::1/64"' })
  .transform((s) => s.toLowerCase());

/** An IPv6 address as a number; undefined when the text is not one (hex groups, at most one "::"). */
export function ipv6ToBigInt(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]{2,39}$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill("0"), ...tail];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

const ipv6Address = z
  .string({ error: 'expected an IPv6 address like "fd00:77::100"' })
  .refine((s) => ipv6ToBigInt(s) !== undefined, { error: 'expected an IPv6 address like "fd00:77::100"' })
  .transform((s) => s.toLowerCase());

/** The network part of an IPv6 address under `prefix` bits. */
function ipv6Network(n: bigint, prefix: number): bigint {
  return n >> BigInt(128 - prefix);
}

export const staticLeaseSchema = z
  .object({
    mac: macAddress,
    ip: ipv4Address,
    /** Answered by the network's DNS (dnsmasq on the bridge address), also under `domain`. */
    name: dnsLabel.optional(),
  })
  .strict();

export const dhcpSchema = z
  .object({
    start: ipv4Address,
    end: ipv4Address,
    leaseTimeSec: count("seconds", 120, 31_536_000).default(3600),
    /** Static leases by MAC address (a new or changed one is applied live: dnsmasq re-reads its hosts file on SIGHUP). */
    hosts: z.array(staticLeaseSchema).max(4096, { error: "at most 4096 static leases" }).default([]),
  })
  .strict();

export const NETWORK_UPLINKS = ["none", "nat", "routed"] as const;

export const networkArgsSchema = z
  .object({
    /** The bridge's interface name; the Network's identity on the host (renaming it is a replace). */
    bridge: bridgeName,
    /** An 802.1Q VLAN on a parent interface, enslaved to the bridge. */
    vlan: z.object({ parent: bridgeName, id: count("VLAN id", 1, 4094) }).strict().optional(),
    ipv4: z
      .object({
        /** The bridge's own address and the subnet it serves, e.g. "10.77.120.1/24". */
        address: ipv4Cidr,
        dhcp: dhcpSchema.optional(),
      })
      .strict()
      .optional(),
    ipv6: z
      .object({
        address: ipv6Cidr,
        /** Router advertisements (SLAAC) from dnsmasq for the bridge's prefixes. */
        ra: z.boolean({ error: "expected true or false" }).default(true),
        /**
         * Stateful DHCPv6 from this range (in the address's prefix), next to SLAAC: the router advertisements say
         * both (M and A flags), so clients with a DHCPv6 client also lease an address and others keep SLAAC.
         */
        dhcp: z
          .object({ start: ipv6Address, end: ipv6Address, leaseTimeSec: count("seconds", 120, 31_536_000).default(3600) })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    /** How the subnet reaches the host's other networks: "nat" (masquerade), "routed" (forward only), "none". */
    uplink: z.enum(NETWORK_UPLINKS, { error: 'expected "none", "nat" (masquerade the subnet) or "routed" (forward without NAT)' }).default("none"),
    /** DNS domain of the names of static leases and DHCP clients. */
    domain: dnsLabel.optional(),
  })
  .strict()
  .superRefine((n, ctx) => {
    if (n.uplink !== "none" && !n.ipv4) ctx.addIssue({ code: "custom", path: ["uplink"], message: `uplink "${n.uplink}" needs ipv4.address (the subnet to forward)` });
    if (n.domain && !n.ipv4?.dhcp) ctx.addIssue({ code: "custom", path: ["domain"], message: "domain needs ipv4.dhcp (dnsmasq serves the names)" });
    const dhcp6 = n.ipv6?.dhcp;
    if (n.ipv6 && dhcp6) {
      if (!n.ipv6.ra) ctx.addIssue({ code: "custom", path: ["ipv6", "dhcp"], message: "ipv6.dhcp needs ipv6.ra: clients learn from the router advertisements to ask DHCPv6" });
      const [addr6, p6] = n.ipv6.address.split("/");
      const [a6, start6, end6] = [addr6, dhcp6.start, dhcp6.end].map(ipv6ToBigInt);
      // Refinements run even when a field failed its own check: compare only what parsed.
      if (a6 !== undefined && start6 !== undefined && end6 !== undefined) {
        const net6 = ipv6Network(a6, Number(p6));
        for (const [k, ip, v] of [["start", dhcp6.start, start6], ["end", dhcp6.end, end6]] as const) {
          if (ipv6Network(v, Number(p6)) !== net6) ctx.addIssue({ code: "custom", path: ["ipv6", "dhcp", k], message: `${ip} is outside ${n.ipv6.address}'s prefix` });
        }
        if (start6 > end6) ctx.addIssue({ code: "custom", path: ["ipv6", "dhcp", "end"], message: `end ${dhcp6.end} is below start ${dhcp6.start}` });
      }
    }
    const dhcp = n.ipv4?.dhcp;
    if (!n.ipv4 || !dhcp) return;
    const [addr, prefix] = n.ipv4.address.split("/");
    const net = subnetOf(addr, Number(prefix));
    const inSubnet = (ip: string) => subnetOf(ip, Number(prefix)) === net;
    for (const [k, ip] of [["start", dhcp.start], ["end", dhcp.end]] as const) {
      if (!inSubnet(ip)) ctx.addIssue({ code: "custom", path: ["ipv4", "dhcp", k], message: `${ip} is outside ${n.ipv4.address}'s subnet` });
    }
    if (toInt(dhcp.start) > toInt(dhcp.end)) ctx.addIssue({ code: "custom", path: ["ipv4", "dhcp", "end"], message: `end ${dhcp.end} is below start ${dhcp.start}` });
    const macs = new Set<string>();
    dhcp.hosts.forEach((h, i) => {
      if (!inSubnet(h.ip)) ctx.addIssue({ code: "custom", path: ["ipv4", "dhcp", "hosts", i, "ip"], message: `${h.ip} is outside ${n.ipv4!.address}'s subnet` });
      if (h.ip === addr) ctx.addIssue({ code: "custom", path: ["ipv4", "dhcp", "hosts", i, "ip"], message: `${h.ip} is the bridge's own address` });
      if (macs.has(h.mac)) ctx.addIssue({ code: "custom", path: ["ipv4", "dhcp", "hosts", i, "mac"], message: `MAC ${h.mac} has two static leases` });
      macs.add(h.mac);
    });
  });
export type NetworkArgs = z.infer<typeof networkArgsSchema>;

export function toInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

/** The network address of `ip` under `prefix`, as a number. */
export function subnetOf(ip: string, prefix: number): number {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return (toInt(ip) & mask) >>> 0;
}

/** "10.77.120.1/24" → "10.77.120.0/24" (what NAT rules match). */
export function subnetCidr(cidr: string): string {
  const [ip, p] = cidr.split("/");
  const n = subnetOf(ip, Number(p));
  return `${[24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".")}/${p}`;
}
