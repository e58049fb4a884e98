# $1 token. Prints the name of the container whose registration holds this token (none: prints nothing).
tok=$1
LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null); [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
for f in "$LXCPATH/.pulumi-virt"/*; do
  [ -f "$f" ] || continue
  o=; read -r o _k < "$f" || true
  [ "$o" = "$tok" ] && { printf '%s\n' "${f##*/}"; exit 0; }
done
exit 0
