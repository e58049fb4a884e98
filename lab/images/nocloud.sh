# Sourced by the test guest's /init (busybox sh): a tiny NoCloud reader for the subset of cloud-init that
# pulumi-virt writes, so the busybox test guest behaves like a cloud image towards the provider:
#   user-data / vendor-data (#cloud-config): ssh_keys.ed25519_private (the SSH host key), ssh_authorized_keys (root)
#   meta-data: local-hostname
#   network-config v2: ethernets.<id>.{match.macaddress, dhcp4, addresses[], gateway4, gateway6}
# Without a seed (or a NIC the network-config does not name), a NIC takes DHCP, like cloud-init's fallback.

SEED=/run/seed
NETPLAN=/run/pv-netplan

seed_read() {
  mkdir -p "$SEED" /root/.ssh
  chmod 0700 /root /root/.ssh
  local dev found=""
  # The CD-ROM appears a moment after its driver loads.
  for i in 1 2 3 4 5; do
    # A Xen PV guest's seed is the disk after its data disks.
    for dev in /dev/sr0 /dev/sr1 /dev/vdb /dev/xvd[b-p]; do
      [ -b "$dev" ] || continue
      mount -t iso9660 -o ro "$dev" "$SEED" 2>/dev/null || continue
      if [ -f "$SEED/meta-data" ] || [ -f "$SEED/user-data" ]; then found=$dev; break 2; fi
      umount "$SEED"
    done
    sleep 1
  done
  if [ -z "$found" ]; then echo "PVEVENT seed none" > /dev/console; return 0; fi
  echo "PVEVENT seed $found" > /dev/console
  local h
  h=$(sed -n 's/^local-hostname:[[:space:]]*//p' "$SEED/meta-data" 2>/dev/null | tr -cd 'A-Za-z0-9.-' | head -c 63)
  [ -n "$h" ] && hostname "$h"
  cat "$SEED/vendor-data" "$SEED/user-data" 2>/dev/null > /run/cloud-config
  # ssh_keys.ed25519_private: a block scalar (|) under ssh_keys; its lines are the indented ones that follow.
  awk '
    /^ssh_keys:/ { inkeys = 1; next }
    inkeys && /^[^ ]/ { inkeys = 0 }
    inkeys && /^  ed25519_private:/ { grab = 1; ind = -1; next }
    grab {
      if ($0 ~ /^[[:space:]]*$/) next
      match($0, /^ */); if (ind < 0) ind = RLENGTH
      if (RLENGTH < ind) { grab = 0; exit }
      print substr($0, ind + 1)
    }' /run/cloud-config > /run/host-key.openssh
  if [ -s /run/host-key.openssh ]; then
    mkdir -p /etc/dropbear
    dropbearconvert openssh dropbear /run/host-key.openssh /etc/dropbear/ed25519 >/dev/null 2>&1 \
      && echo "PVEVENT hostkey seed" > /dev/console
  fi
  rm -f /run/host-key.openssh
  # ssh_authorized_keys: a block list of keys.
  awk '
    /^ssh_authorized_keys:/ { on = 1; next }
    on && /^[^ -]/ { on = 0 }
    on && /^[[:space:]]*- / { sub(/^[[:space:]]*- */, ""); gsub(/"/, ""); print }
  ' /run/cloud-config >> /root/.ssh/authorized_keys
  chmod 0600 /root/.ssh/authorized_keys
  rm -f /run/cloud-config
  # network-config v2 as one line per ethernet: MAC|dhcp4|addresses|gateway4|gateway6
  [ -f "$SEED/network-config" ] && awk '
    function flush() { if (id != "") print tolower(mac) "|" dhcp "|" addrs "|" gw4 "|" gw6; id = ""; mac = ""; dhcp = "false"; addrs = ""; gw4 = ""; gw6 = "" }
    function val(s) { sub(/^[^:]*:[[:space:]]*/, "", s); gsub(/"/, "", s); return s }
    /^ethernets:/ { eth = 1; next }
    eth && /^[^ ]/ { flush(); eth = 0 }
    !eth { next }
    /^  [^ ][^:]*:/ { flush(); id = $1; inaddr = 0; next }
    /^[[:space:]]+macaddress:/ { mac = val($0); next }
    /^[[:space:]]+dhcp4:/ { dhcp = val($0); next }
    /^[[:space:]]+gateway4:/ { gw4 = val($0); next }
    /^[[:space:]]+gateway6:/ { gw6 = val($0); next }
    /^[[:space:]]+addresses:[[:space:]]*\[/ { s = val($0); gsub(/[][,]/, " ", s); n = split(s, a, " "); for (i = 1; i <= n; i++) addrs = addrs " " a[i]; next }
    /^[[:space:]]+addresses:/ { inaddr = 1; next }
    inaddr && /^[[:space:]]+- / { s = $0; sub(/^[[:space:]]+- */, "", s); gsub(/"/, "", s); addrs = addrs " " s; next }
    /^[[:space:]]+[a-z0-9-]+:/ { inaddr = 0 }
    END { flush() }' "$SEED/network-config" > "$NETPLAN"
  umount "$SEED"
}

# udhcpc calls this with the lease in its environment.
write_dhcp_script() {
  mkdir -p /usr/share/udhcpc
  cat > /usr/share/udhcpc/default.script <<'EOS'
#!/bin/sh
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
    echo "PVEVENT dhcp $interface $ip" > /dev/console ;;
esac
EOS
  chmod 0755 /usr/share/udhcpc/default.script
}

# Brings up every NIC not configured yet: static per network-config (matched by MAC), otherwise DHCP.
nics_configure() {
  local n ifc mac line dhcp addrs gw4 gw6 a
  for n in /sys/class/net/eth*; do
    [ -e "$n" ] || continue
    ifc=${n##*/}
    [ -f "/run/pv-nic-$ifc" ] && continue
    mac=$(cat "$n/address")
    line=$(grep -i "^$mac|" "$NETPLAN" 2>/dev/null | head -n 1)
    echo "$mac" > "/run/pv-nic-$ifc"
    ip link set "$ifc" up
    if [ -z "$line" ]; then
      dhcp=true; addrs=""; gw4=""; gw6=""
    else
      dhcp=$(echo "$line" | cut -d'|' -f2); addrs=$(echo "$line" | cut -d'|' -f3)
      gw4=$(echo "$line" | cut -d'|' -f4); gw6=$(echo "$line" | cut -d'|' -f5)
    fi
    for a in $addrs; do ip addr add "$a" dev "$ifc"; done
    [ -n "$gw4" ] && ip route replace default via "$gw4" dev "$ifc"
    [ -n "$gw6" ] && ip -6 route replace default via "$gw6" dev "$ifc"
    if [ "$dhcp" = true ]; then
      [ -x /usr/share/udhcpc/default.script ] || write_dhcp_script
      # -b: keep trying in the background when no lease comes at once.
      udhcpc -i "$ifc" -s /usr/share/udhcpc/default.script -b -t 3 -T 2 -x "hostname:$(hostname)" -p "/run/udhcpc-$ifc.pid" >/dev/null 2>&1
    fi
    echo "PVEVENT nic $ifc $mac dhcp=$dhcp addresses=$(echo $addrs | tr ' ' ',')" > /dev/console
  done
}
