# $1 guest dir, $2 root disk path, $3 base image, $4 overlay|copy, $5 size MiB or "". Each step checks whether it
# is already done, so a create interrupted anywhere can be re-run.
set -e
dir="$1"; root="$2"; base="$3"; mode="$4"; size="$5"
mkdir -p "$dir"; chmod 0755 "$dir"
[ -e "$root" ] && exit 0
[ -r "$base" ] || { echo "base image $base not found or unreadable" >&2; exit 2; }
fmt=$(qemu-img info --output=json "$base" | sed -n 's/.*"format": *"\([a-z0-9]*\)".*/\1/p' | head -n 1)
tmp="$root.partial"
rm -f "$tmp"
if [ "$mode" = overlay ]; then
  qemu-img create -q -f qcow2 -F "$fmt" -b "$base" "$tmp"
else
  qemu-img convert -q -f "$fmt" -O qcow2 "$base" "$tmp"
fi
if [ -n "$size" ]; then
  cur=$(qemu-img info --output=json "$tmp" | sed -n 's/.*"virtual-size": *\([0-9]*\).*/\1/p' | head -n 1)
  want=$((size * 1048576))
  [ "$want" -lt "$cur" ] && { echo "rootDisk.sizeMiB $size is smaller than the base image ($cur bytes)" >&2; rm -f "$tmp"; exit 2; }
  [ "$want" -gt "$cur" ] && qemu-img resize -q "$tmp" "$want"
fi
mv "$tmp" "$root"
