# $1 guest dir, $2 root disk path, $3 base image, $4 overlay|copy, $5 size MiB or "", $6 and $7 the base image's
# format and virtual size (bytes), read by qemuImgInfo. Each step checks whether it is already done, so a create
# interrupted anywhere can be re-run.
set -e
dir="$1"; root="$2"; base="$3"; mode="$4"; size="$5"; fmt="$6"; cur="$7"
mkdir -p "$dir"; chmod 0755 "$dir"
[ -e "$root" ] && exit 0
[ -r "$base" ] || { echo "base image $base not found or unreadable" >&2; exit 2; }
tmp="$root.partial"
rm -f "$tmp"
if [ "$mode" = overlay ]; then
  qemu-img create -q -f qcow2 -F "$fmt" -b "$base" "$tmp"
else
  qemu-img convert -q -f "$fmt" -O qcow2 "$base" "$tmp"
fi
# An overlay or a converted copy has the base image's virtual size.
if [ -n "$size" ]; then
  want=$((size * 1048576))
  [ "$want" -lt "$cur" ] && { echo "rootDisk.sizeMiB $size is smaller than the base image ($cur bytes)" >&2; rm -f "$tmp"; exit 2; }
  [ "$want" -gt "$cur" ] && qemu-img resize -q "$tmp" "$want"
fi
mv "$tmp" "$root"
