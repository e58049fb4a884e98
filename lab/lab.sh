#!/usr/bin/env bash
# The local lab: SSH "hosts" h1, h2, h3 made of network namespaces on this machine.
#   lab.sh up      create (or keep, when already healthy) the lab and write lab.json
#   lab.sh status  exit 0 iff every host answers SSH with the lab key and known_hosts
#   lab.sh down    remove everything up created (per-host state included); keeps the caches
# Conventions (addresses, paths, lab.json format) are the project's lab contract: change them only
# together with test/support/lab.ts.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
CACHE=${PULUMI_VIRT_CACHE:-/var/cache/pulumi-virt}
LAB_DIR=${PULUMI_VIRT_LAB_DIR:-/run/pulumi-virt-lab}
STATE_ROOT=/var/lib/pulumi-virt-lab
KEYS="$CACHE/lab"
LOCK="$KEYS/lab.lock"
OPS_USER=ops
ROOT_BRIDGE=pvlab0
ROOT_ADDR=10.77.0.1
HOST_BRIDGE=pvbr0
HOSTS=(h1 h2 h3)

# Per-host facts: index N gives 10.77.0.1N, guest subnet 10.77.10N.0/24.
host_index() { echo "${1#h}"; }
host_addr() { echo "10.77.0.1$(host_index "$1")"; }
host_name() { echo "pv-$1"; }
host_netns() { echo "pvlab-$1"; }
host_bridge_addr() { echo "10.77.10$(host_index "$1").1"; }
host_subnet() { echo "10.77.10$(host_index "$1").0/24"; }
host_libvirt() { [ "$1" = h3 ] && echo 0 || echo 1; }
host_veth() { echo "pvl-$1"; } # root-namespace end; the namespace end is eth0
host_dir() { echo "$LAB_DIR/hosts/$1"; }
host_state() { echo "$STATE_ROOT/$1"; }

