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
echo "@@end"
