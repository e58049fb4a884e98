# The Xen host's real capacity (xl info: dom0's /proc/meminfo shows only dom0's share) and every domain with its
# vCPUs and memory, plus the disks of the domains pulumi-virt configured, for the capacity check.
# $1: the directory of pulumi-virt's domain configs. Prints nothing outside a dom0. Read-only.
dir="$1"
command -v xl >/dev/null 2>&1 || exit 0
[ -r /proc/xen/capabilities ] && grep -q control_d /proc/xen/capabilities || exit 0
xl info 2>/dev/null | awk -F': *' '/^(nr_cpus|total_memory) /{gsub(/ +$/, "", $1); print "host\t" $1 "\t" $2}'
# Name, ID, Mem (MiB), VCPUs; dom0 is the host's own share: it is listed too, and counts.
xl list 2>/dev/null | awk 'NR > 1 { printf "@dom\t%s\ninfo\tmem\t%s\ninfo\tvcpus\t%s\n", $1, $3, $4 }'
for f in "$dir"/*.cfg; do
  [ -f "$f" ] || continue
  n=${f##*/}; n=${n%.cfg}
  printf '@cfg\t%s\n' "$n"
  [ -f "$dir/$n.owner" ] && printf 'managed\t1\n'
  awk -F= '/^ *(memory|vcpus) *=/{gsub(/[ "]/, ""); print "info\t" $1 "\t" $2}' "$f"
  # disk = [ 'format=raw, vdev=xvda, access=rw, target=/path', ... ]
  grep -o 'target=[^,'"'"'"]*' "$f" | while IFS= read -r t; do
    p=${t#target=}
    [ -f "$p" ] && printf 'disk\t%s\t%s\n' "$(stat -c %s "$p")" "$(stat -c %d "$p")"
  done
done
exit 0
