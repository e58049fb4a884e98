# $1 name, $2 timeout seconds. `xl shutdown -w` asks the guest kernel (xenstore control/shutdown) and waits until
# the domain is gone; then `xl destroy`. Prints graceful | destroyed | already-off.
n="$1"; t="$2"
xl domid "$n" >/dev/null 2>&1 || { echo already-off; exit 0; }
if [ "$t" -gt 0 ] && timeout "$t" xl shutdown -w "$n" >/dev/null 2>&1; then echo graceful; exit 0; fi
xl domid "$n" >/dev/null 2>&1 || { echo graceful; exit 0; }
xl destroy "$n"
echo destroyed
