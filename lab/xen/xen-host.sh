#!/usr/bin/env bash
# Xen lab host: Xen 4.17 + a Debian dom0 running under QEMU TCG (this machine has no VT-x/AMD-V).
# dom0 boots a small busybox initramfs that 9p-mounts this machine's root read-only and chroots
# into it, so dom0 runs the host's own xl/xenstored/sshd and sees the same cache paths.
#
#   xen-host.sh up      boot (idempotent), wait for SSH, write $LAB_DIR/xen.json
#   xen-host.sh down    stop QEMU, remove the tap (idempotent)
#   xen-host.sh status  print xen.json and exit 0 if SSH answers, else exit 1
#
# Env: PULUMI_VIRT_CACHE (default /var/cache/pulumi-virt), PULUMI_VIRT_LAB_DIR (default /run/pulumi-virt-lab),
#      XEN_HOST_BOOT_TIMEOUT (seconds, default 240).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="${PULUMI_VIRT_CACHE:-/var/cache/pulumi-virt}"
LAB_DIR="${PULUMI_VIRT_LAB_DIR:-/run/pulumi-virt-lab}"
XDIR="$CACHE/xen"
# Runtime state (pid file, serial log, authorized key for dom0) lives outside LAB_DIR, which the
# namespace lab recreates from scratch on its own `up`.
RUNDIR="${PULUMI_VIRT_XEN_RUN:-/run/pulumi-virt-xen}/xen1"
BRIDGE=pvlab0
BRIDGE_CIDR=10.77.0.1/24
TAP=pvxen1
ADDR=10.77.0.20
MAC=52:54:00:4d:00:14
BOOT_TIMEOUT="${XEN_HOST_BOOT_TIMEOUT:-240}"
# Bump when dom0-init.sh or the module list changes, so the cached initrd is rebuilt.
INITRD_REV=3
MODULES=(virtio_pci virtio_net 9pnet_virtio 9p xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc xen-blkback xen-netback bridge loop)

log() { echo "xen-host: $*" >&2; }
die() { echo "xen-host: $*" >&2; exit 1; }

qemu_pid() {
  local p
  [ -f "$RUNDIR/qemu.pid" ] || return 1
  p=$(cat "$RUNDIR/qemu.pid")
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null && grep -q qemu "/proc/$p/comm" 2>/dev/null && echo "$p"
}

# --- cached artifacts -------------------------------------------------------------------------

ensure_xen_image() {
  [ -s "$XDIR/xen" ] && return 0
  [ -f /boot/xen-4.17-amd64.gz ] || die "/boot/xen-4.17-amd64.gz missing: run scripts/ensure-packages.sh"
  zcat /boot/xen-4.17-amd64.gz > "$XDIR/xen.tmp" && mv -f "$XDIR/xen.tmp" "$XDIR/xen"
}

