# $1 domain, $2 MAC (lower case): unplugs the domain's vif with that MAC (xl network-detach, which waits for the guest
# to let it go). Prints "detached", or "absent" when the domain has no such vif.
set -e
n="$1"; mac="$2"
xl domid "$n" >/dev/null
if ! xl network-list "$n" | awk 'NR > 1 { print tolower($3) }' | grep -qx -- "$mac"; then echo absent; exit 0; fi
xl network-detach "$n" "$mac" >&2
echo detached
