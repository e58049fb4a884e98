# Reads containers: host facts once, then per container its config, state, loop image and live cgroup/fs values.
# Args: NAME... , or --all NAME... (those and every container of the host). Read-only.
LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null); [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
# "--all NAME...": the named containers and every container of the host (a refresh snapshot, one round trip).
if [ "${1-}" = --all ]; then
  shift; seen=" $* "
  for c in "$LXCPATH"/*/config; do
    [ -f "$c" ] || continue; c=${c%/config}; c=${c##*/}
    case $seen in *" $c "*) ;; *) set -- "$@" "$c"; seen="$seen$c " ;; esac
  done
fi
HC=
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then CGV=2; read -r HC < /sys/fs/cgroup/cpuset.cpus.effective 2>/dev/null
else CGV=1; read -r HC < /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null; fi
[ -n "$HC" ] || HC=0-$(( $(nproc) - 1 ))
printf '@host\tlxcpath\t%s\n@host\tcgroup\t%s\n@host\tcpus\t%s\n' "$LXCPATH" "$CGV" "$HC"
rd() { [ -r "$2" ] && read -r v < "$2" && printf 'cg\t%s\t%s\n' "$1" "$v"; }
for n in "$@"; do
  printf '@ct\t%s\n' "$n"
  d="$LXCPATH/$n"
  [ -d "$d" ] && printf 'dir\t1\n'
  [ -f "$d/.pulumi-virt-creating" ] && printf 'creating\t1\n'
  [ -f "$d/.pulumi-virt-created" ] && printf 'created\t1\n'
  if [ -f "$LXCPATH/.pulumi-virt/$n" ]; then o=; read -r o _k < "$LXCPATH/.pulumi-virt/$n" || true; printf 'owner\t%s\n' "$o"; fi
  [ -f "$d/config" ] || continue
  printf 'exists\t1\n'
  img=
  while IFS= read -r line; do
    printf 'cfg\t%s\n' "$line"
    case $line in lxc.rootfs.path*=*loop:*) img=${line#*loop:}; img=${img%% *} ;; esac
  done < "$d/config"
  pid=
  info=$(lxc-info -n "$n" -s -p -i 2>/dev/null)
  while IFS= read -r l; do
    case $l in
      State:*) printf 'state\t%s\n' "${l##* }" ;;
      PID:*) pid=${l##* }; printf 'pid\t%s\n' "$pid" ;;
      IP:*) printf 'ip\t%s\n' "${l##* }" ;;
    esac
  done <<EOF
$info
EOF
  if [ -n "$img" ]; then
    printf 'image\t%s\n' "$img"
    [ -f "$img" ] && printf 'imagebytes\t%s\n' "$(stat -c %s "$img")"
    # By inode: sysfs backing_file paths are wrong when /var/lib/lxc is a bind mount.
    for L in $(losetup -l -n -O NAME -j "$img" 2>/dev/null); do printf 'loop\t%s\n' "$L"; done
    [ -z "$pid" ] && [ -f "$img" ] && printf 'fstype\t%s\n' "$(blkid -o value -s TYPE "$img" 2>/dev/null)"
  fi
  if [ -z "$pid" ] || [ ! -r "/proc/$pid/cgroup" ]; then continue; fi
  mem=; cpu=; cs=; u=
  while IFS=: read -r _ ctrl path; do
    case $path in */lxc.payload."$n"/*) path="${path%%/lxc.payload."$n"/*}/lxc.payload.$n" ;; esac
    case ",$ctrl," in
      ,,) u="/sys/fs/cgroup$path" ;;
      *,memory,*) mem="/sys/fs/cgroup/$ctrl$path" ;;
      *,cpuset,*) cs="/sys/fs/cgroup/$ctrl$path" ;;
      *,cpu,*) cpu="/sys/fs/cgroup/$ctrl$path" ;;
    esac
  done < "/proc/$pid/cgroup"
  if [ "$CGV" = 1 ]; then
    rd memory.limit_in_bytes "$mem/memory.limit_in_bytes"
    rd memory.memsw.limit_in_bytes "$mem/memory.memsw.limit_in_bytes"
    rd cpuset.cpus "$cs/cpuset.cpus"
    rd cpu.cfs_quota_us "$cpu/cpu.cfs_quota_us"
    rd cpu.cfs_period_us "$cpu/cpu.cfs_period_us"
    rd cpu.shares "$cpu/cpu.shares"
  else
    rd memory.max "$u/memory.max"
    rd memory.swap.max "$u/memory.swap.max"
    rd cpuset.cpus.effective "$u/cpuset.cpus.effective"
    rd cpu.max "$u/cpu.max"
    rd cpu.weight "$u/cpu.weight"
  fi
  printf 'fs\t%s\n' "$(stat -f -c '%b %S %T' "/proc/$pid/root/" 2>/dev/null)"
  # The MAC is asked of the kernel in the container's network namespace (netlink), never read through
  # /proc/$pid/root: the container owns that tree, and a symlink or FIFO there would redirect or stall a host read.
  hw=$(timeout 5 nsenter --net="/proc/$pid/ns/net" ip -o link show dev eth0 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "link/ether") print $(i + 1)}')
  case $hw in ??:??:??:??:??:??) printf 'hwaddr\t%s\n' "$hw" ;; esac
done
exit 0
