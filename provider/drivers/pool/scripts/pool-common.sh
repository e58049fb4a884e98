# Shared by the pool scripts. A pool's directory holds POOL_MARKER with its owner token: a pool is only ever
# changed or removed by the resource whose token that file holds.
# shellcheck disable=SC2034 # used by the scripts that include this fragment
POOL_MARKER=.pulumi-virt-pool

# Loop devices are machine-wide and picked racily; the same lock file the LXC driver takes around its loop work.
pool_loop_lock() { mkdir -p /run/lock; exec 8>/run/lock/pulumi-virt-loop.lock; flock -w 300 8; }

# is_mounted PATH
is_mounted() { mountpoint -q "$1" 2>/dev/null; }

# pool_entries PATH: what the pool holds besides its marker (and a filesystem's lost+found).
pool_entries() {
  for e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    [ -e "$e" ] || continue
    case ${e##*/} in "$POOL_MARKER" | lost+found) continue ;; esac
    echo "${e##*/}"
  done
}
