# $1 guest, $2 target (vdc), $3 the disk's image path, $4 1 = the guest runs, $5 seconds to wait for the guest to
# release it. Removes the disk from the persistent definition, then from the running guest. Prints "detached", or
# "pending" when the guest still holds it after the wait (QEMU unplugs only what the guest's OS lets go of).
# Re-runnable: a disk already gone from either side is skipped there.
set -e
n="$1"; t="$2"; p="$3"; running="$4"; wait="$5"; c=qemu:///system
has() { virsh -c "$c" domblklist --domain "$n" "$@" | awk 'NR > 2 { print $2 }' | grep -qxF -- "$p"; }
if has --inactive; then virsh -c "$c" detach-disk --domain "$n" --target "$t" --config >/dev/null; fi
if [ "$running" != 1 ] || ! has; then echo detached; exit 0; fi
# A detach asked for earlier may still be waiting on the guest: asking again fails with "in the process of unplug".
if ! err=$(virsh -c "$c" detach-disk --domain "$n" --target "$t" --live 2>&1 >/dev/null); then
  case "$err" in *"in the process of unplug"*) ;; *) printf '%s\n' "$err" >&2; exit 1;; esac
fi
i=0
while has; do
  [ "$i" -ge "$wait" ] && { echo pending; exit 0; }
  sleep 1; i=$((i + 1))
done
echo detached
