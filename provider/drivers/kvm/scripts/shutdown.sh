# $1 guest name, $2 timeout seconds: ACPI shutdown, polled here so a long timeout costs one round trip, then
# destroy. Prints acpi | destroyed | already-off.
n="$1"; t="$2"; c=qemu:///system
st=$(virsh -c "$c" domstate --domain "$n") || exit 1
[ "$st" = "shut off" ] && { echo already-off; exit 0; }
virsh -c "$c" shutdown --domain "$n" --mode acpi >/dev/null 2>&1
i=0
while [ "$i" -lt "$t" ]; do
  sleep 1; i=$((i+1))
  st=$(virsh -c "$c" domstate --domain "$n" 2>/dev/null)
  [ "$st" = "shut off" ] && { echo acpi; exit 0; }
done
virsh -c "$c" destroy --domain "$n" >/dev/null 2>&1
st=$(virsh -c "$c" domstate --domain "$n" 2>/dev/null)
[ "$st" = "shut off" ] && { echo destroyed; exit 0; }
echo "guest $n is still '$st' after destroy" >&2; exit 1
