# $1 domain, $2 bridge, $3 MAC (lower case): plugs a vif into the running domain (xl network-attach), unless it has
# one with that MAC. Prints "attached" or "present".
set -e
n="$1"; br="$2"; mac="$3"
xl domid "$n" >/dev/null
# xl network-list: Idx BE Mac Addr. handle state evt-ch tx-/rx-ring-ref BE-path
if xl network-list "$n" | awk 'NR > 1 { print tolower($3) }' | grep -qx -- "$mac"; then echo present; exit 0; fi
xl network-attach "$n" "bridge=$br" "mac=$mac" >&2
echo attached
