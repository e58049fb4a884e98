# $1 path  $2 image file|""  $3 owner token. Unmounts and removes the pool: image, marker, directory.
# Prints "destroyed" or "absent". Exit 3: not this pool's. Exit 4: not empty ("entry=<name>" lines on stdout).
. ./pool-common.sh

path=$1 img=$2 token=$3
marker="$path/$POOL_MARKER"
if [ ! -d "$path" ] && { [ -z "$img" ] || [ ! -f "$img" ]; }; then echo absent; exit 0; fi
pool_loop_lock
# An image not mounted (a rebooted host) is mounted to see what it holds.
if [ -n "$img" ] && [ -f "$img" ] && ! is_mounted "$path"; then mkdir -p "$path"; mount -o loop "$img" "$path"; fi
owner=; [ -f "$marker" ] && read -r owner < "$marker"
if [ "$owner" != "$token" ]; then
  [ -n "$img" ] && is_mounted "$path" && umount "$path"
  echo "$path is not this pulumi-virt pool's (its marker: ${owner:-none}); it was not removed" >&2; exit 3
fi
if [ -n "$(pool_entries "$path")" ]; then pool_entries "$path" | head -n 20 | sed 's/^/entry=/'; exit 4; fi
rm -f "$marker"
if [ -n "$img" ]; then
  is_mounted "$path" && umount "$path"
  rm -f "$img"
fi
rmdir "$path"
rmdir /var/lib/pulumi-virt/pools /var/lib/pulumi-virt 2>/dev/null || true
echo destroyed
