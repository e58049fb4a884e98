#!/usr/bin/env bash
# Runs as the first process of one lab host, already inside its network namespace and a fresh
# private mount + UTS namespace (lab.sh starts it with nsenter --net ... unshare --mount --uts).
# It makes this namespace look like a separate machine, then becomes the host's sshd: every SSH
# session (and so every command a test or the provider runs "on the host") inherits these mounts.
# Args: NAME HOSTNAME STATE_DIR SSHD_CONFIG WITH_LIBVIRT(0|1) LIBVIRT_CACHE_DIR [CGROUP_NAME]
# CGROUP_NAME is the host's cgroup subtree, named like its network namespace (pvlab-hN; the scale lab's pvscale-sN)
# so that each lab's down finds its own hosts' processes and never another lab's.
set -euo pipefail
name=$1 host_name=$2 state=$3 sshd_config=$4 with_libvirt=$5 libvirt_cache=$6 cg_name=${7:-pvlab-$1}

# The host's daemons (sshd, libvirtd, virtlogd, virtlockd) live on after lab.sh returns: they must not keep a
# descriptor they inherited. Under `flock /tmp/pv-lab.lock bash lab/lab.sh up` that is the shared lab lock,
# which the daemons would then hold for as long as the lab runs, so every later `flock` waits forever.
for fd in "/proc/$$/fd/"*; do
  fd=${fd##*/}
  [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
done

hostname "$host_name"

# sysfs shows the network devices of the namespace that mounted it. The inherited /sys is the root
# namespace's, so LXC would not find /sys/class/net/pvbr0/bridge (and then assumes an OVS bridge).
# Mount a sysfs of our own but keep the shared cgroup tree under it, or LXC silently runs
# containers without placing or limiting them (the `ip netns exec` pitfall in LAB-NOTES).
cg_keep="/run/pulumi-virt-lab-cg.$name.$$"
mkdir -p "$cg_keep"
mount --rbind /sys/fs/cgroup "$cg_keep"
mount -t sysfs sysfs /sys
mount --move "$cg_keep" /sys/fs/cgroup
rmdir "$cg_keep"

# Per-host state over the shared system paths. Targets are created on the shared filesystem if
# missing (an empty directory there is harmless); the bind mounts exist only in this namespace.
bind_dir() {
  mkdir -p "$1" "$2"
  mount --bind "$1" "$2"
}
bind_dir "$state/lxc" /var/lib/lxc
bind_dir "$state/etc-lxc" /etc/lxc
bind_dir "$state/run-lxc" /run/lxc
bind_dir "$state/run-libvirt" /run/libvirt
bind_dir "$state/lib-libvirt" /var/lib/libvirt
bind_dir "$state/log-libvirt" /var/log/libvirt
# Kept across downs (it holds libvirtd's QEMU capability probe, which makes a cold start slow).
bind_dir "$libvirt_cache" /var/cache/libvirt
bind_dir "$state/etc-libvirt" /etc/libvirt
# Own /etc/hostname and /etc/hosts, so tools like sudo resolve this host's name.
mount --bind "$state/hostname" /etc/hostname
mount --bind "$state/hosts" /etc/hosts

# Move this host (and so its sshd sessions and libvirtd) into its own cgroup subtree. The cgroup
# tree is shared by all lab hosts; libvirtd creates its "machine" partition relative to its own
# cgroup, so without this two hosts' guests of the same name share machine/qemu-1-NAME.libvirt-qemu.
# (LXC containers get the same isolation from lxc.cgroup.dir in /etc/lxc/default.conf.)
for ctl in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
  [ -f "$ctl/cgroup.procs" ] || continue
  mkdir -p "$ctl/$cg_name/host" 2>/dev/null || continue
  if [ -f "$ctl/cpuset.cpus" ]; then
    # v1 cpuset cgroups start empty and refuse tasks until cpus and mems are set.
    for d in "$ctl/$cg_name" "$ctl/$cg_name/host"; do
      [ -n "$(cat "$d/cpuset.cpus")" ] || cat "$(dirname "$d")/cpuset.cpus" > "$d/cpuset.cpus"
      [ -n "$(cat "$d/cpuset.mems")" ] || cat "$(dirname "$d")/cpuset.mems" > "$d/cpuset.mems"
    done
  fi
  echo $$ > "$ctl/$cg_name/host/cgroup.procs" 2>/dev/null || echo "host-init: could not join $ctl$cg_name/host" >&2
done

if [ "$with_libvirt" = 1 ]; then
  # The -p pid files keep the daemons of different lab hosts from fighting over /run's defaults.
  virtlogd -d -p /run/libvirt/virtlogd.pid
  virtlockd -d -p /run/libvirt/virtlockd.pid
  libvirtd -d -p /run/libvirt/libvirtd.pid
fi

mkdir -p /run/sshd
exec /usr/sbin/sshd -D -e -f "$sshd_config"
