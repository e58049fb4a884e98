# $1 guest name. Every query in one round trip, sections framed by @@ lines. Read-only.
n="$1"; c=qemu:///system
if ! info=$(virsh -c "$c" dominfo --domain "$n" 2>&1); then
  case "$info" in *"ailed to get domain"*|*"omain not found"*|*"no domain with matching name"*) echo "@@absent"; exit 0;; esac
  printf '%s\n' "$info" >&2; exit 1
fi
printf '@@dominfo\n%s\n' "$info"
echo "@@xml"; virsh -c "$c" dumpxml --domain "$n" || exit 1
echo "@@inactive"; virsh -c "$c" dumpxml --inactive --domain "$n" | grep -m1 '<currentMemory'
echo "@@vcpucount"; virsh -c "$c" vcpucount --domain "$n" 2>/dev/null
echo "@@blk"; virsh -c "$c" domblkinfo --domain "$n" --all 2>/dev/null
echo "@@pid"; cat "/run/libvirt/qemu/$n.pid" 2>/dev/null; echo
# What the host sees of the guest's addresses: its DHCP server's leases (dnsmasq files where the lab and libvirt keep
# them, and those of pulumi-virt Networks), libvirt's view, and the neighbour table (IPv4 ARP and IPv6 ND), with the
# host's clock to tell expired leases. Best effort: none of these may exist.
echo "@@now"; date +%s
echo "@@leases"; cat /var/lib/libvirt/dnsmasq/*.leases /var/lib/misc/dnsmasq*.leases /var/lib/pulumi-virt/net/*/leases 2>/dev/null
echo "@@domifaddr"; virsh -c "$c" domifaddr --domain "$n" --source arp 2>/dev/null
echo "@@neigh"; ip neigh show 2>/dev/null
echo "@@end"
