# $1 name, $2 the owning resource's token, $3 seconds of graceful stop (0: kill at once). Stops, detaches loop
# devices of its image, destroys, removes the image and the registration.
# Prints "destroyed <graceful|killed|already-stopped>" | absent.
. ./release-image.sh
. ./stop-container.sh

n=$1; tok=${2:-}; grace=${3:-0}
LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null); [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
d="$LXCPATH/$n"
# Only the owning resource destroys: a registration holding another token belongs to another resource.
owner=; [ -f "$LXCPATH/.pulumi-virt/$n" ] && { read -r owner _k < "$LXCPATH/.pulumi-virt/$n" || true; }
if [ -n "$owner" ] && [ "$owner" != "$tok" ]; then
  echo "container $n is managed by another pulumi-virt resource (another stack, or another resource with this name); it was not destroyed" >&2; exit 6
fi
[ -d "$d" ] || { rm -f "$LXCPATH/.pulumi-virt/$n"; echo absent; exit 0; }
img=
[ -f "$d/config" ] && while IFS= read -r line; do case $line in lxc.rootfs.path*=*loop:*) img=${line#*loop:}; img=${img%% *} ;; esac; done < "$d/config"
# Nothing of the container survives this script, so a kill loses nothing a shutdown would keep; a graceful stop
# (asked for by the resource) is bounded by $3 and followed by the kill when init does not exit in time.
stopped=$(stop_container "$n" "$grace" 2>/dev/null) || stopped=killed
for f in "$img" "$d/rootdev"; do
  if [ -z "$f" ] || [ ! -f "$f" ]; then continue; fi
  release_image "$f"
done
[ -f "$d/config" ] && { lxc-destroy -n "$n" >/dev/null 2>&1 || true; }
rm -rf "$d"
[ -n "$img" ] && rm -f "$img"
if [ -e "$d" ] || { [ -n "$img" ] && [ -e "$img" ]; }; then echo "could not remove $d" >&2; exit 10; fi
rm -f "$LXCPATH/.pulumi-virt/$n"
echo "destroyed $stopped"
