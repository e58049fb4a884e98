# $1 bridge. Prints what the host has of the network, one "key=value" per line:
# bridge=present|absent, owner=<ifalias>, addr=<cidr> (each), vlan=<device> (each tagged non-bridge link),
# rules=<count>, forwarding=0|1, dnsmasq=<pid or empty>, conf=<sha of dnsmasq.conf>, lease=<line of the lease file>,
# user=<iface> <machine>.
. ./net-common.sh

br=$1
dir="$NET_ROOT/$br"
if [ ! -d "/sys/class/net/$br" ]; then echo bridge=absent; else echo bridge=present; fi
tag=$(alias_of "$br")
[ -n "$tag" ] || { [ -f "$dir/owner" ] && tag="pulumi-virt:$(cat "$dir/owner")"; }
echo "owner=$tag"
if [ -d "/sys/class/net/$br" ]; then
  ip -o addr show dev "$br" scope global 2>/dev/null | awk '{print "addr=" $4}'
fi
[ -n "$tag" ] && for l in $(tagged_links "$tag"); do [ "$l" = "$br" ] || echo "vlan=$l"; done
[ -n "$tag" ] && echo "rules=$(count_rules "$tag")"
echo "forwarding=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null)"
echo "dnsmasq=$(dnsmasq_pid "$dir")"
[ -f "$dir/leases" ] && sed 's/^/lease=/' "$dir/leases"
[ -n "$tag" ] && users_of "$br" "$tag" | sed 's/^/user=/'
exit 0
