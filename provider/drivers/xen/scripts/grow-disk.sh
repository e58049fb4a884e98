# $1 raw image, $2 size MiB: grows the image (never shrinks it), then has every loop device over it re-read its size
# (losetup -c). blkback notices the new size at the guest's next request and hands it to blkfront: no restart.
set -e
img="$1"; size="$2"
truncate -s ">${size}M" -- "$img"
for dev in $(losetup -n -O NAME -j "$img"); do losetup -c "$dev"; done
