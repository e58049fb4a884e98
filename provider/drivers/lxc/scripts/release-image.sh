# release_image IMAGE: unmounts this namespace's mounts of the image's loop devices (left by an interrupted grow
# or create) and detaches them, so nothing keeps a deleted image alive.
release_image() {
  [ -f "$1" ] || return 0
  for L in $(losetup -l -n -O NAME -j "$1" 2>/dev/null); do
    while read -r src mnt _rest; do [ "$src" = "$L" ] && umount "$mnt" 2>/dev/null; done < /proc/self/mounts
    losetup -d "$L" 2>/dev/null || true
  done
  return 0
}
