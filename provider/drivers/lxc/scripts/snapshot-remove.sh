# $1 container, $2 snapshot name, $3 the token it was made with. Removes it only when that token made it.
# Prints removed | absent.
. ./snapshot-paths.sh
n=$1; s=$2; tok=$3
snapshot_paths "$n" "$s"
[ -d "$snap" ] || { echo absent; exit 0; }
was=; [ -f "$snap/owner" ] && { read -r was < "$snap/owner" || true; }
[ "$was" = "$tok" ] || { echo "snapshot $s of container $n was not made by this resource: not removed" >&2; exit 6; }
rm -rf "$snap" || exit 1
rmdir "$snaps" 2>/dev/null
echo removed
