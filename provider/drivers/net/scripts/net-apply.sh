# Creates or updates a network so the host matches it; idempotent (the next up after a host reboot restores it).
# $1 bridge  $2 owner token  $3 IPv4 cidr|""  $4 IPv6 cidr|""  $5 VLAN parent|""  $6 VLAN id|""  $7 VLAN device|""
# $8 uplink none|nat|routed  $9 IPv4 subnet|""  $10 dnsmasq.conf text|"" (no dnsmasq)  $11 dhcp hosts file text
# $12 dns hosts file text. Prints "dnsmasq=started|restarted|reloaded|unchanged|stopped|none", then net-read's lines.
# Exit 3: the bridge or VLAN device exists and is not this network's.
. ./net-common.sh
set -e

br=$1 token=$2 addr4=$3 addr6=$4 vparent=$5 vid=$6 vdev=$7 uplink=$8 subnet4=$9
conf=${10} dhcp_hosts=${11} dns_hosts=${12}
tag="pulumi-virt:$token"
dir="$NET_ROOT/$br"

if [ -d "/sys/class/net/$br" ]; then
  have=$(alias_of "$br")
  [ "$have" = "$tag" ] || { echo "interface $br exists and is not this pulumi-virt network's (its alias: ${have:-none}); it was not changed" >&2; exit 3; }
else
  ip link add name "$br" type bridge
  ip link set dev "$br" alias "$tag"
fi
mkdir -p "$dir"
chmod 755 "$dir"
printf '%s\n' "$token" > "$dir/owner"
[ -d "/proc/sys/net/ipv6/conf/$br" ] && echo 0 > "/proc/sys/net/ipv6/conf/$br/disable_ipv6"
ip link set dev "$br" up

# Addresses: the wanted ones replaced in place (no flush: attached machines keep talking), others removed.
set_addr() { # family wanted
  if [ -n "$2" ]; then
    if [ "$1" = -6 ]; then ip -6 addr replace "$2" dev "$br" nodad; else ip -4 addr replace "$2" dev "$br"; fi
  fi
  ip -o "$1" addr show dev "$br" scope global | awk '{print $4}' | while IFS= read -r a; do
    [ "$a" = "$2" ] || ip "$1" addr del "$a" dev "$br"
  done
}
set_addr -4 "$addr4"
set_addr -6 "$addr6"

# VLAN: our tagged devices other than the wanted one go; the wanted one is (re)made when its parent or id differ.
for l in $(tagged_links "$tag"); do
  [ "$l" = "$br" ] && continue
  if [ "$l" != "$vdev" ] || ! ip -d link show dev "$l" | grep -q "vlan protocol 802.1Q id $vid " || [ "$(ip -o link show dev "$l" | sed -n 's/^[0-9]*: [^@]*@\([^:]*\):.*/\1/p')" != "$vparent" ]; then
    ip link del dev "$l"
  fi
done
if [ -n "$vdev" ] && [ ! -d "/sys/class/net/$vdev" ]; then
  [ -d "/sys/class/net/$vparent" ] || { echo "VLAN parent interface $vparent does not exist on this host" >&2; exit 4; }
  ip link add link "$vparent" name "$vdev" type vlan id "$vid"
  ip link set dev "$vdev" alias "$tag"
fi
if [ -n "$vdev" ]; then
  [ "$(alias_of "$vdev")" = "$tag" ] || { echo "interface $vdev exists and is not this pulumi-virt network's; it was not changed" >&2; exit 3; }
  ip link set dev "$vdev" master "$br" up
fi

# Forwarding rules: replaced as a whole (ours only, found by tag).
drop_rules "$tag"
if [ "$uplink" != none ]; then
  if [ ! -f "$dir/ip_forward.before" ]; then cat /proc/sys/net/ipv4/ip_forward > "$dir/ip_forward.before"; fi
  echo 1 > /proc/sys/net/ipv4/ip_forward
  case $(fw_kind) in
    iptables)
      iptables -I FORWARD -i "$br" -m comment --comment "$tag" -j ACCEPT
      if [ "$uplink" = nat ]; then
        iptables -I FORWARD -o "$br" -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "$tag" -j ACCEPT
        iptables -t nat -I POSTROUTING -s "$subnet4" ! -d "$subnet4" -m comment --comment "$tag" -j MASQUERADE
      else
        iptables -I FORWARD -o "$br" -m comment --comment "$tag" -j ACCEPT
      fi ;;
    nft)
      t=$(nft_table "$tag")
      nft add table inet "$t"
      nft add chain inet "$t" forward '{ type filter hook forward priority -1; }'
      nft add rule inet "$t" forward iifname "$br" accept
      if [ "$uplink" = nat ]; then
        nft add rule inet "$t" forward oifname "$br" ct state related,established accept
        nft add chain inet "$t" postrouting '{ type nat hook postrouting priority 99; }'
        nft add rule inet "$t" postrouting ip saddr "$subnet4" ip daddr != "$subnet4" masquerade
      else
        nft add rule inet "$t" forward oifname "$br" accept
      fi ;;
    *) echo "uplink $uplink needs iptables or nft on the host; neither was found" >&2; exit 5 ;;
  esac
elif [ -f "$dir/ip_forward.before" ]; then
  cat "$dir/ip_forward.before" > /proc/sys/net/ipv4/ip_forward
  rm -f "$dir/ip_forward.before"
fi

# dnsmasq: its hosts files change under it (SIGHUP re-reads them); its configuration only on a start.
pid=$(dnsmasq_pid "$dir")
if [ -z "$conf" ]; then
  if [ -n "$pid" ]; then stop_dnsmasq "$dir"; echo dnsmasq=stopped; else echo dnsmasq=none; fi
  rm -f "$dir/dnsmasq.conf" "$dir/dhcp-hosts" "$dir/dns-hosts" "$dir/leases"
else
  hosts_changed=0
  printf '%s' "$dhcp_hosts" > "$dir/dhcp-hosts.new"; printf '%s' "$dns_hosts" > "$dir/dns-hosts.new"
  for f in dhcp-hosts dns-hosts; do
    cmp -s "$dir/$f.new" "$dir/$f" || hosts_changed=1
    chmod 644 "$dir/$f.new"; mv "$dir/$f.new" "$dir/$f"
  done
  conf_changed=0
  printf '%s' "$conf" > "$dir/dnsmasq.conf.new"
  cmp -s "$dir/dnsmasq.conf.new" "$dir/dnsmasq.conf" || conf_changed=1
  mv "$dir/dnsmasq.conf.new" "$dir/dnsmasq.conf"
  touch "$dir/leases"
  if [ -z "$pid" ]; then
    dnsmasq "--conf-file=$dir/dnsmasq.conf"; echo dnsmasq=started
  elif [ $conf_changed = 1 ]; then
    stop_dnsmasq "$dir"; dnsmasq "--conf-file=$dir/dnsmasq.conf"; echo dnsmasq=restarted
  elif [ $hosts_changed = 1 ]; then
    kill -HUP "$pid"; echo dnsmasq=reloaded
  else
    echo dnsmasq=unchanged
  fi
fi
. ./net-read.sh
