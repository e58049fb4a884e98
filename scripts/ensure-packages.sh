#!/usr/bin/env bash
# Installs the Debian packages the lab and tests need, only when something is missing.
# Idempotent: a second run with everything present does no apt work at all.
set -euo pipefail
PKGS=(
  openssh-server openssh-client iproute2 iptables procps psmisc util-linux kmod
  lxc lxc-templates busybox-static debootstrap rsync xfsprogs btrfs-progs
  qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu
  netcat-openbsd dnsmasq-base cpio xz-utils gzip genisoimage sudo shellcheck dropbear-bin
  xen-hypervisor-4.17-amd64 xen-utils-4.17
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-packages: missing Debian packages: ${missing[*]}; run as root or install them: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "ensure-packages: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d keeps package scripts from starting daemons (PID 1 is not systemd here; the lab starts its own).
if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi
apt-get update -qq || true
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
