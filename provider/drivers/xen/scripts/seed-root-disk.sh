# $1 base image, $2 root disk path, $3 size MiB or "": makes the root disk (a raw image: blkback serves raw block
# devices) from the base image unless it exists: a qcow2 base is converted, a raw one copied sparse. Then grows it to
# the size; never shrinks it.
set -e
src="$1"; dst="$2"; size="$3"
mkdir -p "$(dirname "$dst")"
if [ ! -e "$dst" ]; then
  case "$(head -c 3 -- "$src")" in
    QFI) qemu-img convert -q -f qcow2 -O raw "$src" "$dst.partial" ;;
    *) cp --sparse=always -- "$src" "$dst.partial" ;;
  esac
  mv -f -- "$dst.partial" "$dst"
fi
if [ -n "$size" ] && [ "$(stat -c %s "$dst")" -lt $((size * 1048576)) ]; then truncate -s "${size}M" -- "$dst"; fi
