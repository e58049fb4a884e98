# $1 name, $2 token, $3 1 = take over a registration that holds another token (adopt), $4 the resource's
# stack-and-name key (kept when empty). Writes the token into the
# container's registration when it is empty (a release before tokens) or already ours; exit 6 when another
# resource owns it.
n=$1; tok=$2; force=${3:-0}
LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null); [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
R="$LXCPATH/.pulumi-virt"
owner=; okey=; [ -f "$R/$n" ] && { read -r owner okey < "$R/$n" || true; }
if [ -n "$owner" ] && [ "$owner" != "$tok" ] && [ "$force" != 1 ]; then
  echo "container $n is managed by another pulumi-virt resource (another stack, or another resource with this name)" >&2; exit 6
fi
mkdir -p "$R"; printf '%s %s\n' "$tok" "${4:-$okey}" > "$R/$n"
echo claimed
