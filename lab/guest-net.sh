#!/usr/bin/env bash
# Guest networking on the lab hosts' guest bridge (pvbr0) of h1 and h2, on top of a lab that lab.sh brought up:
#   - DHCP (dnsmasq, no DNS) for 10.77.10N.100-199, the host (10.77.10N.1) as router; leases in the host's own
#     /var/lib/libvirt/dnsmasq/pvbr0.leases (a per-host directory: see host-init.sh), where the provider reads them
#   - an IPv6 ULA on the bridge (fd77:10N::1/64), so the host reaches its guests' static IPv6 addresses
# The root namespace already routes each guest subnet via its host (lab.sh), and each host forwards between its
# uplink and pvbr0, so the test process reaches h1's and h2's guests. Nothing here leaves the lab's namespaces.
#   guest-net.sh up      idempotent: starts what is missing, keeps what runs
#   guest-net.sh status  exit 0 iff every dnsmasq runs
# Separate from lab.sh on purpose: lab.sh's health check stays as it is (other worktrees run their own lab.sh).
# A lab.sh down kills dnsmasq with the host's namespace; the next `up` here starts it again.
set -euo pipefail
LAB_DIR=${PULUMI_VIRT_LAB_DIR:-/run/pulumi-virt-lab}
HOSTS=(h1 h2)

host_index() { echo "${1#h}"; }
host_dir() { echo "$LAB_DIR/hosts/$1"; }
host_netns() { echo "pvlab-$1"; }
die() { echo "guest-net: error: $*" >&2; exit 1; }

# The host's first process (its sshd): entering its namespaces is entering the host.
host_pid() {
  local h=$1 pid ino
  pid=$(cat "$(host_dir "$h")/sshd.pid" 2>/dev/null) || return 1
  ino=$(stat -L -c %i "/var/run/netns/$(host_netns "$h")" 2>/dev/null) || return 1
  [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "net:[$ino]" ] || return 1
  echo "$pid"
}

dnsmasq_running() {
  local h=$1 pid
  pid=$(cat "$(host_dir "$h")/dnsmasq.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/sbin/dnsmasq ] || return 1
  [ "$(readlink "/proc/$pid/ns/net")" = "$(readlink "/proc/$(host_pid "$h")/ns/net")" ]
}

# A daemon started here must not keep any descriptor it inherited: a caller running under
# `flock /tmp/pv-lab.lock` would otherwise leave the shared lab lock held by dnsmasq for as long as it runs.
close_inherited_fds() {
  local fd
  for fd in "/proc/$BASHPID/fd/"*; do
    fd=${fd##*/}
    [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
  done
  return 0
}

up_host() {
  local h=$1 n pid
  n=$(host_index "$h")
  pid=$(host_pid "$h") || die "lab host $h is not up: run bash lab/lab.sh up first"
  local enter=(nsenter --target "$pid" --net --mount --)
  "${enter[@]}" ip -6 addr replace "fd77:10$n::1/64" dev pvbr0 nodad
  "${enter[@]}" sysctl -qw net.ipv6.conf.all.forwarding=1
  dnsmasq_running "$h" && return 0
  "${enter[@]}" mkdir -p /var/lib/libvirt/dnsmasq
  # --port=0: DHCP only. --bind-interfaces: answers on pvbr0 only, beside anything else on the host.
  ( close_inherited_fds; exec "${enter[@]}" /usr/sbin/dnsmasq --conf-file=/dev/null --port=0 --bind-interfaces --interface=pvbr0 \
    --except-interface=lo --user=root --group=root \
    --dhcp-range="10.77.10$n.100,10.77.10$n.199,255.255.255.0,1h" --dhcp-authoritative \
    --dhcp-leasefile=/var/lib/libvirt/dnsmasq/pvbr0.leases \
    --pid-file="$(host_dir "$h")/dnsmasq.pid" --log-facility="$(host_dir "$h")/dnsmasq.log" )
  for _ in 1 2 3 4 5 6 7 8 9 10; do dnsmasq_running "$h" && return 0; sleep 0.2; done
  die "dnsmasq did not start on $h (see $(host_dir "$h")/dnsmasq.log)"
}

case "${1:-}" in
  up) for h in "${HOSTS[@]}"; do up_host "$h"; done ;;
  status)
    rc=0
    for h in "${HOSTS[@]}"; do
      if dnsmasq_running "$h"; then echo "$h dhcp ok"; else echo "$h dhcp DOWN"; rc=1; fi
    done
    exit $rc ;;
  *) echo "usage: guest-net.sh up|status" >&2; exit 2 ;;
esac
