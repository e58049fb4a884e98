// What a host's networking looks like, as one comparable text: links (names, masters, aliases), firewall rules,
// dnsmasq processes and pulumi-virt's files. Two snapshots are equal when a network left nothing behind.
import { LabHost, onHostOk } from "./lab";

export async function hostNetworkSnapshot(host: LabHost): Promise<string> {
  const links = await onHostOk(host, ["sh", "-c", "for p in /sys/class/net/*; do n=${p##*/}; m=$(basename \"$(readlink \"$p/master\" 2>/dev/null)\" 2>/dev/null); echo \"$n master=$m alias=$(cat \"$p/ifalias\" 2>/dev/null)\"; done"]);
  // The rules and any non-default chain policy; not counters (traffic) nor empty tables with ACCEPT policies
  // (iptables-nft lists a table from its first use on, even once all its rules are gone).
  const rules = (await onHostOk(host, ["sh", "-c", "iptables-save; ip6tables-save"])).split("\n")
    .filter((l) => l.startsWith("-A ") || (l.startsWith(":") && !/^:\S+ ACCEPT /.test(l)))
    .map((l) => l.replace(/\[\d+:\d+\]/g, "")).join("\n");
  const dnsmasq = await onHostOk(host, ["sh", "-c", "for p in /proc/[0-9]*; do c=$(tr '\\0' ' ' < $p/cmdline 2>/dev/null); case $c in dnsmasq*) echo \"$c\";; esac; done | sort"]);
  const files = await onHostOk(host, ["sh", "-c", "find /var/lib/pulumi-virt 2>/dev/null | sort; true"]);
  const forwarding = await onHostOk(host, ["cat", "/proc/sys/net/ipv4/ip_forward"]);
  return [`# links\n${links}`, `# rules\n${rules}`, `# dnsmasq\n${dnsmasq}`, `# files\n${files}`, `# ip_forward ${forwarding}`].join("\n");
}

/**
 * What a reboot does to a Network and a StoragePool on a lab host (whose network namespace a simulated restart
 * keeps): dnsmasq gone, the bridge and the network's tagged rules gone, the pool's image unmounted. Files stay.
 */
export async function loseAsOnReboot(host: LabHost, bridge: string, poolPath?: string): Promise<void> {
  const script = [
    'br=$1; pool=$2; tag=$(cat "/sys/class/net/$br/ifalias")',
    'p=$(cat "/var/lib/pulumi-virt/net/$br/dnsmasq.pid" 2>/dev/null); [ -n "$p" ] && [ "$p" -gt 1 ] && kill "$p"',
    // Gone before anything reads the host (bounded: dnsmasq exits on TERM at once).
    'i=0; while [ -n "$p" ] && [ -d "/proc/$p" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done',
    'ip link del "$br"',
    '[ -n "$tag" ] && for t in nat filter; do iptables-save -t $t | grep -F -- "$tag" | sed "s/^-A /-D /; s/\\"//g" | while read -r r; do iptables -t $t $r; done; done',
    '[ -z "$pool" ] || umount "$pool"',
    "true",
  ].join("\n");
  await onHostOk(host, ["sh", "-c", script, "sh", bridge, poolPath ?? ""]);
}
