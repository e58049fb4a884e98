# $1 container (stopped by the caller), $2 snapshot name, $3 the owning resource's token. Puts the snapshot's root
# filesystem back (rsync --delete into the image or the rootfs directory); the current config (name, MAC, limits,
# network) stays. Prints "restored".
. ./loop-lock.sh
. ./snapshot-paths.sh
n=$1; s=$2; tok=$3
snapshot_paths "$n" "$s"
was=; [ -f "$snap/owner" ] && { read -r was < "$snap/owner" || true; }
[ -n "$was" ] || { echo "container $n has no snapshot $s made by pulumi-virt" >&2; exit 4; }
[ "$was" = "$tok" ] || { echo "snapshot $s of container $n was made by another resource: not restored" >&2; exit 6; }
[ -f "$d/config" ] || { echo "container $n does not exist" >&2; exit 4; }
case $(lxc-info -n "$n" -s 2>/dev/null) in *STOPPED*) ;; *) echo "container $n must be stopped to restore it" >&2; exit 1 ;; esac
img=$(image_of "$d/config"); rc=0
if [ -n "$img" ]; then
  loop_lock; L=$(losetup -f --show "$img"); loop_unlock
  m=$(mktemp -d)
  if mount "$L" "$m"; then timeout 600 rsync -aH --numeric-ids --delete "$snap/rootfs/" "$m/" || rc=$?; umount "$m"; else rc=1; fi
  rmdir "$m"; losetup -d "$L"
else
  timeout 600 rsync -aH --numeric-ids --delete "$snap/rootfs/" "$d/rootfs/" || rc=$?
fi
[ "$rc" = 0 ] || { echo "restoring snapshot $s of $n failed (exit $rc)" >&2; exit 1; }
echo restored
