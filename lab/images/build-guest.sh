#!/usr/bin/env bash
# Builds the small test guest used by the KVM and Xen tests and prints its directory:
#   vmlinuz        Debian's kernel (from fetch-kernel.sh)
#   initrd.img     busybox-static initramfs; /init = guest-init.sh (PVSTAT lines on the console)
#   base-a.qcow2   64 MiB qcow2 whose first sector reads "PVMARK:base-a"
#   base-b.qcow2   same with "PVMARK:base-b"
# The directory name carries a hash of these scripts and the kernel version, so a built image is
# never changed in place (a running guest may use it) and a changed recipe builds a new one.
# /init also reads a NoCloud seed (nocloud.sh: host key, authorized keys, network-config) and runs dropbear.
# Boot: KVM  console=ttyS0 (serial);  Xen PV  console=hvc0.  Knobs: pv.ip= pv.gw= pv.noacpi=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CACHE="${PULUMI_VIRT_CACHE:-/var/cache/pulumi-virt}"
kdir=$(bash "$here/fetch-kernel.sh")
kver=$(cat "$kdir/version")
hash=$( (cat "$here/build-guest.sh" "$here/guest-init.sh" "$here/nocloud.sh"; echo "$kver") | sha256sum | cut -c1-12)
dest="$CACHE/images/test-guest-$hash"
if [ -f "$dest/.done" ]; then echo "$dest"; exit 0; fi
mkdir -p "$CACHE/images"
exec 9>"$CACHE/images/.build-guest.lock"
flock 9
if [ -f "$dest/.done" ]; then echo "$dest"; exit 0; fi

for tool in busybox cpio gzip qemu-img dropbear dropbearkey dropbearconvert; do
  command -v "$tool" >/dev/null || { echo "build-guest: '$tool' missing; run scripts/ensure-packages.sh" >&2; exit 1; }
done
bb=$(command -v busybox)
file -L "$bb" 2>/dev/null | grep -q 'dynamically linked' && { echo "build-guest: $bb is not static; install busybox-static" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc}
cp "$bb" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 "$here/guest-init.sh" "$root/init"
install -D -m 0644 "$here/nocloud.sh" "$root/lib/pv/nocloud.sh"
# An SSH server from Debian's dropbear-bin, with the shared libraries it links (the rest of the image is static).
for exe in "$(command -v dropbear)" "$(command -v dropbearkey)" "$(command -v dropbearconvert)"; do
  install -D -m 0755 "$exe" "$root/sbin/${exe##*/}"
  ldd "$exe" | awk '/=> \//{print $3} /^[[:space:]]*\/lib64\//{print $1}' | while read -r lib; do
    [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
done
mkdir -p "$root/root" "$root/etc/dropbear" "$root/var/lib/cloud"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
printf '/bin/sh\n' > "$root/etc/shells"
# Only the modules /init loads, at the paths it expects.
mods=(drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
  drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/virtio/virtio_balloon
  drivers/block/virtio_blk net/core/failover drivers/net/net_failover drivers/net/virtio_net
  drivers/char/virtio_console drivers/block/xen-blkfront drivers/net/xen-netfront
  drivers/input/evdev drivers/acpi/button
  drivers/scsi/scsi_common drivers/scsi/scsi_mod drivers/cdrom/cdrom drivers/ata/libata drivers/ata/ata_piix
  drivers/scsi/sr_mod fs/isofs/isofs)
for m in "${mods[@]}"; do
  src="$kdir/lib/modules/$kver/kernel/$m.ko"
  [ -f "$src" ] || { echo "build-guest: module $m.ko missing in $kdir" >&2; exit 1; }
  mkdir -p "$root/lib/modules/$kver/kernel/$(dirname "$m")"
  cp "$src" "$root/lib/modules/$kver/kernel/$m.ko"
done
# The kernel opens /dev/console for /init's stdio before devtmpfs is mounted.
mknod -m 600 "$root/dev/console" c 5 1
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$work/initrd.cpio"
rm -rf "$dest.new"; mkdir -p "$dest.new"
gzip -9 -n < "$work/initrd.cpio" > "$dest.new/initrd.img"
cp "$kdir/vmlinuz" "$dest.new/vmlinuz"
echo "$kver" > "$dest.new/kernel-version"

for b in a b; do
  raw="$work/base-$b.raw"
  truncate -s 64M "$raw"
  printf 'PVMARK:base-%s\n' "$b" | dd of="$raw" conv=notrunc status=none
  qemu-img convert -q -f raw -O qcow2 "$raw" "$dest.new/base-$b.qcow2"
done
chmod 0644 "$dest.new"/*
rm -rf "$dest"; mv "$dest.new" "$dest"
touch "$dest/.done"
echo "$dest"
