# An Image resource lets go of its file. $1 images dir, $2 key, $3 final path, $4 claim, $5 1 = a create that failed
# lets go of its claim only: its bookkeeping goes, a partial download stays for the next attempt to resume.
# Another resource's claim keeps the file (prints "kept"). The last claim removes it, unless a libvirt domain's
# disk is the file or has it in its backing chain: then it refuses (exit 3) naming those guests.
# Prints kept | removed.
set -eu
dir=$1; key=$2; final=$3; claim=$4; failed=${5:-0}
claims="$dir/.claims/$key"
others=0
if [ -d "$claims" ]; then
  for c in "$claims"/*; do
    [ -e "$c" ] || continue
    [ "${c##*/}" = "$claim" ] || others=$((others + 1))
  done
fi
if [ "$others" -gt 0 ]; then rm -f "$claims/$claim"; echo kept; exit 0; fi
part="$dir/.partial"
if [ "$failed" = 1 ]; then
  rm -f "$claims/$claim" "$part/$key.status" "$part/$key.err" "$part/$key.headers" "$part/$key.unpacked"
  rmdir "$claims" 2>/dev/null || true
  [ -e "$part/$key.download" ] || rm -f "$part/$key.lock"
  echo kept; exit 0
fi
users=
if [ -f "$final" ] && command -v virsh >/dev/null 2>&1; then
  for d in $(timeout 20 virsh -q list --all --name 2>/dev/null || true); do
    for src in $(timeout 20 virsh -q domblklist "$d" --details 2>/dev/null | awk '$2 == "disk" { print $4 }'); do
      [ -f "$src" ] || continue
      if [ "$src" = "$final" ] || timeout 20 qemu-img info -U --backing-chain "$src" 2>/dev/null | grep -Fqx "image: $final"; then
        users="$users${users:+, }$d"; break
      fi
    done
  done
fi
if [ -n "$users" ]; then
  echo "image $final is in use by guest(s) $users (their root disks are overlays on it): destroy or replace them first" >&2
  exit 3
fi
rm -f "$claims/$claim"
rmdir "$claims" 2>/dev/null || true
if [ -d "$part" ]; then
  exec 9>"$part/$key.lock"
  # A download of the same bytes under way (a new claim came meanwhile) finishes first.
  flock -w 60 9 || { echo "image $final is being downloaded again; try again later" >&2; exit 4; }
  [ -n "$(ls -A "$claims" 2>/dev/null)" ] && { echo kept; exit 0; }
  rm -f "$part/$key.download" "$part/$key.unpacked" "$part/$key.headers" "$part/$key.err" "$part/$key.status" "$part/$key.lock"
fi
rm -f "$final"
echo removed
