# $1 image path, $2 size MiB: grows a stopped guest's disk image; never shrinks it.
set -e
path="$1"; size="$2"
cur=$(qemu-img info --output=json "$path" | sed -n 's/.*"virtual-size": *\([0-9]*\).*/\1/p' | head -n 1)
want=$((size * 1048576))
[ "$want" -gt "$cur" ] && qemu-img resize -q "$path" "$want"
exit 0
