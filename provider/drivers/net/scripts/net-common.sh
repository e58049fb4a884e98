# Shared by the network scripts. A network's files live in NET_ROOT/<bridge>; everything it creates on the host
# carries its tag "pulumi-virt:<owner token>": the bridge's and VLAN device's ifalias, each firewall rule's comment,
# the owner file. Nothing without that tag is ever changed or removed.
# shellcheck disable=SC2034 # used by the scripts that include this fragment
NET_ROOT=/var/lib/pulumi-virt/net

# fw_kind: iptables if the host has it, else nft (an nft-only host).
fw_kind() {
  if command -v iptables >/dev/null 2>&1; then echo iptables
  elif command -v nft >/dev/null 2>&1; then echo nft
  else echo none; fi
}

# alias_of IFACE: its ifalias ("" when none or absent).
alias_of() { cat "/sys/class/net/$1/ifalias" 2>/dev/null || true; }

# tagged_links TAG: interfaces whose ifalias is TAG.
tagged_links() {
  for p in /sys/class/net/*; do
    [ -f "$p/ifalias" ] || continue
    [ "$(cat "$p/ifalias" 2>/dev/null)" = "$1" ] && echo "${p##*/}"
  done
  return 0
}

# drop_rules TAG: removes every firewall rule carrying TAG (iptables comments; nft: the table named after it).
drop_rules() {
  case $(fw_kind) in
    iptables)
      for cmd in iptables ip6tables; do
        command -v "$cmd" >/dev/null 2>&1 || continue
        for t in nat filter; do
          "$cmd-save" -t "$t" 2>/dev/null | grep -F -- "$1" | grep '^-A ' | sed 's/^-A /-D /; s/"//g' | while IFS= read -r rule; do
            # The rule text is our own (from iptables-save, matching our tag); split into words on purpose.
            set -f
            # shellcheck disable=SC2086
            "$cmd" -t "$t" $rule || true
            set +f
          done
        done
      done ;;
    nft) nft delete table inet "$(nft_table "$1")" 2>/dev/null || true ;;
  esac
}

# nft_table TAG: the nft table of a network (names allow letters, digits and _).
nft_table() { echo "pv_$(echo "$1" | sed 's/^pulumi-virt://' | cut -c1-16)"; }

# count_rules TAG
count_rules() {
  case $(fw_kind) in
    iptables) { iptables-save 2>/dev/null; ip6tables-save 2>/dev/null; } | grep -F -c -- "$1" || true ;;
    nft) nft list table inet "$(nft_table "$1")" 2>/dev/null | grep -c -E 'accept|masquerade' || true ;;
    *) echo 0 ;;
  esac
}

# dnsmasq_pid DIR: the PID of this network's dnsmasq (its pid file, checked against the process's command line).
dnsmasq_pid() {
  [ -f "$1/dnsmasq.pid" ] || return 0
  read -r p < "$1/dnsmasq.pid" || return 0
  [ -n "$p" ] && [ -r "/proc/$p/cmdline" ] || return 0
  tr '\0' ' ' < "/proc/$p/cmdline" | grep -qF -- "--conf-file=$1/dnsmasq.conf" && echo "$p"
  return 0
}

# stop_dnsmasq DIR: ends this network's dnsmasq, waiting (bounded) until it is gone.
stop_dnsmasq() {
  p=$(dnsmasq_pid "$1")
  [ -n "$p" ] || return 0
  kill "$p" 2>/dev/null || true
  i=0
  while [ -d "/proc/$p" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  [ -d "/proc/$p" ] && kill -9 "$p" 2>/dev/null
  rm -f "$1/dnsmasq.pid"
}

# foreign_ports BRIDGE TAG: the interfaces enslaved to the bridge that are not the network's own.
foreign_ports() {
  [ -d "/sys/class/net/$1/brif" ] || return 0
  for p in "/sys/class/net/$1/brif"/*; do
    [ -e "$p" ] || continue
    [ "$(alias_of "${p##*/}")" = "$2" ] || echo "${p##*/}"
  done
}

# users_of BRIDGE TAG: each foreign port with the machine it belongs to.
users_of() {
  for i in $(foreign_ports "$1" "$2"); do echo "$i $(machine_of "$i")"; done
}

# machine_of IFACE: "container NAME", "guest NAME" or "unknown", looked up with the host's tools (bounded).
machine_of() {
  if command -v lxc-ls >/dev/null 2>&1; then
    for c in $(timeout 10 lxc-ls --running 2>/dev/null); do
      timeout 5 lxc-info -n "$c" 2>/dev/null | grep -qE "^Link:[[:space:]]+$1\$" && { echo "container $c"; return 0; }
    done
  fi
  if command -v virsh >/dev/null 2>&1; then
    for d in $(timeout 10 virsh list --name 2>/dev/null); do
      timeout 5 virsh domiflist "$d" 2>/dev/null | awk '{print $1}' | grep -qx -- "$1" && { echo "guest $d"; return 0; }
    done
  fi
  case $1 in vif*.*) id=${1#vif}; id=${id%%.*}; n=$(timeout 5 xl domname "$id" 2>/dev/null) && { echo "guest $n"; return 0; } ;; esac
  echo unknown
}
