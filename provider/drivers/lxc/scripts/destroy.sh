# $1 name, $2 the owning resource's token. Stops, detaches loop devices of its image, destroys, removes the image and the registration.
# Prints destroyed | absent.
. ./release-image.sh

n=$1; tok=${2:-}
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
lxc-stop -n "$n" -k >/dev/null 2>&1 || true
lxc-wait -n "$n" -s STOPPED -t 10 >/dev/null 2>&1 || true
for f in "$img" "$d/rootdev"; do
  if [ -z "$f" ] || [ ! -f "$f" ]; then continue; fi
  release_image "$f"
done
[ -f "$d/config" ] && { lxc-destroy -n "$n" >/dev/null 2>&1 || true; }
rm -rf "$d"
[ -n "$img" ] && rm -f "$img"
if [ -e "$d" ] || { [ -n "$img" ] && [ -e "$img" ]; }; then echo "could not remove $d" >&2; exit 10; fi
rm -f "$LXCPATH/.pulumi-virt/$n"
echo destroyed
