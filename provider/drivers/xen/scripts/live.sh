# $1 name, $2 memory MiB or "", $3 vCPUs or "", $4 new name or "": changes a running domain without restarting it.
set -e
n="$1"; mem="$2"; cpus="$3"; new="$4"
# How long to wait for the guest to bring its vCPUs on or offline: polls of 0.5 s (30 s).
settle_polls=60
xl domid "$n" >/dev/null
[ -z "$mem" ] || xl mem-set "$n" "${mem}m"
if [ -n "$cpus" ]; then
  xl vcpu-set "$n" "$cpus"
  # The guest kernel brings the vCPUs on or offline itself (xenstore cpu/N/availability), and xl list counts the
  # ones it has. Wait for it (bounded: a guest that never acts is reported as it is, and shows as drift).
  i=0
  while [ "$(xl list "$n" 2>/dev/null | awk -v n="$n" '$1 == n { print $4 }')" != "$cpus" ] && [ "$i" -lt "$settle_polls" ]; do
    sleep 0.5; i=$((i + 1))
  done
fi
[ -z "$new" ] || xl rename "$n" "$new"
