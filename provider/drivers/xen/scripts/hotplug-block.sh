#!/bin/sh
# libxl's hotplug script for the disks of pulumi-virt's PV guests (disk spec `script=<this file>, target=<raw image>`).
# libxl runs it with `add` or `remove` and XENBUS_PATH set to the disk's backend directory in xenstore. It does what
# Xen's own `block` script does for an image file (a loop device, then its major:minor for blkback), in four
# processes instead of dozens: in a dom0 under emulation Xen's script outlived libxl's hotplug timeout
# (lab/xen/README.md). Not run through `sh -c`: the driver installs it beside the domains' configs.
set -e
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
be="${XENBUS_PATH:?XENBUS_PATH is not set: libxl runs this script}"
case "$1" in
add)
  img=$(xenstore-read "$be/params")
  ro=""
  [ "$(xenstore-read "$be/mode")" = r ] && ro=-r
  dev=$(losetup $ro -f --show -- "$img")
  # blkback opens the device named by its major:minor in hex.
  xenstore-write "$be/node" "$dev" "$be/physical-device" "$(stat -L -c '%t:%T' "$dev")" "$be/physical-device-path" "$dev" \
    "$be/hotplug-status" connected
  ;;
remove)
  dev=$(xenstore-read "$be/node" 2>/dev/null) || exit 0
  losetup -d "$dev" 2>/dev/null || true
  ;;
*)
  echo "usage: XENBUS_PATH=... $0 add|remove" >&2; exit 1
  ;;
esac
