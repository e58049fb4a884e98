# Creates the container's rootfs. $1 name, $2 kind (busybox|debian|tarball), $3 release or tarball path,
# $4 fstype ("" = directory rootfs), $5 size MiB, $6 1 = adopt an existing container not created by us,
# $7 the owning resource's token, $8 1 = a resumed create of a resource from before tokens, $9 the resource's
# stack-and-name key. stdin (optional): the SSH host key pulumi-virt generated, as its public line, a public key
# root may log in with (or an empty line), then the private key; installed into a rootfs this script creates.
# Leftovers of an interrupted create (marker ".pulumi-virt-creating" without ".pulumi-virt-created") are removed
# first, so a retry starts clean. Prints created | already-created | adopted.
set -eu

. ./release-image.sh


. ./loop-lock.sh

n=$1; kind=$2; arg=$3; fs=$4; size=$5; adopt=${6:-0}; tok=${7:-}; legacy=${8:-0}; key=${9:-}
kpub=; klogin=; kpriv=
if IFS= read -r kpub; then IFS= read -r klogin || true; kpriv=$(cat); fi
LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null) || true; [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
d="$LXCPATH/$n"
# The host's register of containers pulumi-virt manages (REGISTER_DIR in scripts.ts): a container that exists but is not
# registered belongs to someone else, whatever markers it carries; registering it first lets a create that is
# interrupted anywhere after this point be resumed.
R="$LXCPATH/.pulumi-virt"
if [ -f "$d/config" ] && [ ! -e "$R/$n" ] && [ "$adopt" != 1 ]; then
  echo "container $n already exists and was not created by pulumi-virt; destroy it (lxc-destroy -n $n) or set adopt" >&2; exit 3
fi
# Each registration holds the owning resource's token and the key of its stack and name: a name registered to
# another resource (another stack, or another resource with this name) is not ours to resume. The same key is this
# very resource, whose earlier create the engine never recorded (the CLI was killed): that create is resumed. An
# empty registration is from a release before tokens: a create that release left unfinished (never configured: no
# managed block) is resumed as it was then; a finished one only by its own resource (legacy=1) or with adopt.
owner=; okey=; registered=0
if [ -f "$R/$n" ]; then registered=1; read -r owner okey < "$R/$n" || true; fi
if [ "$registered" = 1 ] && [ "$adopt" != 1 ] && [ "$owner" != "$tok" ] && { [ -z "$key" ] || [ "$okey" != "$key" ]; }; then
  if [ -n "$owner" ] || { [ "$legacy" != 1 ] && grep -q '^# BEGIN pulumi-virt' "$d/config" 2>/dev/null; }; then
    echo "container $n is managed by another pulumi-virt resource (another stack, or another resource with this name); choose another name, or set adopt to take it over" >&2; exit 6
  fi
fi
mkdir -p "$R"; printf '%s %s\n' "$tok" "$key" > "$R/$n"
if [ -f "$d/.pulumi-virt-created" ]; then echo already-created; exit 0; fi
if [ -f "$d/config" ] && [ ! -f "$d/.pulumi-virt-creating" ] && [ "$adopt" = 1 ]; then
  : > "$d/.pulumi-virt-created"; echo adopted; exit 0
fi
if [ -f "$d/config" ] && [ ! -f "$d/.pulumi-virt-creating" ]; then
  echo "container $n already exists and was not created by pulumi-virt; destroy it (lxc-destroy -n $n) or set adopt" >&2; exit 3
fi
if [ -d "$d" ]; then
  lxc-stop -n "$n" -k >/dev/null 2>&1 || true
  release_image "$d/rootdev"
  lxc-destroy -n "$n" >/dev/null 2>&1 || true
  rm -rf "$d"
fi
# Templates report their errors on stdout: keep the tail for the error message.
quiet() { out=$("$@" 2>&1) && return 0; printf '%s\n' "$out" | tail -n 15 >&2; return 1; }
# The templates' network setup runs DHCP in the foreground at boot: that flushes the static address
# LXC configured and holds boot up (busybox init then ignores the halt signal; Debian waits ~60 s).
# DHCP only when LXC set no address, in the background.
patch_rootfs() {
  case $kind in
    busybox) printf '%s\n' '#!/bin/sh' '/bin/syslogd' '/bin/mount -a'       'ip -4 addr show dev eth0 2>/dev/null | grep -q inet || { /bin/udhcpc -b -i eth0 >/dev/null 2>&1 & }' > "$1/etc/init.d/rcS" ;;
    debian) printf '%s\n' 'auto lo' 'iface lo inet loopback' '' 'auto eth0' 'iface eth0 inet manual'       '    up ip -4 addr show dev eth0 | grep -q inet || dhclient -nw eth0' > "$1/etc/network/interfaces" ;;
  esac
}
# The host key pulumi-virt pins the container's connection to, as OpenSSH's ed25519 host key; every other host key
# goes, so the server offers only that one. Root may log in with the given key (the connection's).
install_ssh_keys() {
  [ -n "$kpub" ] || return 0
  r=$1
  # The rootfs comes from a template or a tarball: a symlink in it could aim these writes at the host's own files.
  for p in etc etc/ssh root root/.ssh root/.ssh/authorized_keys; do
    if [ -L "$r/$p" ]; then echo "the container's rootfs has /$p as a symlink: pulumi-virt does not install its SSH host key through one" >&2; return 7; fi
  done
  mkdir -p "$r/etc/ssh" || return 7
  for f in "$r"/etc/ssh/ssh_host_*; do if [ -e "$f" ] || [ -L "$f" ]; then rm -f "$f" || return 7; fi; done
  ( umask 077; printf '%s\n' "$kpriv" > "$r/etc/ssh/ssh_host_ed25519_key" ) || return 7
  printf '%s\n' "$kpub" > "$r/etc/ssh/ssh_host_ed25519_key.pub" || return 7
  [ -n "$klogin" ] || return 0
  mkdir -p "$r/root/.ssh" && chmod 700 "$r/root/.ssh" || return 7
  grep -qxF "$klogin" "$r/root/.ssh/authorized_keys" 2>/dev/null || printf '%s\n' "$klogin" >> "$r/root/.ssh/authorized_keys" || return 7
  chmod 600 "$r/root/.ssh/authorized_keys"
}
# Runs FN on the mounted loop image $1 and unmounts it, whatever FN returns.
on_image() { img_=$1; shift; m=$(mktemp -d); mount -o loop "$img_" "$m"; rc_=0; "$@" "$m" || rc_=$?; umount "$m"; rmdir "$m"; return $rc_; }
rootfs_ready() { patch_rootfs "$1"; install_ssh_keys "$1"; }
mkdir -p "$d"
: > "$d/.pulumi-virt-creating"
[ -z "$fs" ] || loop_lock
case $kind in
  busybox|debian)
    if [ -n "$fs" ]; then set -- -B loop --fstype "$fs" --fssize "${size}M"; else set -- -B dir; fi
    if [ "$kind" = busybox ]; then quiet lxc-create -n "$n" -t busybox "$@"
    else quiet lxc-create -n "$n" -t debian "$@" -- -r "$arg"; fi
    if [ -n "$fs" ]; then on_image "$d/rootdev" rootfs_ready
    else rootfs_ready "$d/rootfs"; fi ;;
  tarball)
    [ -f "$arg" ] || { echo "tarball $arg not found on the host; copy it there first" >&2; exit 4; }
    quiet lxc-create -n "$n" -t none
    if [ -n "$fs" ]; then
      img="$d/rootdev"
      truncate -s "${size}M" "$img"
      "mkfs.$fs" -q "$img" >/dev/null 2>&1 || "mkfs.$fs" "$img" >/dev/null
      m=$(mktemp -d); mount -o loop "$img" "$m"
      tar -xf "$arg" -C "$m" || { umount "$m"; rmdir "$m"; exit 5; }
      install_ssh_keys "$m" || { umount "$m"; rmdir "$m"; exit 7; }
      umount "$m"; rmdir "$m"
      rootfs="loop:$img"
    else
      mkdir -p "$d/rootfs"; tar -xf "$arg" -C "$d/rootfs"; install_ssh_keys "$d/rootfs" || exit 7; rootfs="$d/rootfs"
    fi
    printf '%s\n' "lxc.include = /usr/share/lxc/config/common.conf" "lxc.rootfs.path = $rootfs" "lxc.uts.name = $n" "lxc.autodev = 1" >> "$d/config" ;;
  *) echo "unknown template kind $kind" >&2; exit 2 ;;
esac
loop_unlock
: > "$d/.pulumi-virt-created"
echo created
