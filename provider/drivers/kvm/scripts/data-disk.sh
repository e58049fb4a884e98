# $1 path, $2 size MiB: creates the qcow2 data disk unless it exists (an existing one is adopted, never overwritten).
set -e
path="$1"; size="$2"
[ -e "$path" ] && exit 0
qemu-img create -q -f qcow2 "$path.partial" "${size}M"
mv "$path.partial" "$path"
