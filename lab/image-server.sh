#!/usr/bin/env bash
# The lab's HTTP image server: lab hosts download test images from it (they have no route out).
#   image-server.sh up      build the served files if needed, start the server unless it already answers; prints its URL
#   image-server.sh status  exit 0 iff it answers
#   image-server.sh down    stop it (keeps the built files)
# It listens on the lab bridge's root-namespace address (pvlab0, 10.77.0.1), so it needs `lab.sh up` first; it is
# not part of lab.sh's health check. Served (built from lab/images/build-guest.sh's output, cached by its hash):
#   test-guest-a.qcow2       the test guest's base-a disk (first sector "PVMARK:base-a")
#   test-guest-b.qcow2.xz    base-b, xz-compressed ("PVMARK:base-b")
#   rootfs-busybox.tar.gz    a busybox-static rootfs for LXC whose /etc/pv-image reads "PVMARK:rootfs-busybox"
#   SHA256SUMS               sha256sum lines of the above
# State in /run/pulumi-virt-lab/image-server/: server.pid, server.log, requests.log (one JSON line per request),
# cut-next (a test writes a byte count: the next download is cut after that many bytes), slow-next (a rate in bytes
# per second for the next download). A changed server script gets a new served dir, so `up` restarts the server.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${PULUMI_VIRT_CACHE:-/var/cache/pulumi-virt}
LAB_DIR=${PULUMI_VIRT_LAB_DIR:-/run/pulumi-virt-lab}
STATE="$LAB_DIR/image-server"
ADDR=10.77.0.1
PORT=8077
URL="http://$ADDR:$PORT"

die() { echo "image-server: $*" >&2; exit 1; }

answers() { curl -fsS --max-time 3 -o /dev/null "$URL/SHA256SUMS" 2>/dev/null; }

# Builds the served directory once per guest image build; prints it.
build_www() {
  local img www tmp root
  img=$(bash "$here/images/build-guest.sh" | tail -n 1)
  www="$CACHE/image-server/$(basename "$img")-$(cat "$here/image-server.sh" "$here/image-server.js" | sha256sum | cut -c1-8)"
  [ -f "$www/SHA256SUMS" ] && { echo "$www"; return; }
  mkdir -p "$CACHE/image-server"
  tmp=$(mktemp -d "$CACHE/image-server/.build-XXXXXX")
  cp "$img/base-a.qcow2" "$tmp/test-guest-a.qcow2"
  xz -T1 -3 -c "$img/base-b.qcow2" > "$tmp/test-guest-b.qcow2.xz"
  root="$tmp/rootfs"
  mkdir -p "$root"/{bin,sbin,etc/init.d,proc,sys,dev,tmp,run,root,var/log}
  cp "$(command -v busybox)" "$root/bin/busybox"
  for a in sh ash ls cat echo mount umount ip ifconfig sleep ps hostname udhcpc syslogd true mkdir rm; do ln -s busybox "$root/bin/$a"; done
  ln -s ../bin/busybox "$root/sbin/init"
  printf '%s\n' '::sysinit:/etc/init.d/rcS' '::respawn:/bin/sleep 2147483647' > "$root/etc/inittab"
  printf '%s\n' '#!/bin/sh' 'mount -t proc proc /proc 2>/dev/null' 'mount -t sysfs sysfs /sys 2>/dev/null' > "$root/etc/init.d/rcS"
  chmod 0755 "$root/etc/init.d/rcS"
  printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
  printf 'root:x:0:\n' > "$root/etc/group"
  echo "PVMARK:rootfs-busybox" > "$root/etc/pv-image"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -czf "$tmp/rootfs-busybox.tar.gz" .
  rm -rf "$root"
  (cd "$tmp" && sha256sum test-guest-a.qcow2 test-guest-b.qcow2.xz rootfs-busybox.tar.gz > SHA256SUMS)
  chmod 0755 "$tmp"; chmod 0644 "$tmp"/*
  rm -rf "$www"; mv "$tmp" "$www"
  echo "$www"
}

stop_server() {
  local pid
  pid=$(cat "$STATE/server.pid" 2>/dev/null || true)
  # Only a process that really is our server (a stale pid file may name a reused PID).
  if [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "image-server.js"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$STATE/server.pid"
}

cmd_up() {
  ip -4 addr show dev pvlab0 2>/dev/null | grep -q "inet $ADDR/" || die "the lab is not up (no $ADDR on pvlab0): run bash lab/lab.sh up first"
  mkdir -p "$STATE"; chmod 0700 "$LAB_DIR" 2>/dev/null || true
  exec 8>"$STATE/.lock"
  flock -w 300 8 || die "another image-server.sh holds $STATE/.lock"
  local www
  www=$(build_www)
  if answers && [ "$(cat "$STATE/www" 2>/dev/null)" = "$www" ]; then echo "$URL"; return; fi
  stop_server
  command -v node >/dev/null || die "node not on PATH"
  echo "$www" > "$STATE/www"
  : > "$STATE/requests.log"
  rm -f "$STATE/cut-next"
  # 8>&-: the server must not inherit (and hold forever) the lock of this script.
  setsid node "$here/image-server.js" "$www" "$STATE" "$ADDR" "$PORT" >>"$STATE/server.log" 2>&1 < /dev/null 8>&- &
  for _ in $(seq 1 100); do answers && { echo "$URL"; return; }; sleep 0.1; done
  die "the server did not answer on $URL; see $STATE/server.log"
}

case "${1:-}" in
  up) cmd_up ;;
  status) answers && echo "image server: $URL ok" || { echo "image server: down"; exit 1; } ;;
  down) stop_server; echo "image server: stopped" ;;
  *) echo "usage: $0 up|status|down" >&2; exit 2 ;;
esac
