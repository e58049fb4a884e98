# Every libvirt domain of the host (running or not) with its vCPUs, memory and disks, for the capacity check.
# $1: the namespace URI of pulumi-virt's metadata (marks the domains it manages). Prints nothing without a
# reachable libvirtd. Read-only.
meta="$1"; c=qemu:///system
command -v virsh >/dev/null 2>&1 || exit 0
names=$(virsh -c "$c" list --all --name 2>/dev/null) || exit 0
printf '%s\n' "$names" | while IFS= read -r n; do
  [ -n "$n" ] || continue
  printf '@dom\t%s\n' "$n"
  virsh -c "$c" metadata --domain "$n" --uri "$meta" >/dev/null 2>&1 && printf 'managed\t1\n'
  virsh -c "$c" dominfo --domain "$n" 2>/dev/null | while IFS=: read -r k v; do
    case $k in "CPU(s)"|"Used memory") printf 'info\t%s\t%s\n' "$k" "${v#"${v%%[! ]*}"}" ;; esac
  done
  virsh -c "$c" domblklist --domain "$n" --details 2>/dev/null | while read -r type dev target src; do
    if [ "$type" != file ] || [ "$dev" != disk ] || [ ! -f "$src" ]; then continue; fi
    cap=$(virsh -c "$c" domblkinfo --domain "$n" --device "$target" 2>/dev/null | awk -F': *' '/^Capacity/{print $2}')
    printf 'disk\t%s\t%s\n' "${cap:-$(stat -c %s "$src")}" "$(stat -c %d "$src")"
  done
done
exit 0
