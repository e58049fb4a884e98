# $1 domain name, $2 its config file: `xl list`, `xl list -l` (JSON), `xl uptime` and the saved config, in sections
# framed by @@ lines. Read-only.
n="$1"; cfg="$2"
if [ -f "$cfg" ]; then echo @@config; cat "$cfg"; fi
if [ -f "${cfg%.cfg}.owner" ]; then echo @@owner; cat "${cfg%.cfg}.owner"; fi
if ! out=$(xl list "$n" 2>&1); then
  case "$out" in *"invalid domain identifier"*) echo @@absent; exit 0;; esac
  echo @@error; printf '%s\n' "$out"; exit 0
fi
echo @@list; printf '%s\n' "$out"
echo @@long; xl list -l "$n"
echo @@uptime; xl uptime "$n"
# The domain's vifs and what dom0 sees of their addresses: its DHCP server's leases (dnsmasq files where Debian,
# libvirt and the Xen lab keep them) and the neighbour table (IPv4 ARP and IPv6 ND). Best effort: none may exist.
echo @@vifs; xl network-list "$n" 2>/dev/null
echo @@leases; cat /var/lib/misc/dnsmasq*.leases /var/lib/libvirt/dnsmasq/*.leases 2>/dev/null
echo @@neigh; ip neigh show 2>/dev/null
echo @@end