log() { echo "lab: $*" >&2; }
t0=$EPOCHREALTIME
elapsed() { awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
die() { echo "lab: error: $*" >&2; exit 1; }

# ---------- health ----------

ssh_base() {
  ssh -F "$LAB_DIR/ssh_config" "$@"
}

# Prints the remote hostname of host $1 via SSH (h3 through h1, the only host it accepts).
remote_hostname() {
  local h=$1
  if [ "$h" = h3 ]; then
    ssh_base -J "root@$(host_addr h1)" "root@$(host_addr h3)" hostname
  else
    ssh_base "root@$(host_addr "$h")" hostname
  fi
}

# Quiet check used by up: 0 iff lab.json exists and every host answers with its own hostname.
lab_healthy() {
  [ -f "$LAB_DIR/lab.json" ] && [ -f "$LAB_DIR/ssh_config" ] || return 1
  local h jobs=()
  # In parallel: a fresh ssh client costs ~0.4 s, more on a loaded machine.
  for h in "${HOSTS[@]}"; do
    ( [ "$(remote_hostname "$h" 2>/dev/null)" = "$(host_name "$h")" ] ) &
    jobs+=($!)
  done
  local j ok=0
  for j in "${jobs[@]}"; do wait "$j" || ok=1; done
  return $ok
}

cmd_status() {
  if [ ! -f "$LAB_DIR/lab.json" ]; then
    echo "lab: down (no $LAB_DIR/lab.json); start it with: bash lab/lab.sh up"
    return 1
  fi
  local h got ok=0
  for h in "${HOSTS[@]}"; do
    if got=$(remote_hostname "$h" 2>/dev/null) && [ "$got" = "$(host_name "$h")" ]; then
      printf '%-3s %-6s %s:22  ok (hostname %s)\n' "$h" "$(host_name "$h")" "$(host_addr "$h")" "$got"
    else
      printf '%-3s %-6s %s:22  UNHEALTHY (ssh failed or wrong hostname: %s)\n' "$h" "$(host_name "$h")" "$(host_addr "$h")" "${got:-none}"
      ok=1
    fi
  done
  return $ok
}

# ---------- down ----------

netns_inode() { stat -L -c %i "/var/run/netns/$1" 2>/dev/null || true; }

# PIDs of every process living in network namespace $1 (by inode).
pids_in_netns() {
  local ino=$1
  [ -n "$ino" ] || return 0
  # One find, not a readlink per process: the scale lab (lab/scale.sh) runs this for 20 hosts at once.
  { find /proc -mindepth 3 -maxdepth 3 -path '/proc/[0-9]*/ns/net' -lname "net:\\[$ino\\]" 2>/dev/null || true; } | cut -d/ -f3
  return 0
}

# PIDs in the host's cgroup subtree (its containers, via lxc.cgroup.dir), across all v1/v2 mounts.
pids_in_host_cgroups() {
  local ns=$1 d
  for d in /sys/fs/cgroup/*/"$ns" /sys/fs/cgroup/"$ns"; do
    [ -d "$d" ] || continue
    find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null || true
  done | sort -u
}

kill_pids() {
  local sig=$1; shift
  [ $# -gt 0 ] || return 0
  kill "-$sig" "$@" 2>/dev/null || true
}

remove_host_cgroups() {
  local ns=$1 d
  for d in /sys/fs/cgroup/*/"$ns" /sys/fs/cgroup/"$ns"; do
    [ -d "$d" ] || continue
    # rmdir deepest first; cgroup directories only go away with rmdir.
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

stop_host() {
  local h=$1 ns pid ino i killed=""
  ns=$(host_netns "$h")
  pid=$(cat "$(host_dir "$h")/sshd.pid" 2>/dev/null || true)
  ino=$(netns_inode "$ns")
  # Only enter a process that really is this host's (a stale pid file may name a reused PID).
  if [ -n "$pid" ] && [ -n "$ino" ] && [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "net:[$ino]" ]; then
    # Containers and domains can only be stopped from inside the host that owns them
    # (LXC's command socket is per network namespace; libvirtd's socket per mount namespace).
    timeout 60 nsenter --target "$pid" --net --mount --uts -- sh -c '
      for c in $(lxc-ls --running 2>/dev/null); do lxc-stop -k -n "$c" >/dev/null 2>&1 || true; done
      if [ -S /run/libvirt/libvirt-sock ]; then
        for d in $(timeout 10 virsh -q -c qemu:///system list --name 2>/dev/null); do
          timeout 10 virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1 || true
        done
      fi' || log "$h: could not stop all containers/domains cleanly; killing them"
  fi
  for i in 1 2 3 4 5 6 7 8 9 10; do
    # shellcheck disable=SC2046
    set -- $(pids_in_netns "$ino") $(pids_in_host_cgroups "$ns")
    [ $# -eq 0 ] && break
    if [ "$i" -le 4 ]; then kill_pids TERM "$@"; else kill_pids KILL "$@"; fi
    killed="$killed $*"
    sleep 0.3
  done
  # A dying process leaves its namespaces before it is gone: wait until each is dead (or a zombie
  # waiting for PID 1 to reap it), so callers see nothing running when down returns.
  local p
  for p in $killed; do
    for i in $(seq 1 50); do
      { [ -d "/proc/$p" ] && [ "$(awk '/^State:/{print $2}' "/proc/$p/status" 2>/dev/null)" != Z ]; } || break
      sleep 0.1
    done
  done
  remove_host_cgroups "$ns"
}

detach_lab_loops() {
  [ -d "$STATE_ROOT" ] || return 0
  local dev majmin ino state_dev
  # A loop's backing-file path is recorded as seen from the mount namespace that attached it
  # (e.g. /var/lib/lxc/c1/rootdev inside a host), so match by device and inode instead.
  state_dev=$(stat -c '%Hd:%Ld' "$STATE_ROOT")
  while read -r dev majmin ino; do
    [ "$majmin" = "$state_dev" ] || continue
    if [ -n "$(find "$STATE_ROOT" -xdev -inum "$ino" -print -quit 2>/dev/null)" ]; then
      losetup -d "$dev" 2>/dev/null || log "could not detach $dev (still mounted somewhere?)"
    fi
  done < <(losetup --list --noheadings -O NAME,BACK-MAJ:MIN,BACK-INO 2>/dev/null || true)
}

cmd_down() {
  local h ns
  for h in "${HOSTS[@]}"; do stop_host "$h"; done
  detach_lab_loops
  for h in "${HOSTS[@]}"; do
    ns=$(host_netns "$h")
    ip route del "$(host_subnet "$h")" 2>/dev/null || true
    # Deleting the namespace takes its interfaces, bridge and iptables rules with it,
    # and a veth pair dies with either end.
    ip netns del "$ns" 2>/dev/null || true
    ip link del "$(host_veth "$h")" 2>/dev/null || true
  done
  ip link del "$ROOT_BRIDGE" 2>/dev/null || true
  # Per-host state goes too, so the next up starts from clean hosts. --one-file-system: never
  # descend into something still mounted there.
  if [ -d "$STATE_ROOT" ]; then rm -rf --one-file-system "$STATE_ROOT"; fi
  rm -rf "$LAB_DIR"
  log "down: lab removed (caches kept in $KEYS)"
}

# ---------- up ----------

ensure_keys_and_users() {
  mkdir -p "$KEYS/hostkeys"
  chmod 700 "$KEYS"
  [ -f "$KEYS/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C pulumi-virt-lab-root -f "$KEYS/id_ed25519"
  [ -f "$KEYS/ops_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C pulumi-virt-lab-ops -f "$KEYS/ops_ed25519"
  chmod 600 "$KEYS/id_ed25519" "$KEYS/ops_ed25519"
  local h
  for h in "${HOSTS[@]}"; do
    [ -f "$KEYS/hostkeys/${h}_ed25519" ] ||
      ssh-keygen -q -t ed25519 -N '' -C "pv-$h" -f "$KEYS/hostkeys/${h}_ed25519"
  done
  if [ ! -s "$KEYS/ops.password" ]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' > "$KEYS/ops.password")
  fi
  chmod 600 "$KEYS/ops.password"
  # Lab hosts share /etc/passwd with this machine, so the user lives here.
  id "$OPS_USER" >/dev/null 2>&1 || useradd -m -s /bin/bash "$OPS_USER"
  # chpasswd reads "user:password" on stdin: the password never appears in argv or logs.
  { printf '%s:' "$OPS_USER"; cat "$KEYS/ops.password"; echo; } | chpasswd
  # sudo that requires the password (the transport feeds it with sudo -S).
  local sudoers=/etc/sudoers.d/pulumi-virt-lab tmp
  tmp=$(mktemp)
  printf '# pulumi-virt lab: %s may run anything as root, with its password\nDefaults:%s lecture=never\n%s ALL=(ALL:ALL) ALL\n' \
    "$OPS_USER" "$OPS_USER" "$OPS_USER" > "$tmp"
  visudo -cqf "$tmp" || die "generated sudoers file is invalid"
  install -m 0440 "$tmp" "$sudoers"
  rm -f "$tmp"
  # Authorized keys must be readable by the user sshd checks them as.
  mkdir -p "$STATE_ROOT/authorized_keys"
  chmod 755 "$STATE_ROOT" "$STATE_ROOT/authorized_keys"
  install -m 0644 "$KEYS/id_ed25519.pub" "$STATE_ROOT/authorized_keys/root"
  install -m 0644 "$KEYS/ops_ed25519.pub" "$STATE_ROOT/authorized_keys/$OPS_USER"
}

setup_root_network() {
  ip link show "$ROOT_BRIDGE" >/dev/null 2>&1 || ip link add "$ROOT_BRIDGE" type bridge
  ip addr replace "$ROOT_ADDR/24" dev "$ROOT_BRIDGE"
  ip link set "$ROOT_BRIDGE" up
}

setup_host_network() {
  local h=$1 ns veth n other
  ns=$(host_netns "$h"); veth=$(host_veth "$h")
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$ROOT_BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$(host_addr "$h")/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$ROOT_ADDR"
  ip -n "$ns" link add "$HOST_BRIDGE" type bridge
  ip -n "$ns" addr add "$(host_bridge_addr "$h")/24" dev "$HOST_BRIDGE"
  ip -n "$ns" link set "$HOST_BRIDGE" up
  # Forwarding only inside the host namespace (host <-> its guests). The root namespace does not
  # forward, so nothing from the lab can leave this machine.
  nsenter --net="/var/run/netns/$ns" sysctl -qw net.ipv4.ip_forward=1
  ip route replace "$(host_subnet "$h")" via "$(host_addr "$h")"
  # Hosts reach each other's guests directly over the lab segment.
  for other in "${HOSTS[@]}"; do
    [ "$other" = "$h" ] && continue
    ip -n "$ns" route add "$(host_subnet "$other")" via "$(host_addr "$other")"
  done
  if [ "$h" = h3 ]; then
    # h3 is a bastion-only host: SSH only from h1.
    n="nsenter --net=/var/run/netns/$ns"
    $n iptables -A INPUT -p tcp --dport 22 -s "$(host_addr h1)" -j ACCEPT
    $n iptables -A INPUT -p tcp --dport 22 -j DROP
  fi
}

prepare_host_state() {
  local h=$1 st dir
  st=$(host_state "$h"); dir=$(host_dir "$h")
  mkdir -p "$dir" "$st"/{lxc,etc-lxc,run-lxc,run-libvirt,lib-libvirt,log-libvirt}
  if [ ! -d "$st/etc-libvirt" ]; then
    cp -a /etc/libvirt "$st/etc-libvirt"
    # No NAT network autostart: guests use the host's own bridge.
    rm -f "$st/etc-libvirt/qemu/networks/autostart/"*.xml
  fi
  # The cgroup tree is shared by all lab hosts: without lxc.cgroup.dir, two hosts' containers of
  # the same name would share (and fight over) one cgroup.
  cat > "$st/etc-lxc/default.conf" <<EOF
lxc.net.0.type = veth
lxc.net.0.link = $HOST_BRIDGE
lxc.net.0.flags = up
lxc.cgroup.dir = $(host_netns "$h")
EOF
  echo "$(host_name "$h")" > "$st/hostname"
  {
    echo "127.0.0.1 localhost"
    echo "127.0.1.1 $(host_name "$h")"
    echo "::1 localhost ip6-localhost ip6-loopback"
    local o
    for o in "${HOSTS[@]}"; do echo "$(host_addr "$o") $(host_name "$o")"; done
  } > "$st/hosts"
  cat > "$dir/sshd_config" <<EOF
ListenAddress $(host_addr "$h"):22
HostKey $KEYS/hostkeys/${h}_ed25519
PidFile $dir/sshd.pid
AuthorizedKeysFile $STATE_ROOT/authorized_keys/%u
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxSessions 10
MaxStartups 64:30:128
AllowAgentForwarding yes
AllowTcpForwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
}

start_host() {
  local h=$1 ns dir
  ns=$(host_netns "$h"); dir=$(host_dir "$h")
  rm -f "$dir/sshd.pid"
  # setsid + redirections: the host outlives this script and its terminal.
  setsid nsenter --net="/var/run/netns/$ns" \
    unshare --mount --uts --propagation private \
    /bin/bash "$here/host-init.sh" "$h" "$(host_name "$h")" "$(host_state "$h")" "$dir/sshd_config" "$(host_libvirt "$h")" "$KEYS/libvirt-cache/$h" "$ns" \
    </dev/null >"$dir/host.log" 2>&1 9>&- &
}

wait_host_ready() {
  local h=$1 ns dir i pid
  ns=$(host_netns "$h"); dir=$(host_dir "$h")
  for i in $(seq 1 100); do
    pid=$(cat "$dir/sshd.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && nsenter --net="/var/run/netns/$ns" ss -Hltn "sport = :22" | grep -q .; then
      echo "$pid"; return 0
    fi
    sleep 0.1
  done
  log "$h: sshd did not start; log follows"; tail -n 20 "$dir/host.log" >&2
  return 1
}

wait_libvirt_ready() {
  local h=$1 pid=$2 i
  for i in $(seq 1 60); do
    if nsenter --target "$pid" --net --mount --uts -- \
      timeout 5 virsh -q -c qemu:///system version >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  log "$h: libvirtd did not answer within 30 s (see $(host_dir "$h")/host.log)"
  return 1
}

write_client_files() {
  local h pub
  : > "$LAB_DIR/known_hosts"
  for h in "${HOSTS[@]}"; do
    pub=$(cut -d' ' -f1,2 "$KEYS/hostkeys/${h}_ed25519.pub")
    echo "$(host_addr "$h") $pub" >> "$LAB_DIR/known_hosts"
  done
  {
    cat <<EOF
# Client settings for the lab: ssh -F $LAB_DIR/ssh_config h1 (or root@10.77.0.11)
Host h1
  HostName $(host_addr h1)
Host h2
  HostName $(host_addr h2)
Host h3
  HostName $(host_addr h3)
  ProxyJump root@$(host_addr h1)
EOF
    ssh_config_defaults
  } > "$LAB_DIR/ssh_config"
}

# The client settings every lab host shares (this lab's and lab/scale.sh's): the lab key, strict pinning.
ssh_config_defaults() {
  cat <<EOF
Host *
  User root
  IdentityFile $KEYS/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $LAB_DIR/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
  LogLevel ERROR
EOF
}

json_host() {
  local h=$1 pid=$2 pubkey fp extra=""
  pubkey=$(cut -d' ' -f1,2 "$KEYS/hostkeys/${h}_ed25519.pub")
  fp=$(ssh-keygen -lf "$KEYS/hostkeys/${h}_ed25519.pub" | cut -d' ' -f2)
  [ "$h" = h3 ] && extra=', "bastionOnly": true, "via": "h1"'
  cat <<EOF
    { "name": "$h", "hostname": "$(host_name "$h")", "address": "$(host_addr "$h")", "port": 22, "user": "root",
      "privateKeyPath": "$KEYS/id_ed25519", "hostKey": "$pubkey", "hostKeyFingerprint": "$fp",
      "netns": "$(host_netns "$h")", "bridge": "$HOST_BRIDGE", "bridgeAddress": "$(host_bridge_addr "$h")",
      "guestSubnet": "$(host_subnet "$h")", "monitorPid": $pid, "libvirt": $([ "$(host_libvirt "$h")" = 1 ] && echo true || echo false),
      "stateDir": "$(host_state "$h")",
      "sudoUser": { "user": "$OPS_USER", "privateKeyPath": "$KEYS/ops_ed25519", "passwordFile": "$KEYS/ops.password" }$extra }
EOF
}

print_summary() {
  local h
  echo "pulumi-virt lab is up (lab.json: $LAB_DIR/lab.json)"
  echo "  root key:     $KEYS/id_ed25519   known_hosts: $LAB_DIR/known_hosts   ssh config: $LAB_DIR/ssh_config"
  echo "  sudo user:    $OPS_USER, key $KEYS/ops_ed25519, password file $KEYS/ops.password (sudo needs it)"
  for h in "${HOSTS[@]}"; do
    printf '  %s  %-6s root@%s:22  %s%s\n' "$h" "$(host_name "$h")" "$(host_addr "$h")" \
      "$(ssh-keygen -lf "$KEYS/hostkeys/${h}_ed25519.pub" | cut -d' ' -f2)" \
      "$([ "$h" = h3 ] && echo '  (only via h1: ssh -F '"$LAB_DIR"'/ssh_config h3)' || echo "  guests $(host_subnet "$h")")"
  done
}

cmd_up() {
  bash "$repo/scripts/ensure-packages.sh"
  if lab_healthy; then
    log "already up and healthy"
    print_summary
    return 0
  fi
  log "building the lab (checks done at $(elapsed) s)"
  cmd_down 2>/dev/null
  ensure_keys_and_users
  mkdir -p "$LAB_DIR"; chmod 700 "$LAB_DIR"
  write_client_files
  setup_root_network
  local h
  for h in "${HOSTS[@]}"; do
    setup_host_network "$h"
    prepare_host_state "$h"
  done
  for h in "${HOSTS[@]}"; do start_host "$h"; done
  declare -A pids
  for h in "${HOSTS[@]}"; do pids[$h]=$(wait_host_ready "$h"); done
  log "sshd of every host listening at $(elapsed) s"
  local failed=0
  for h in "${HOSTS[@]}"; do
    [ "$(host_libvirt "$h")" = 1 ] || continue
    wait_libvirt_ready "$h" "${pids[$h]}" || failed=1
  done
  log "libvirtd answering at $(elapsed) s"
  {
    echo '{ "hosts": ['
    local first=1
    for h in "${HOSTS[@]}"; do
      [ $first = 1 ] || echo ','
      first=0
      json_host "$h" "${pids[$h]}"
    done
    echo '] }'
  } > "$LAB_DIR/lab.json.tmp"
  mv "$LAB_DIR/lab.json.tmp" "$LAB_DIR/lab.json"
  lab_healthy || die "hosts started but SSH checks fail; see $LAB_DIR/hosts/*/host.log and: bash lab/lab.sh status"
  [ $failed = 0 ] || die "libvirtd is not answering on every host"
  log "up in $(elapsed) s"
  print_summary
}

with_lock() {
  mkdir -p "$(dirname "$LOCK")"
  exec 9>"$LOCK"
  # Several test files may call up at once: one builds, the others wait and then see it healthy.
  flock -w 300 9 || die "timed out waiting for another lab.sh (lock $LOCK)"
  "$@"
}

# Sourced (lab/scale.sh reuses these functions with its own hosts and paths): define, do not run.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then return 0; fi

[ "$(id -u)" = 0 ] || die "the lab needs root (network namespaces, mounts)"
case "${1:-}" in
  up) with_lock cmd_up ;;
  down) with_lock cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: lab.sh up|down|status" >&2; exit 2 ;;
esac
