# loop_lock / loop_unlock. Commands that outlive the script must not inherit fd 8.
# Loop devices are machine-wide and LXC/losetup pick a free one racily: parallel creates or starts of
# loop-backed containers ("Device or resource busy") take this lock around their loop-device work.
loop_lock() { mkdir -p /run/lock; exec 8>/run/lock/pulumi-virt-loop.lock; flock -w 300 8; }
loop_unlock() { flock -u 8 2>/dev/null || true; }
