# $1 domain, $2 image: unplugs the image from the running domain (xl block-detach; xl waits for the guest to close
# the device, then removes it). The image file stays. Prints "detached", or "absent" when the domain does not have it.
set -e
n="$1"; img="$2"
xl domid "$n" >/dev/null
for row in $(xl block-list "$n" | awk 'NR > 1 { print $1 "=" $7 }'); do
  vdev=${row%%=*}; be=${row#*=}
  if [ "$(xenstore-read "$be/params" 2>/dev/null)" = "$img" ]; then
    xl block-detach "$n" "$vdev" >&2
    echo detached; exit 0
  fi
done
echo absent
