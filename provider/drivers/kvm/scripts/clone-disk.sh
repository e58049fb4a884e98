# $1 guest dir, $2 root disk path, $3 the source guest's root disk, $4 its format, $5 overlay|copy, $6 and $7 the
# source's backing file and its format ("" when it has none), $8 size MiB or "", $9 the source's virtual size (bytes).
# The source guest is stopped (checked by the caller): qemu-img holds its image lock while it reads, so a QEMU that
# tries to start the source meanwhile fails instead of writing under the copy. Re-runnable: a finished disk stays.
set -e
dir="$1"; root="$2"; src="$3"; fmt="$4"; mode="$5"; backing="$6"; bfmt="$7"; size="$8"; cur="$9"
mkdir -p "$dir"; chmod 0755 "$dir"
[ -e "$root" ] && exit 0
tmp="$root.partial"
rm -f "$tmp"
if [ "$mode" = overlay ] && [ -n "$backing" ]; then
  # Only the source's own clusters are copied; the clone shares the source's read-only base image.
  qemu-img convert -q -f "$fmt" -O qcow2 -B "$backing" -F "$bfmt" "$src" "$tmp"
else
  # A standalone copy: the whole backing chain flattened into one file.
  qemu-img convert -q -f "$fmt" -O qcow2 "$src" "$tmp"
fi
if [ -n "$size" ]; then
  want=$((size * 1048576))
  [ "$want" -lt "$cur" ] && { echo "rootDisk.size $size MiB is smaller than the source guest's disk ($cur bytes)" >&2; rm -f "$tmp"; exit 2; }
  [ "$want" -gt "$cur" ] && qemu-img resize -q "$tmp" "$want"
fi
mv "$tmp" "$root"
