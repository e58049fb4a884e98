# Creates, grows or (after a host reboot) remounts a pool; idempotent.
# $1 type dir|btrfs|xfs  $2 path  $3 image file|""  $4 size in MiB|""  $5 owner token
# Prints "pool=created|grown|mounted|unchanged", then pool-read's lines.
# Exit 3: the path (or image) exists and is not this pool's. Exit 5: a shrink (refused).
. ./pool-common.sh
set -e

type=$1 path=$2 img=$3 size=$4 token=$5
marker="$path/$POOL_MARKER"
refuse() { echo "$1; it was not changed" >&2; exit 3; }
check_owner() {
  owner=; [ -f "$marker" ] && read -r owner < "$marker"
  [ "$owner" = "$token" ] || return 1
}
outcome=unchanged

if [ "$type" = dir ]; then
  if [ -d "$path" ] && ! check_owner; then
    [ -f "$marker" ] && refuse "$path is another pulumi-virt pool's"
    [ -z "$(pool_entries "$path")" ] || refuse "$path exists, is not empty and is not a pulumi-virt pool"
  fi
  [ -f "$marker" ] || outcome=created
  mkdir -p "$path"
  printf '%s\n' "$token" > "$marker"
else
  pool_loop_lock
  if ! is_mounted "$path"; then
    [ -d "$path" ] && [ -n "$(pool_entries "$path")" ] && refuse "$path exists and is not empty"
    mkdir -p "$path"
    if [ ! -f "$img" ]; then
      truncate -s "${size}M" "$img"
      if [ "$type" = xfs ]; then mkfs.xfs -q -m reflink=1 "$img"; else mkfs.btrfs -q "$img" >/dev/null; fi
      outcome=created
    else
      outcome=mounted
    fi
    mount -o loop "$img" "$path"
    if [ $outcome = created ]; then printf '%s\n' "$token" > "$marker"
    elif ! check_owner; then umount "$path"; refuse "image $img is not this pulumi-virt pool's"; fi
  else
    check_owner || refuse "$path is mounted and is not this pulumi-virt pool"
  fi
  have=$(stat -c %s "$img")
  want=$((size * 1048576))
  if [ "$have" -gt "$want" ]; then
    echo "the pool's image is $((have / 1048576)) MiB; shrinking to $size MiB is not supported" >&2; exit 5
  elif [ "$have" -lt "$want" ]; then
    truncate -s "${size}M" "$img"
    dev=$(losetup -j "$img" | head -n 1 | cut -d: -f1)
    losetup -c "$dev"
    if [ "$type" = xfs ]; then xfs_growfs "$path" >/dev/null; else btrfs filesystem resize max "$path" >/dev/null; fi
    [ $outcome = unchanged ] && outcome=grown
  fi
fi
echo "pool=$outcome"
set -- "$path" "$img"
. ./pool-read.sh
