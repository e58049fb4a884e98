# $1 base image, $2 root disk path, $3 size MiB or "": copies the base image (sparse) to the root disk unless it
# exists, then grows the copy to the size; never shrinks it.
set -e
src="$1"; dst="$2"; size="$3"
mkdir -p "$(dirname "$dst")"
if [ ! -e "$dst" ]; then cp --sparse=always -- "$src" "$dst.partial"; mv -f -- "$dst.partial" "$dst"; fi
if [ -n "$size" ] && [ "$(stat -c %s "$dst")" -lt $((size * 1048576)) ]; then truncate -s "${size}M" -- "$dst"; fi
