# Applies operations in order to container $1. Ops: "cg KEY VALUE" (live cgroup write, running only),
# "grow IMAGE MiB FSTYPE online|offline", "bridge NAME" (must exist), "config PATH" (stdin becomes the config,
# atomically), "stop TIMEOUT", "start".
. ./loop-lock.sh

set -eu

. ./stop-container.sh

n=$1; shift
loopof() { losetup -l -n -O NAME -j "$1" 2>/dev/null | head -n 1; }
growfs() { case $1 in xfs) xfs_growfs "$2" >/dev/null ;; btrfs) btrfs filesystem resize max "$2" >/dev/null ;; *) echo "cannot grow $1 online" >&2; return 1 ;; esac; }
while [ $# -gt 0 ]; do
  op=$1; shift
  case $op in
    cg) lxc-cgroup -n "$n" -- "$1" "$2" || { echo "setting $1 = $2 on running container $n failed (memory below current use? CPU not on host?)" >&2; exit 6; }; shift 2 ;;
    grow)
      img=$1; mib=$2; fs=$3; mode=$4; shift 4
      want=$((mib * 1048576))
      [ "$(stat -c %s "$img")" -lt "$want" ] && truncate -s "$want" "$img"
      L=$(loopof "$img")
      if [ "$mode" = online ]; then
        [ -n "$L" ] || { echo "no loop device is attached to $img; is the container running?" >&2; exit 7; }
        losetup -c "$L"
        m=$(mktemp -d); mount "$L" "$m"
        rc=0; growfs "$fs" "$m" || rc=$?
        umount "$m"; rmdir "$m"; [ "$rc" = 0 ] || exit "$rc"
      else
        # A stopped container's loop device is released asynchronously (autoclear): wait for it.
        i=0; while [ -n "$L" ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); L=$(loopof "$img"); done
        [ -z "$L" ] || { echo "$img is still attached to $L; stop whatever uses it" >&2; exit 7; }
        if [ "$fs" = ext4 ]; then
          rc=0; e2fsck -fy "$img" >/dev/null 2>&1 || rc=$?
          [ "$rc" -le 1 ] || { echo "e2fsck of $img failed ($rc)" >&2; exit 7; }
          resize2fs "$img" >/dev/null 2>&1
        else
          loop_lock; L=$(losetup -f --show "$img"); loop_unlock; m=$(mktemp -d)
          rc=0; { mount "$L" "$m" && { growfs "$fs" "$m" || rc=$?; umount "$m"; }; } || rc=$?
          rmdir "$m"; losetup -d "$L"; [ "$rc" = 0 ] || exit "$rc"
        fi
      fi ;;
    bridge) [ -d "/sys/class/net/$1/bridge" ] || { echo "bridge $1 does not exist on this host; create it (ip link add $1 type bridge; ip link set $1 up) or choose another" >&2; exit 11; }; shift ;;
    config) t="$1.tmp.$$"; cat > "$t"; chmod 640 "$t"; mv -f "$t" "$1"; shift ;;
    stop) r=$(stop_container "$n" "$1"); shift; printf 'stopped\t%s\n' "$r" ;;
    start)
      st=$(lxc-info -n "$n" -s 2>/dev/null) || true
      case $st in *RUNNING*) ;; *)
        LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null) || true; [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
        log="$LXCPATH/$n/pulumi-virt-start.log"; : > "$log"
        loop_lock
        lxc-start -n "$n" -d -l ERROR -o "$log" 8>&- || { loop_unlock; echo "lxc-start $n failed:" >&2; tail -n 5 "$log" >&2 || true; exit 8; }
        lxc-wait -n "$n" -s RUNNING -t 30; loop_unlock ;;
      esac ;;
    *) echo "unknown op $op" >&2; exit 2 ;;
  esac
done
