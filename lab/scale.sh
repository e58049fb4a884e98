#!/usr/bin/env bash
# The scale lab: N lightweight SSH "hosts" s1..sN (network namespace + sshd + private LXC state each, no
# libvirt), for fleet-sized benchmarks (bench P6). Separate from the normal lab (h1-h3 keep running, untouched):
# own root bridge, addresses, state dirs, lab json and lock.
#   scale.sh up N    create N hosts (1-50), replacing a scale lab of another size; a healthy one of N is kept
#   scale.sh status  exit 0 iff every host of the scale lab answers SSH with its own hostname
#   scale.sh down    stop every container of the scale hosts and remove them (caches kept)
# It reuses lab/lab.sh's functions (sourced) and lab/host-init.sh; only the per-host facts and paths differ.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab/lab.sh
source "$here/lab.sh"

LAB_DIR=${PULUMI_VIRT_SCALE_LAB_DIR:-/run/pulumi-virt-lab-scale}
STATE_ROOT=/var/lib/pulumi-virt-lab-scale
LOCK="$KEYS/scale.lock"
ROOT_BRIDGE=pvscale0
ROOT_ADDR=10.77.200.1
MAX_HOSTS=50
HOSTS=()

# Per-host facts: sN is 10.77.200.(10+N) on pvscale0, its own bridge pvbr0 10.77.(200+N).1/24.
# Namespace and cgroup subtree (pvscale-sN: host-init.sh and lxc.cgroup.dir take the namespace's name) and the
# veth (pvs-sN) have a prefix of their own, disjoint from the normal lab's pvlab-hN / pvl-hN / pvlab0: neither
# lab's down matches the other's hosts, and the normal lab's checks for leftover pvlab-* names never see these.
host_index() { echo "${1#s}"; }
host_netns() { echo "pvscale-$1"; }
host_veth() { echo "pvs-$1"; }
host_addr() { echo "10.77.200.$((10 + $(host_index "$1")))"; }
host_bridge_addr() { echo "10.77.$((200 + $(host_index "$1"))).1"; }
host_subnet() { echo "10.77.$((200 + $(host_index "$1"))).0/24"; }
host_libvirt() { echo 0; }

log() { echo "scale-lab: $*" >&2; }
die() { echo "scale-lab: error: $*" >&2; exit 1; }

# Hosts that exist now (namespaces named pvscale-sN), whatever size the last up had.
existing_hosts() {
  ip netns list 2>/dev/null | awk '{print $1}' | sed -n 's/^pvscale-\(s[0-9][0-9]*\)$/\1/p' | sort -t s -k 2 -n
}

write_scale_client_files() {
  local h pub
  : > "$LAB_DIR/known_hosts"
  {
    echo "# Client settings for the scale lab: ssh -F $LAB_DIR/ssh_config s1"
    for h in "${HOSTS[@]}"; do
      pub=$(cut -d' ' -f1,2 "$KEYS/hostkeys/${h}_ed25519.pub")
      echo "$(host_addr "$h") $pub" >> "$LAB_DIR/known_hosts"
      printf 'Host %s\n  HostName %s\n' "$h" "$(host_addr "$h")"
    done
    ssh_config_defaults
  } > "$LAB_DIR/ssh_config"
}

# Keys only: the root key and the ops user come from the normal lab's cache (lab.sh up makes them).
ensure_scale_keys() {
  [ -f "$KEYS/id_ed25519" ] || die "no lab key in $KEYS: run bash lab/lab.sh up once first"
  local h
  for h in "${HOSTS[@]}"; do
    [ -f "$KEYS/hostkeys/${h}_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "pv-$h" -f "$KEYS/hostkeys/${h}_ed25519"
  done
  mkdir -p "$STATE_ROOT/authorized_keys"
  chmod 755 "$STATE_ROOT" "$STATE_ROOT/authorized_keys"
  install -m 0644 "$KEYS/id_ed25519.pub" "$STATE_ROOT/authorized_keys/root"
}

scale_down() {
  mapfile -t HOSTS < <(existing_hosts)
  local h
  # Each host is stopped from inside (its containers live in its own network namespace); in parallel.
  for h in "${HOSTS[@]}"; do stop_host "$h" & done
  wait
  detach_lab_loops
  for h in "${HOSTS[@]}"; do
    ip route del "$(host_subnet "$h")" 2>/dev/null || true
    ip netns del "$(host_netns "$h")" 2>/dev/null || true
    ip link del "$(host_veth "$h")" 2>/dev/null || true
  done
  ip link del "$ROOT_BRIDGE" 2>/dev/null || true
  if [ -d "$STATE_ROOT" ]; then rm -rf --one-file-system "$STATE_ROOT"; fi
  rm -rf "$LAB_DIR"
  log "down: ${#HOSTS[@]} hosts removed in $(elapsed) s"
}

scale_up() {
  local n=$1 h
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le "$MAX_HOSTS" ] || die "up takes a host count 1-$MAX_HOSTS; got '$n'"
  HOSTS=()
  for h in $(seq 1 "$n"); do HOSTS+=("s$h"); done
  if [ "$(existing_hosts | wc -l)" = "$n" ] && lab_healthy; then
    log "already up with $n hosts and healthy"
    return 0
  fi
  scale_down 2>/dev/null
  HOSTS=()
  for h in $(seq 1 "$n"); do HOSTS+=("s$h"); done
  ensure_scale_keys
  mkdir -p "$LAB_DIR"; chmod 700 "$LAB_DIR"
  write_scale_client_files
  setup_root_network
  # Hosts are independent: set them up side by side (one after another costs ~0.5 s each).
  local jobs=() j
  for h in "${HOSTS[@]}"; do
    { setup_host_network "$h" && prepare_host_state "$h" && start_host "$h"; } &
    jobs+=($!)
  done
  for j in "${jobs[@]}"; do wait "$j" || die "setting up a host failed"; done
  log "hosts set up at $(elapsed) s"
  declare -A pids
  for h in "${HOSTS[@]}"; do pids[$h]=$(wait_host_ready "$h"); done
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
  log "sshd of every host listening at $(elapsed) s"
  lab_healthy || die "hosts started but SSH checks fail; see $LAB_DIR/hosts/*/host.log"
  log "up: $n hosts in $(elapsed) s (lab json: $LAB_DIR/lab.json)"
}

scale_status() {
  mapfile -t HOSTS < <(existing_hosts)
  if [ ! -f "$LAB_DIR/lab.json" ] || [ ${#HOSTS[@]} = 0 ]; then
    echo "scale lab: down; start it with: bash lab/scale.sh up N"
    return 1
  fi
  if lab_healthy; then echo "scale lab: ${#HOSTS[@]} hosts up and healthy ($LAB_DIR/lab.json)"; return 0; fi
  echo "scale lab: ${#HOSTS[@]} hosts, some UNHEALTHY (see $LAB_DIR/hosts/*/host.log)"
  return 1
}

[ "$(id -u)" = 0 ] || die "the scale lab needs root (network namespaces, mounts)"
case "${1:-}" in
  up) with_lock scale_up "${2:-}" ;;
  down) with_lock scale_down ;;
  status) scale_status ;;
  *) echo "usage: scale.sh up N|down|status" >&2; exit 2 ;;
esac
