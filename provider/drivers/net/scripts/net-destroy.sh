# $1 bridge  $2 owner token. Removes everything the network made: dnsmasq, firewall rules, VLAN device, bridge,
# files; restores IPv4 forwarding if the network turned it on. Prints "destroyed" or "absent".
# Exit 3: the bridge is not this network's. Exit 4: machines still use it ("user=<iface> <machine>" lines on stdout).
. ./net-common.sh

br=$1 token=$2
tag="pulumi-virt:$token"
dir="$NET_ROOT/$br"
if [ -d "/sys/class/net/$br" ]; then
  have=$(alias_of "$br")
  [ "$have" = "$tag" ] || { echo "interface $br is not this pulumi-virt network's (its alias: ${have:-none}); it was not removed" >&2; exit 3; }
  # A machine destroyed just before (same up) may still be tearing down its interface: wait a little for it.
  i=0
  while [ -n "$(foreign_ports "$br" "$tag")" ] && [ $i -lt 30 ]; do sleep 0.2; i=$((i + 1)); done
  if [ -n "$(foreign_ports "$br" "$tag")" ]; then users_of "$br" "$tag" | sed 's/^/user=/'; exit 4; fi
elif [ -f "$dir/owner" ] && [ "$(cat "$dir/owner")" != "$token" ]; then
  echo "the files of network $br belong to another pulumi-virt network; they were not removed" >&2; exit 3
fi
stop_dnsmasq "$dir"
drop_rules "$tag"
for l in $(tagged_links "$tag"); do [ "$l" = "$br" ] || ip link del dev "$l"; done
gone=absent
[ -d "/sys/class/net/$br" ] && { ip link del dev "$br"; gone=destroyed; }
[ -f "$dir/ip_forward.before" ] && cat "$dir/ip_forward.before" > /proc/sys/net/ipv4/ip_forward
[ -d "$dir" ] && { rm -rf "$dir"; gone=destroyed; }
rmdir "$NET_ROOT" /var/lib/pulumi-virt 2>/dev/null || true
echo "$gone"