# Resolve modules and their dependencies, dependencies first. The cached kernel package has no
# modules.dep (depmod never ran), so dependencies come from each module's own modinfo.
module_order() {
  local moddir=$1; shift
  local -A path=() seen=()
  local out=() f n
  while read -r f; do
    n=$(basename "$f"); n=${n%%.ko*}; path[${n//-/_}]=$f
  done < <(find "$moddir/kernel" -name '*.ko*')
  visit() {
    local name=${1//-/_} dep
    [ -n "${seen[$name]:-}" ] && return 0
    seen[$name]=1
    [ -n "${path[$name]:-}" ] || die "module $1 not found under $moddir"
    for dep in $(modinfo -F depends "${path[$name]}" | tr ',' ' '); do visit "$dep"; done
    out+=("${path[$name]}")
  }
  local m
  for m in "$@"; do visit "$m"; done
  printf '%s\n' "${out[@]}"
}

ensure_initrd() {
  local kdir ver moddir key tmp rel
  kdir=$(bash "$REPO/lab/images/fetch-kernel.sh")
  ver=$(cat "$kdir/version")
  key="$ver-r$INITRD_REV-$(cat "$HERE/dom0-init.sh" "$0" | sha256sum | cut -c1-12)"
  if [ -s "$XDIR/dom0-initrd.img" ] && [ "$(cat "$XDIR/dom0-initrd.key" 2>/dev/null)" = "$key" ]; then
    echo "$kdir"; return 0
  fi
  log "building dom0 initramfs ($key)"
  moddir="$kdir/lib/modules/$ver"
  tmp=$(mktemp -d)
  mkdir -p "$tmp"/{bin,sbin,proc,sys,dev,newroot,mods}
  cp /usr/bin/busybox "$tmp/bin/busybox"
  for a in sh mount umount mkdir insmod sleep cat echo ip chroot ls cp mknod hostname; do ln -s busybox "$tmp/bin/$a"; done
  local order
  order=$(module_order "$moddir" "${MODULES[@]}") || { rm -rf "$tmp"; die "cannot resolve dom0 modules"; }
  : > "$tmp/mods/order"
  while read -r rel; do
    cp "$rel" "$tmp/mods/"
    basename "$rel" >> "$tmp/mods/order"
  done <<< "$order"
  install -m 0755 "$HERE/dom0-init.sh" "$tmp/init"
  (cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) > "$XDIR/dom0-initrd.img.tmp"
  rm -rf "$tmp"
  mv -f "$XDIR/dom0-initrd.img.tmp" "$XDIR/dom0-initrd.img"
  echo "$key" > "$XDIR/dom0-initrd.key"
  echo "$kdir"
}

ensure_host_key() {
  [ -s "$XDIR/ssh_host_ed25519_key" ] && return 0
  ssh-keygen -q -t ed25519 -N '' -C xen1 -f "$XDIR/ssh_host_ed25519_key"
}

# The lab client key when the lab is up, else our own cached key (tests re-run `up` and pick up
# the lab key later: the key is re-read at every dom0 boot).
client_key() {
  local k=""
  if [ -f "$LAB_DIR/lab.json" ]; then
    k=$(node -e 'const l=require(process.argv[1]); const h=(l.hosts||[])[0]||{}; process.stdout.write(h.privateKeyPath||l.privateKeyPath||"")' "$LAB_DIR/lab.json" 2>/dev/null || true)
  fi
  if [ -z "$k" ] || [ ! -f "$k" ]; then
    k="$XDIR/client_ed25519"
    [ -s "$k" ] || ssh-keygen -q -t ed25519 -N '' -C pulumi-virt-xen-client -f "$k"
  fi
  [ -f "$k.pub" ] || ssh-keygen -y -f "$k" > "$k.pub"
  echo "$k"
}

ensure_network() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge 2>/dev/null || ip link show "$BRIDGE" >/dev/null
    ip addr replace "$BRIDGE_CIDR" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  if ! ip link show "$TAP" >/dev/null 2>&1; then
    ip tuntap add dev "$TAP" mode tap
  fi
  ip link set "$TAP" master "$BRIDGE"
  ip link set "$TAP" up
}

# The namespace lab deletes and recreates pvlab0 on its own down/up, which silently detaches our tap.
# While QEMU lives, a small watcher re-attaches the tap whenever pvlab0 exists (it never creates it).
start_tap_watcher() {
  local qpid=$1
  if [ -f "$RUNDIR/watcher.pid" ] && kill -0 "$(cat "$RUNDIR/watcher.pid")" 2>/dev/null; then return 0; fi
  setsid bash -c '
    qpid=$1 tap=$2 br=$3
    while kill -0 "$qpid" 2>/dev/null; do
      if ip link show "$br" >/dev/null 2>&1 && ! ip -o link show "$tap" 2>/dev/null | grep -q " master $br "; then
        ip link set "$tap" master "$br" 2>/dev/null && ip link set "$tap" up
      fi
      sleep 2
    done' xen-tap-watcher "$qpid" "$TAP" "$BRIDGE" </dev/null >/dev/null 2>&1 8>&- &
  echo $! > "$RUNDIR/watcher.pid"
}

ssh_opts() {
  echo "-i $1 -o UserKnownHostsFile=$RUNDIR/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR"
}

# Generous: on a loaded machine one SSH command to the TCG dom0 has taken 13 s, and a false
# "down" makes `up` reboot a healthy host.
ssh_ok() {
  # shellcheck disable=SC2046
  timeout 45 ssh $(ssh_opts "$1") "root@$ADDR" true 2>/dev/null
}

write_json() {
  local key=$1 pid=$2 hostkey fp
  hostkey=$(cut -d' ' -f1,2 "$XDIR/ssh_host_ed25519_key.pub")
  fp=$(ssh-keygen -l -E sha256 -f "$XDIR/ssh_host_ed25519_key.pub" | awk '{print $2}')
  node -e '
    const [file, key, hostKey, fp, pid, addr, bootMs] = process.argv.slice(1);
    const doc = { hosts: [{ name: "xen1", address: addr, port: 22, user: "root", privateKeyPath: key,
      hostKey, hostKeyFingerprint: fp, qemuPid: Number(pid), kind: "xen",
      bootToSshMs: bootMs ? Number(bootMs) : undefined }] };
    require("fs").writeFileSync(file + ".tmp", JSON.stringify(doc, null, 2) + "\n");
    require("fs").renameSync(file + ".tmp", file);
  ' "$LAB_DIR/xen.json" "$key" "$hostkey" "$fp" "$pid" "$ADDR" "${3:-}"
}

# --- commands ---------------------------------------------------------------------------------

cmd_up() {
  mkdir -p "$XDIR" "$RUNDIR" "$LAB_DIR"
  exec 8>"$XDIR/.up.lock"
  flock 8
  local key pid kdir t0 t1
  key=$(client_key)
  ensure_host_key
  echo "$ADDR $(cut -d' ' -f1,2 "$XDIR/ssh_host_ed25519_key.pub")" > "$RUNDIR/known_hosts"
  # dom0 reads this at boot through the 9p root export.
  cp "$key.pub" "$RUNDIR/authorized_keys"
  if pid=$(qemu_pid); then
    ensure_network
    start_tap_watcher "$pid"
    if ssh_ok "$key"; then write_json "$key" "$pid"; log "already up (qemu pid $pid)"; return 0; fi
    log "qemu $pid runs but SSH does not answer; restarting"
    cmd_down
  fi
  ensure_xen_image
  kdir=$(ensure_initrd)
  ensure_network
  rm -f "$RUNDIR/serial.log"
  t0=$(date +%s%N)
  # The CPU model: qemu64, not max. Under `-cpu max,-smap,-smep` (TCG) processes in PV domains crashed at random,
  # in dom0 (virsh, sh, a libxl heap abort) and in the guests (busybox), mostly while block backends were busy: 8
  # segmentation faults on one guest's console in one run of the disk test, two failed CI runs. With qemu64
  # none in repeated runs, and the Xen tier ran in 5 min instead of 6-8. PV_XEN_CPU overrides it (experiments).
  qemu-system-x86_64 -name xen1 -accel tcg -cpu "${PV_XEN_CPU:-qemu64}" -m 1536 -smp 2 \
    -kernel "$XDIR/xen" \
    -append 'console=com1 com1=115200,8n1 dom0_mem=512M,max:512M noreboot' \
    -initrd "$kdir/vmlinuz console=hvc0 pvlab.addr=$ADDR/24 pvlab.run=$RUNDIR pvlab.hostkey=$XDIR/ssh_host_ed25519_key,$XDIR/dom0-initrd.img" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on \
    -netdev tap,id=n0,ifname="$TAP",script=no,downscript=no \
    -device virtio-net-pci,netdev=n0,mac="$MAC" \
    -display none -monitor none -serial "file:$RUNDIR/serial.log" -no-reboot \
    -daemonize -pidfile "$RUNDIR/qemu.pid" 8>&-
  pid=$(cat "$RUNDIR/qemu.pid")
  start_tap_watcher "$pid"
  log "qemu pid $pid; waiting for SSH on $ADDR (serial log $RUNDIR/serial.log)"
  local deadline=$(( $(date +%s) + BOOT_TIMEOUT ))
  until ssh_ok "$key"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$RUNDIR/serial.log" >&2 || true
      die "QEMU exited before dom0 answered SSH"
    fi
    if grep -aq 'dom0-init: FATAL' "$RUNDIR/serial.log" 2>/dev/null; then
      tail -n 20 "$RUNDIR/serial.log" >&2; cmd_down; die "dom0 init failed"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 40 "$RUNDIR/serial.log" >&2 || true
      die "dom0 did not answer SSH within ${BOOT_TIMEOUT}s; see $RUNDIR/serial.log"
    fi
    sleep 1
  done
  t1=$(date +%s%N)
  local ms=$(( (t1 - t0) / 1000000 ))
  write_json "$key" "$pid" "$ms"
  log "up: boot-to-SSH ${ms} ms; $LAB_DIR/xen.json"
}

cmd_down() {
  local pid
  if pid=$(qemu_pid); then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    log "stopped qemu $pid"
  fi
  if [ -f "$RUNDIR/watcher.pid" ]; then kill "$(cat "$RUNDIR/watcher.pid")" 2>/dev/null || true; fi
  rm -f "$RUNDIR/qemu.pid" "$RUNDIR/watcher.pid" "$LAB_DIR/xen.json"
  if ip link show "$TAP" >/dev/null 2>&1; then ip link del "$TAP"; fi
}

cmd_status() {
  local pid key
  pid=$(qemu_pid) || { echo "xen1: down"; return 1; }
  [ -f "$LAB_DIR/xen.json" ] || { echo "xen1: qemu $pid running, no xen.json"; return 1; }
  key=$(node -e 'process.stdout.write(require(process.argv[1]).hosts[0].privateKeyPath)' "$LAB_DIR/xen.json")
  if ssh_ok "$key"; then echo "xen1: up (qemu pid $pid, $ADDR)"; cat "$LAB_DIR/xen.json"; return 0; fi
  echo "xen1: qemu $pid running, SSH not answering"; return 1
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
