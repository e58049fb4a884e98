# $1 container, $2 snapshot name, $3 the owning resource's token. Copies the container's root filesystem and its
# config to <lxcpath>/.pulumi-virt-snapshots/<container>/<snapshot>/ (rootfs/, config, ts, owner). A running
# container is frozen for the copy (crash-consistent: one instant, as if it lost power) and thawed at once after;
# a stopped one is copied from its image mounted read-only. Idempotent. Prints "snapshot NAME EPOCH BYTES".
. ./loop-lock.sh
. ./snapshot-paths.sh
n=$1; s=$2; tok=$3
snapshot_paths "$n" "$s"
owner=; [ -f "$LXCPATH/.pulumi-virt/$n" ] && { read -r owner _k < "$LXCPATH/.pulumi-virt/$n" || true; }
if [ -z "$owner" ] || [ "$owner" != "$tok" ]; then
  echo "container $n is not this resource's (not registered by pulumi-virt, or owned by another resource): no snapshot was taken" >&2; exit 6
fi
[ -f "$d/config" ] || { echo "container $n does not exist" >&2; exit 4; }
if [ -f "$snap/owner" ]; then
  read -r was < "$snap/owner" || true
  [ "$was" = "$tok" ] || { echo "snapshot $s of container $n exists and was made by another resource" >&2; exit 6; }
  snapshot_report "$snap"; exit 0
fi
# Root filesystems hold keys and passwords: only root reads the copies.
mkdir -p "$snaps" && chmod 0700 "$LXCPATH/.pulumi-virt-snapshots" || exit 1
tmp="$snap.partial"; rm -rf "$tmp"; mkdir -p "$tmp/rootfs" || exit 1
st=$(lxc-info -n "$n" -s 2>/dev/null) || true
rc=0
case $st in
  *RUNNING*|*FROZEN*)
    pid=$(lxc-info -n "$n" -p -H 2>/dev/null)
    [ -n "$pid" ] || { echo "container $n is running but has no init PID" >&2; rm -rf "$tmp"; exit 1; }
    trap 'lxc-unfreeze -n "$n" >/dev/null 2>&1' EXIT
    timeout 30 lxc-freeze -n "$n" || { echo "could not freeze container $n" >&2; rm -rf "$tmp"; exit 1; }
    # -x: only the root filesystem, not the container's /proc, /sys and /dev.
    timeout 600 rsync -aHx --numeric-ids "/proc/$pid/root/" "$tmp/rootfs/" || rc=$?
    lxc-unfreeze -n "$n" >/dev/null 2>&1; trap - EXIT ;;
  *)
    img=$(image_of "$d/config")
    if [ -n "$img" ]; then
      loop_lock; L=$(losetup -f --show -r "$img"); loop_unlock
      m=$(mktemp -d)
      if mount -o ro "$L" "$m"; then timeout 600 rsync -aH --numeric-ids "$m/" "$tmp/rootfs/" || rc=$?; umount "$m"; else rc=1; fi
      rmdir "$m"; losetup -d "$L"
    else
      timeout 600 rsync -aH --numeric-ids "$d/rootfs/" "$tmp/rootfs/" || rc=$?
    fi ;;
esac
[ "$rc" = 0 ] || { echo "copying the root filesystem of $n failed (rsync exit $rc)" >&2; rm -rf "$tmp"; exit 1; }
cp "$d/config" "$tmp/config" && date +%s > "$tmp/ts" && printf '%s\n' "$tok" > "$tmp/owner" && mv "$tmp" "$snap" || exit 1
snapshot_report "$snap"
