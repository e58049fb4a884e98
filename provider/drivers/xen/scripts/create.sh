# $1 name, $2 config file, $3 1 = start it, then triples PATH FORMAT SIZE_MIB (size "" = must exist). Creates
# missing disk images (never touches existing ones), then starts the domain unless a domain of that name already
# runs (adopt) or the spec wants it stopped. Prints created | adopted | defined.
set -e
n="$1"; cfg="$2"; run="$3"; shift 3
if xl domid "$n" >/dev/null 2>&1; then echo adopted; exit 0; fi
while [ $# -ge 3 ]; do
  p="$1"; fmt="$2"; size="$3"; shift 3
  [ -e "$p" ] && continue
  [ -n "$size" ] || { echo "disk image $p does not exist and no size was given to create it" >&2; exit 2; }
  mkdir -p "$(dirname "$p")"
  if [ "$fmt" = qcow2 ]; then qemu-img create -q -f qcow2 "$p" "${size}M"; else truncate -s "${size}M" "$p"; fi
done
if [ "$run" = 1 ]; then xl create -q "$cfg" >&2; echo created; else echo defined; fi
