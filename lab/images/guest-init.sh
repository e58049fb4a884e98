#!/bin/busybox sh
# /init of the pulumi-virt test guest (busybox initramfs). Runs as PID 1 and never exits.
# It reports its state once a second on the console so tests can check, from inside the guest,
# what a live change really did. Kernel cmdline knobs: pv.ip=ADDR/NN pv.gw=GW pv.noacpi=1.
# It also reads a NoCloud seed (host key, authorized keys, network-config), configures NICs (static or DHCP)
# and runs an SSH server (dropbear), so tests can reach it like a cloud image.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts

kver=$(uname -r)
moddir=/lib/modules/$kver/kernel
# Dependency order matters: there is no modprobe/depmod data in this image.
for m in \
  drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
  drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/virtio/virtio_balloon \
  drivers/block/virtio_blk net/core/failover drivers/net/net_failover drivers/net/virtio_net \
  drivers/char/virtio_console drivers/block/xen-blkfront drivers/net/xen-netfront \
  drivers/input/evdev drivers/acpi/button \
  drivers/scsi/scsi_common drivers/scsi/scsi_mod drivers/cdrom/cdrom drivers/ata/libata drivers/ata/ata_piix \
  drivers/scsi/sr_mod fs/isofs/isofs; do
  [ -f "$moddir/$m.ko" ] && insmod "$moddir/$m.ko" 2>/dev/null
done

cmdline=$(cat /proc/cmdline)
arg() { for w in $cmdline; do case "$w" in "$1"=*) echo "${w#*=}"; return;; esac; done; }

# The kernel runs /sbin/poweroff and /sbin/reboot for orderly shutdowns it is asked for (Xen's
# `xl shutdown`/`xl reboot`); busybox's own would only signal this shell. pv.noacpi=1 makes the
# guest ignore power-off requests of every kind.
mkdir -p /sbin
if [ "$(arg pv.noacpi)" = 1 ]; then
  printf '#!/bin/sh\necho "PVEVENT poweroff-ignored" > /dev/console\n' > /sbin/poweroff
else
  printf '#!/bin/sh\necho "PVEVENT poweroff" > /dev/console\nsync\nexec /bin/busybox poweroff -f\n' > /sbin/poweroff
fi
printf '#!/bin/sh\necho "PVEVENT reboot" > /dev/console\nsync\nexec /bin/busybox reboot -f\n' > /sbin/reboot
chmod 0755 /sbin/poweroff /sbin/reboot

# ACPI power button -> clean power-off, like a distro's acpid would. pv.noacpi=1 leaves the
# guest deaf to it, so callers can test their shutdown timeout fallback.
if [ "$(arg pv.noacpi)" != 1 ]; then
  (
    ev=""
    for i in 1 2 3 4 5 6 7 8 9 10; do
      for n in /sys/class/input/event*; do
        [ -e "$n/device/name" ] || continue
        case "$(cat "$n/device/name")" in *"Power Button"*) ev=/dev/input/${n##*/};; esac
      done
      [ -n "$ev" ] && break
      sleep 1
    done
    if [ -n "$ev" ]; then
      # Any event on the power-button device is a press; block until one arrives.
      dd if="$ev" of=/dev/null bs=24 count=1 2>/dev/null
      echo "PVEVENT acpi-power-button" > /dev/console
      /sbin/poweroff
    fi
  ) &
fi

ip=$(arg pv.ip); gw=$(arg pv.gw)
ip link set lo up 2>/dev/null
if [ -n "$ip" ]; then
  for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/net/eth0 ] && break; sleep 1; done
  ip link set eth0 up && ip addr add "$ip" dev eth0
  [ -n "$gw" ] && ip route add default via "$gw"
  echo eth0 > /run/pv-nic-eth0
fi

# NoCloud: the seed ISO (label cidata) on the IDE CD-ROM, read like cloud-init would for the subset pulumi-virt
# writes (lab/images/nocloud.sh). Without a seed every NIC takes DHCP, like cloud-init's fallback.
. /lib/pv/nocloud.sh
seed_read
nics_configure
[ -f /etc/dropbear/ed25519 ] || { mkdir -p /etc/dropbear; dropbearkey -t ed25519 -f /etc/dropbear/ed25519 >/dev/null 2>&1; }
dropbear -r /etc/dropbear/ed25519 -p 22 -E 2>>/tmp/dropbear.log
mkdir -p /var/lib/cloud/instance && : > /var/lib/cloud/instance/boot-finished

boot=$(cut -c1-8 /proc/sys/kernel/random/boot_id)
# As systemd's PID 1 does: systemd.machine_id= on the kernel command line is the machine ID (a clone's own).
mid=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^systemd\.machine_id=//p' | tr -cd '0-9a-f' | cut -c1-32)
[ -n "$mid" ] || mid=none
bytes() { for d in "$@"; do [ -e /sys/block/$d/size ] && { echo $(( $(cat /sys/block/$d/size) * 512 )); return; }; done; echo 0; }
# Text after "PVMARK:" in the first sector, restricted to a safe alphabet; empty when absent.
marker() {
  for d in "$@"; do
    [ -b /dev/$d ] || continue
    t=$(dd if=/dev/$d bs=512 count=1 2>/dev/null | tr -d '\000' | head -n 1)
    case "$t" in PVMARK:*) echo "${t#PVMARK:}" | tr -cd 'A-Za-z0-9._:-'; return;; esac
  done
}
while :; do
  # Configure NICs plugged in live, as a distro's hotplug handler would.
  nics_configure
  # Bring hotplugged vCPUs online, as a distro udev rule would.
  for c in /sys/devices/system/cpu/cpu[0-9]*/online; do
    [ "$(cat "$c" 2>/dev/null)" = 0 ] && echo 1 > "$c" 2>/dev/null
  done
  up=$(cut -d' ' -f1 /proc/uptime); up=${up%.*}
  mem=$(awk '/^MemTotal:/{print $2}' /proc/meminfo)
  cpus=$(grep -c '^processor' /proc/cpuinfo)
  # Every disk the guest sees now, for hot-plug tests: NAME=BYTES:SERIAL:MARKER (empty fields when none).
  disks=""
  for b in /sys/block/vd* /sys/block/xvd* /sys/block/sd*; do
    [ -e "$b/size" ] || continue
    d=${b##*/}; serial=""
    [ -r "$b/serial" ] && serial=$(tr -cd 'A-Za-z0-9_-' < "$b/serial")
    disks="$disks $d=$(( $(cat "$b/size") * 512 )):$serial:$(marker "$d")"
  done
  echo "PVDISKS$disks" > /dev/console
  echo "PVSTAT boot=$boot uptime=$up memtotal_kb=$mem cpus_online=$cpus vda_bytes=$(bytes vda xvda) vdb_bytes=$(bytes vdb xvdb) root_marker=$(marker vda xvda) marker=$(marker vdb xvdb) machine_id=$mid" > /dev/console
  sleep 1
done
