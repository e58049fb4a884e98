// The network driver: applies, reads and destroys a Network on a host through its scripts. No Pulumi here.
import type { Remote } from "../../ssh/types";
import type { DestroyOutcome } from "../contract";
import { NET_APPLY_SCRIPT, NET_DESTROY_SCRIPT, NET_READ_SCRIPT } from "./scripts";
import type { DhcpLease, DnsmasqOutcome, NetworkObserved, NetworkSpec } from "./types";

/** The bridge or VLAN device exists and is not this network's. */
export class NetworkOwnedElsewhereError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetworkOwnedElsewhereError";
  }
}

/** Machines still attached to the bridge: deleting the network is refused. */
export class NetworkInUseError extends Error {
  constructor(readonly bridge: string, readonly users: string[]) {
    super(
      `network ${bridge} is still used by ${users.join(", ")}: it was not deleted. ` +
        "Move or delete those machines first (their bridge / network inputs), then delete the network.",
    );
    this.name = "NetworkInUseError";
  }
}

const TIMEOUT_MS = 120_000;

export function parseNetworkRead(stdout: string): NetworkObserved | undefined {
  const o: NetworkObserved = { bridgePresent: false, owner: "", addresses: [], vlanDevices: [], firewallRules: 0, ipv4Forwarding: false, dnsmasqPid: 0, leases: [], users: [] };
  let seen = false;
  for (const line of stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i < 0) continue;
    const k = line.slice(0, i);
    const v = line.slice(i + 1);
    switch (k) {
      case "bridge": seen = true; o.bridgePresent = v === "present"; break;
      case "owner": o.owner = v; break;
      case "addr": o.addresses.push(v); break;
      case "vlan": o.vlanDevices.push(v); break;
      case "rules": o.firewallRules = Number(v) || 0; break;
      case "forwarding": o.ipv4Forwarding = v.trim() === "1"; break;
      case "dnsmasq": o.dnsmasqPid = Number(v) || 0; break;
      case "lease": {
        const [expires, mac, ip, hostname] = v.split(" ");
        // DHCPv6 lines carry an IAID where a MAC would be (and a "duid" line names the server): not MAC leases.
        if (mac && ip && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) o.leases.push({ expires: Number(expires) || 0, mac, ip, hostname: hostname && hostname !== "*" ? hostname : "" } satisfies DhcpLease);
        break;
      }
      case "user": o.users.push(describeUser(v)); break;
    }
  }
  return seen ? o : undefined;
}

/** "veth1A2B container web" → "container web (veth1A2B)". */
function describeUser(line: string): string {
  const [iface, ...rest] = line.split(" ");
  const machine = rest.join(" ");
  return machine && machine !== "unknown" ? `${machine} (${iface})` : `interface ${iface}`;
}

function specArgs(s: NetworkSpec): string[] {
  return [
    s.bridge, s.token, s.ipv4Address ?? "", s.ipv6Address ?? "", s.vlan?.parent ?? "", s.vlan ? String(s.vlan.id) : "", s.vlan?.device ?? "",
    s.uplink, s.ipv4Subnet ?? "", s.dnsmasqConf, s.dhcpHostsFile, s.dnsHostsFile,
  ];
}

/** Makes the host hold the network as specified (create, update and restore after a reboot are this one call). */
export async function applyNetwork(remote: Remote, spec: NetworkSpec): Promise<{ dnsmasq: DnsmasqOutcome; observed: NetworkObserved }> {
  const r = await remote.script(NET_APPLY_SCRIPT, specArgs(spec), { step: `apply network ${spec.bridge}`, timeoutMs: TIMEOUT_MS, okCodes: [0, 3] });
  if (r.code === 3) throw new NetworkOwnedElsewhereError(r.stderr.trim());
  const m = /^dnsmasq=(\w+)$/m.exec(r.stdout);
  const observed = parseNetworkRead(r.stdout);
  if (!observed) throw new Error(`apply network ${spec.bridge}: the host's answer had no state (stdout: ${r.stdout.slice(0, 200)})`);
  return { dnsmasq: (m?.[1] ?? "none") as DnsmasqOutcome, observed };
}

export async function readNetwork(remote: Remote, bridge: string): Promise<NetworkObserved | undefined> {
  const r = await remote.script(NET_READ_SCRIPT, [bridge], { step: `read network ${bridge}`, timeoutMs: TIMEOUT_MS, coalesce: true });
  return parseNetworkRead(r.stdout);
}

export async function destroyNetwork(remote: Remote, bridge: string, token: string): Promise<DestroyOutcome> {
  const r = await remote.script(NET_DESTROY_SCRIPT, [bridge, token], { step: `delete network ${bridge}`, timeoutMs: TIMEOUT_MS, okCodes: [0, 3, 4] });
  if (r.code === 3) throw new NetworkOwnedElsewhereError(r.stderr.trim());
  if (r.code === 4) throw new NetworkInUseError(bridge, parseNetworkRead(`bridge=present\n${r.stdout}`)?.users ?? []);
  return r.stdout.trim().endsWith("absent") ? "absent" : "destroyed";
}
