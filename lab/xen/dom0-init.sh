#!/bin/sh
# /init of the Xen lab dom0 (busybox). Loads 9p + Xen backend modules, mounts the lab machine's
# root read-only over 9p, puts tmpfs wherever dom0 must write, chroots and starts the Xen
# daemons and sshd. Its output goes to hvc0 -> Xen console -> QEMU serial log.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "dom0-init: loading modules"
for m in $(cat /mods/order); do insmod "/mods/$m" || echo "dom0-init: insmod $m failed"; done

arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1="*) echo "${w#*=}";; esac; done; }
ADDR=$(arg pvlab.addr)
RUN=$(arg pvlab.run)
HOSTKEY=$(arg pvlab.hostkey)

R=/newroot
# cache=mmap keeps mapped pages cached (faster exec under TCG). cache=loose broke the mounts made
# below on 9p directories: they were not visible after chroot (/proc/xen missing).
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=mmap hostroot "$R"; then
  echo "dom0-init: FATAL cannot mount hostroot over 9p"; sleep 5; poweroff -f
fi
# Read what dom0 needs from the lab machine's /run before tmpfs hides it.
cp "$R$RUN/authorized_keys" /authorized_keys || echo "dom0-init: no authorized_keys in $RUN"
mount --move /proc "$R/proc"
mount --move /sys "$R/sys"
mount --move /dev "$R/dev"
mkdir -p "$R/dev/pts" 2>/dev/null
mount -t devpts devpts "$R/dev/pts" -o gid=5,mode=620 2>/dev/null
mount -t tmpfs tmpfs "$R/dev/shm" 2>/dev/null
for d in /run /tmp /var/tmp /var/lib/xen /var/lib/misc /var/log /root; do
  mount -t tmpfs -o mode=0755 tmpfs "$R$d"
done
chmod 1777 "$R/tmp" "$R/var/tmp"
chmod 0700 "$R/root"
# /etc/xen must stay populated (hotplug scripts) yet writable for the provider's configs.
mkdir -p /etcxen && cp -a "$R/etc/xen/." /etcxen/
mount -t tmpfs -o mode=0755 tmpfs "$R/etc/xen"
cp -a /etcxen/. "$R/etc/xen/"
mkdir -p "$R/etc/xen/pulumi-virt"
mkdir -p "$R/run/lock" "$R/run/sshd" "$R/run/xen" "$R/run/xenstored" "$R/run/pvlab" \
  "$R/var/lib/xen/xenstored" "$R/var/lib/xen/dump" "$R/var/log/xen/console" "$R/root/.ssh"
cp /authorized_keys "$R/root/.ssh/authorized_keys"
chmod 0600 "$R/root/.ssh/authorized_keys"

hostname xen1
ip link set lo up
ip link set eth0 up
[ -n "$ADDR" ] && ip addr add "$ADDR" dev eth0
# A bridge for guests' vifs (no uplink: guest networking stays inside dom0, reached through dom0 as SSH proxy),
# with dom0's address on it for the DHCP server below.
ip link add xenbr0 type bridge 2>/dev/null && ip link set xenbr0 up
ip addr add 10.77.120.1/24 dev xenbr0

echo "dom0-init: chroot"
exec chroot "$R" /bin/sh -c '
  set -u
  RUN=$1
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
  mount -t xenfs xenfs /proc/xen
  XENSTORED_ROOTDIR=/var/lib/xen/xenstored /usr/sbin/xenstored --pid-file=/run/xenstored.pid
  for i in $(seq 1 50); do xenstore-read / >/dev/null 2>&1 && break; sleep 0.1; done
  /usr/lib/xen-4.17/bin/xen-init-dom0 || echo "dom0-init: xen-init-dom0 failed"
  /usr/sbin/xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
  # sshd host key: generated once on the lab machine, cached; sshd wants it private.
  install -m 0600 "$2" /run/pvlab/ssh_host_ed25519_key
  cat > /run/pvlab/sshd_config <<EOF
ListenAddress 0.0.0.0
HostKey /run/pvlab/ssh_host_ed25519_key
PidFile /run/pvlab/sshd.pid
AuthorizedKeysFile /root/.ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
MaxSessions 64
MaxStartups 64:30:128
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  /usr/sbin/sshd -f /run/pvlab/sshd_config -E /var/log/sshd.log
  # DHCP for guests on xenbr0 (no DNS); leases where Debian keeps them, which the provider reads.
  /usr/sbin/dnsmasq --conf-file=/dev/null --port=0 --bind-interfaces --interface=xenbr0 --except-interface=lo \
    --user=root --group=root --dhcp-range=10.77.120.100,10.77.120.199,255.255.255.0,1h --dhcp-authoritative \
    --dhcp-leasefile=/var/lib/misc/dnsmasq.xenbr0.leases --pid-file=/run/pvlab/dnsmasq.pid \
    --log-facility=/var/log/dnsmasq.log || echo "dom0-init: dnsmasq failed"
  echo "dom0-init: ready"
  # PID 1 must not exit; reap orphans.
  while :; do sleep 3600; done
' sh "$RUN" "$HOSTKEY"
