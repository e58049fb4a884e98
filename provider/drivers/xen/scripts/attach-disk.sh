# $1 domain, $2 raw image, $3 size MiB (creates a sparse image when missing; an existing one is attached as is),
# $4 the hotplug script. Plugs the image into the running domain as the first free xvd[b-p] (xl block-attach).
# Prints "attached", or "present" when the domain already has it.
set -e
n="$1"; img="$2"; size="$3"; hp="$4"
xl domid "$n" >/dev/null
used=" "
# xl block-list: Vdev BE handle state evt-ch ring-ref BE-path; Vdev is 202 << 8 | index << 4 for xvd<a + index>.
for row in $(xl block-list "$n" | awk 'NR > 1 { print $1 "=" $7 }'); do
  vdev=${row%%=*}; be=${row#*=}
  [ "$(xenstore-read "$be/params" 2>/dev/null)" = "$img" ] && { echo present; exit 0; }
  used="$used$(( (vdev - 51712) / 16 )) "
done
if [ ! -e "$img" ]; then
  mkdir -p "$(dirname "$img")"
  truncate -s "${size}M" -- "$img.partial"
  mv -f -- "$img.partial" "$img"
fi
letters=abcdefghijklmnop
i=1
while case "$used" in *" $i "*) true;; *) false;; esac; do i=$((i + 1)); done
[ "$i" -lt 16 ] || { echo "domain $n has no free xvd device name left" >&2; exit 1; }
l=$(printf '%s' "$letters" | cut -c$((i + 1)))
xl block-attach "$n" "format=raw, vdev=xvd$l, access=rw, script=$hp, target=$img" >&2
echo attached
