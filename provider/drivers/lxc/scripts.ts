// Fixed shell scripts run on the host as `sh -c SCRIPT sh ARGS...`. User data arrives only as
// positional parameters (already validated), never as script text.

/** Directory under the LXC path holding one file per container pulumi-virt manages on that host: its owner's token. */
export const REGISTER_DIR = ".pulumi-virt";

/** Prints host facts once, then per container its config, state, loop image and live cgroup/fs values. */
export const READ_SCRIPT = `
LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null); [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
# "--all NAME...": the named containers and every container of the host (a refresh snapshot, one round trip).
if [ "\${1-}" = --all ]; then
  shift; seen=" $* "
  for c in "$LXCPATH"/*/config; do
    [ -f "$c" ] || continue; c=\${c%/config}; c=\${c##*/}
    case $seen in *" $c "*) ;; *) set -- "$@" "$c"; seen="$seen$c " ;; esac
  done
fi
HC=
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then CGV=2; read -r HC < /sys/fs/cgroup/cpuset.cpus.effective 2>/dev/null
else CGV=1; read -r HC < /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null; fi
[ -n "$HC" ] || HC=0-$(( $(nproc) - 1 ))
printf '@host\tlxcpath\t%s\n@host\tcgroup\t%s\n@host\tcpus\t%s\n' "$LXCPATH" "$CGV" "$HC"
rd() { [ -r "$2" ] && read -r v < "$2" && printf 'cg\t%s\t%s\n' "$1" "$v"; }
for n in "$@"; do
  printf '@ct\t%s\n' "$n"
  d="$LXCPATH/$n"
  [ -d "$d" ] && printf 'dir\t1\n'
  [ -f "$d/.pulumi-virt-creating" ] && printf 'creating\t1\n'
  [ -f "$d/.pulumi-virt-created" ] && printf 'created\t1\n'
  if [ -f "$LXCPATH/${REGISTER_DIR}/$n" ]; then o=; read -r o _k < "$LXCPATH/${REGISTER_DIR}/$n" || true; printf 'owner\t%s\n' "$o"; fi
  [ -f "$d/config" ] || continue
  printf 'exists\t1\n'
  img=
  while IFS= read -r line; do
    printf 'cfg\t%s\n' "$line"
    case $line in lxc.rootfs.path*=*loop:*) img=\${line#*loop:}; img=\${img%% *} ;; esac
  done < "$d/config"
  pid=
  info=$(lxc-info -n "$n" -s -p -i 2>/dev/null)
  while IFS= read -r l; do
    case $l in
      State:*) printf 'state\t%s\n' "\${l##* }" ;;
      PID:*) pid=\${l##* }; printf 'pid\t%s\n' "$pid" ;;
      IP:*) printf 'ip\t%s\n' "\${l##* }" ;;
    esac
  done <<EOF
$info
EOF
  if [ -n "$img" ]; then
    printf 'image\t%s\n' "$img"
    [ -f "$img" ] && printf 'imagebytes\t%s\n' "$(stat -c %s "$img")"
    # By inode: sysfs backing_file paths are wrong when /var/lib/lxc is a bind mount.
    for L in $(losetup -l -n -O NAME -j "$img" 2>/dev/null); do printf 'loop\t%s\n' "$L"; done
    [ -z "$pid" ] && [ -f "$img" ] && printf 'fstype\t%s\n' "$(blkid -o value -s TYPE "$img" 2>/dev/null)"
  fi
  [ -n "$pid" ] && [ -r "/proc/$pid/cgroup" ] || continue
  mem=; cpu=; cs=; u=
  while IFS=: read -r _ ctrl path; do
    case $path in */lxc.payload."$n"/*) path="\${path%%/lxc.payload."$n"/*}/lxc.payload.$n" ;; esac
    case ",$ctrl," in
      ,,) u="/sys/fs/cgroup$path" ;;
      *,memory,*) mem="/sys/fs/cgroup/$ctrl$path" ;;
      *,cpuset,*) cs="/sys/fs/cgroup/$ctrl$path" ;;
      *,cpu,*) cpu="/sys/fs/cgroup/$ctrl$path" ;;
    esac
  done < "/proc/$pid/cgroup"
  if [ "$CGV" = 1 ]; then
    rd memory.limit_in_bytes "$mem/memory.limit_in_bytes"
    rd memory.memsw.limit_in_bytes "$mem/memory.memsw.limit_in_bytes"
    rd cpuset.cpus "$cs/cpuset.cpus"
    rd cpu.cfs_quota_us "$cpu/cpu.cfs_quota_us"
    rd cpu.cfs_period_us "$cpu/cpu.cfs_period_us"
    rd cpu.shares "$cpu/cpu.shares"
  else
    rd memory.max "$u/memory.max"
    rd memory.swap.max "$u/memory.swap.max"
    rd cpuset.cpus.effective "$u/cpuset.cpus.effective"
    rd cpu.max "$u/cpu.max"
    rd cpu.weight "$u/cpu.weight"
  fi
  printf 'fs\t%s\n' "$(stat -f -c '%b %S %T' "/proc/$pid/root/" 2>/dev/null)"
  # The MAC is asked of the kernel in the container's network namespace (netlink), never read through
  # /proc/$pid/root: the container owns that tree, and a symlink or FIFO there would redirect or stall a host read.
  hw=$(timeout 5 nsenter --net="/proc/$pid/ns/net" ip -o link show dev eth0 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "link/ether") print $(i + 1)}')
  case $hw in ??:??:??:??:??:??) printf 'hwaddr\t%s\n' "$hw" ;; esac
done
exit 0
`;

/**
 * Defines release_image IMAGE: unmounts this namespace's mounts of the image's loop devices (left by an
 * interrupted grow or create) and detaches them, so nothing keeps a deleted image alive.
 */
const RELEASE_FN = `
release_image() {
  [ -f "$1" ] || return 0
  for L in $(losetup -l -n -O NAME -j "$1" 2>/dev/null); do
    while read -r src mnt _rest; do [ "$src" = "$L" ] && umount "$mnt" 2>/dev/null; done < /proc/self/mounts
    losetup -d "$L" 2>/dev/null || true
  done
  return 0
}
`;

/** loop_lock / loop_unlock: see the comment inside. Commands that outlive the script must not inherit fd 8. */
const LOOP_LOCK_FN = `
# Loop devices are machine-wide and LXC/losetup pick a free one racily: parallel creates or starts of
# loop-backed containers ("Device or resource busy") take this lock around their loop-device work.
loop_lock() { mkdir -p /run/lock; exec 8>/run/lock/pulumi-virt-loop.lock; flock -w 300 8; }
loop_unlock() { flock -u 8 2>/dev/null || true; }
`;

/**
 * Creates the container's rootfs. $1 name, $2 kind (busybox|debian|tarball), $3 release or tarball path,
 * $4 fstype ("" = directory rootfs), $5 size MiB, $6 1 = adopt an existing container not created by us. Leftovers of an interrupted create (marker
 * ".pulumi-virt-creating" without ".pulumi-virt-created") are removed first, so a retry starts clean.
 */

export const CREATE_SCRIPT = `
set -eu
${RELEASE_FN}
${LOOP_LOCK_FN}
n=$1; kind=$2; arg=$3; fs=$4; size=$5; adopt=\${6:-0}; tok=\${7:-}; legacy=\${8:-0}; key=\${9:-}
LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null) || true; [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
d="$LXCPATH/$n"
# The host's register of containers pulumi-virt manages (REGISTER_DIR): a container that exists but is not
# registered belongs to someone else, whatever markers it carries; registering it first lets a create that is
# interrupted anywhere after this point be resumed.
R="$LXCPATH/${REGISTER_DIR}"
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
    busybox) printf '%s\n' '#!/bin/sh' '/bin/syslogd' '/bin/mount -a' \
      'ip -4 addr show dev eth0 2>/dev/null | grep -q inet || { /bin/udhcpc -b -i eth0 >/dev/null 2>&1 & }' > "$1/etc/init.d/rcS" ;;
    debian) printf '%s\n' 'auto lo' 'iface lo inet loopback' '' 'auto eth0' 'iface eth0 inet manual' \
      '    up ip -4 addr show dev eth0 | grep -q inet || dhclient -nw eth0' > "$1/etc/network/interfaces" ;;
  esac
}
mkdir -p "$d"
: > "$d/.pulumi-virt-creating"
[ -z "$fs" ] || loop_lock
case $kind in
  busybox|debian)
    if [ -n "$fs" ]; then set -- -B loop --fstype "$fs" --fssize "\${size}M"; else set -- -B dir; fi
    if [ "$kind" = busybox ]; then quiet lxc-create -n "$n" -t busybox "$@"
    else quiet lxc-create -n "$n" -t debian "$@" -- -r "$arg"; fi
    if [ -n "$fs" ]; then m=$(mktemp -d); mount -o loop "$d/rootdev" "$m"; patch_rootfs "$m"; umount "$m"; rmdir "$m"
    else patch_rootfs "$d/rootfs"; fi ;;
  tarball)
    [ -f "$arg" ] || { echo "tarball $arg not found on the host; copy it there first" >&2; exit 4; }
    quiet lxc-create -n "$n" -t none
    if [ -n "$fs" ]; then
      img="$d/rootdev"
      truncate -s "\${size}M" "$img"
      "mkfs.$fs" -q "$img" >/dev/null 2>&1 || "mkfs.$fs" "$img" >/dev/null
      m=$(mktemp -d); mount -o loop "$img" "$m"
      tar -xf "$arg" -C "$m" || { umount "$m"; rmdir "$m"; exit 5; }
      umount "$m"; rmdir "$m"
      rootfs="loop:$img"
    else
      mkdir -p "$d/rootfs"; tar -xf "$arg" -C "$d/rootfs"; rootfs="$d/rootfs"
    fi
    printf '%s\n' "lxc.include = /usr/share/lxc/config/common.conf" "lxc.rootfs.path = $rootfs" "lxc.uts.name = $n" "lxc.autodev = 1" >> "$d/config" ;;
  *) echo "unknown template kind $kind" >&2; exit 2 ;;
esac
loop_unlock
: > "$d/.pulumi-virt-created"
echo created
`;

/** Defines stop_container NAME TIMEOUT: prints graceful | killed | already-stopped. */
const STOP_FN = `
stop_container() {
  local sn st
  sn=$1
  st=$(lxc-info -n "$sn" -s 2>/dev/null) || true
  case $st in *RUNNING*|*STARTING*|*FREEZING*|*FROZEN*|*THAWED*|*STOPPING*) ;; *) echo already-stopped; return 0 ;; esac
  # -t 0 would not wait at all: a zero timeout means kill right away.
  if [ "$2" -gt 0 ] && lxc-stop -n "$sn" --nokill -t "$2" >/dev/null 2>&1 && lxc-wait -n "$sn" -s STOPPED -t 5 >/dev/null 2>&1; then echo graceful; return 0; fi
  lxc-stop -n "$sn" -k >/dev/null 2>&1 || true
  lxc-wait -n "$sn" -s STOPPED -t 10 >/dev/null 2>&1 || true
  st=$(lxc-info -n "$sn" -s 2>/dev/null) || true
  case $st in *STOPPED*) echo killed ;; *) echo "container $sn did not stop: $st" >&2; return 9 ;; esac
}
`;

/**
 * Applies operations in order to container $1. Ops: "cg KEY VALUE" (live cgroup write, running only),
 * "grow IMAGE MiB FSTYPE online|offline", "config PATH"
 * (stdin becomes the config, atomically), "start".
 */
export const APPLY_SCRIPT = `${LOOP_LOCK_FN}
set -eu
${STOP_FN}
n=$1; shift
loopof() { losetup -l -n -O NAME -j "$1" 2>/dev/null | head -n 1; }
growfs() { case $1 in xfs) xfs_growfs "$2" >/dev/null ;; btrfs) btrfs filesystem resize max "$2" >/dev/null ;; *) echo "cannot grow $1 online" >&2; return 1 ;; esac; }
while [ $# -gt 0 ]; do
  op=$1; shift
  case $op in
    cg) lxc-cgroup -n "$n" -- "$1" "$2" || { echo "setting $1 = $2 on running container $n failed (memory below current use? CPU not on host?)" >&2; exit 6; }; shift 2 ;;
    grow)
      img=$1; mib=$2; fs=$3; mode=$4; shift 4
      want=$((mib * 1048576))
      [ "$(stat -c %s "$img")" -lt "$want" ] && truncate -s "$want" "$img"
      L=$(loopof "$img")
      if [ "$mode" = online ]; then
        [ -n "$L" ] || { echo "no loop device is attached to $img; is the container running?" >&2; exit 7; }
        losetup -c "$L"
        m=$(mktemp -d); mount "$L" "$m"
        rc=0; growfs "$fs" "$m" || rc=$?
        umount "$m"; rmdir "$m"; [ "$rc" = 0 ] || exit "$rc"
      else
        # A stopped container's loop device is released asynchronously (autoclear): wait for it.
        i=0; while [ -n "$L" ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); L=$(loopof "$img"); done
        [ -z "$L" ] || { echo "$img is still attached to $L; stop whatever uses it" >&2; exit 7; }
        if [ "$fs" = ext4 ]; then
          rc=0; e2fsck -fy "$img" >/dev/null 2>&1 || rc=$?
          [ "$rc" -le 1 ] || { echo "e2fsck of $img failed ($rc)" >&2; exit 7; }
          resize2fs "$img" >/dev/null 2>&1
        else
          loop_lock; L=$(losetup -f --show "$img"); loop_unlock; m=$(mktemp -d)
          rc=0; { mount "$L" "$m" && { growfs "$fs" "$m" || rc=$?; umount "$m"; }; } || rc=$?
          rmdir "$m"; losetup -d "$L"; [ "$rc" = 0 ] || exit "$rc"
        fi
      fi ;;
    bridge) [ -d "/sys/class/net/$1/bridge" ] || { echo "bridge $1 does not exist on this host; create it (ip link add $1 type bridge; ip link set $1 up) or choose another" >&2; exit 11; }; shift ;;
    config) t="$1.tmp.$$"; cat > "$t"; chmod 640 "$t"; mv -f "$t" "$1"; shift ;;
    stop) r=$(stop_container "$n" "$1"); shift; printf 'stopped\\t%s\\n' "$r" ;;
    start)
      st=$(lxc-info -n "$n" -s 2>/dev/null) || true
      case $st in *RUNNING*) ;; *)
        LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null) || true; [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
        log="$LXCPATH/$n/pulumi-virt-start.log"; : > "$log"
        loop_lock
        lxc-start -n "$n" -d -l ERROR -o "$log" 8>&- || { loop_unlock; echo "lxc-start $n failed:" >&2; tail -n 5 "$log" >&2 || true; exit 8; }
        lxc-wait -n "$n" -s RUNNING -t 30; loop_unlock ;;
      esac ;;
    *) echo "unknown op $op" >&2; exit 2 ;;
  esac
done
`;

/** $1 name, $2 timeout seconds. Prints graceful | killed | already-stopped. */
export const STOP_SCRIPT = `${STOP_FN}
stop_container "$1" "$2"
`;

/** $1 name. Stops, detaches loop devices of its image, destroys, removes the image. Prints destroyed | absent. */
export const DESTROY_SCRIPT = `
${RELEASE_FN}
n=$1; tok=\${2:-}
LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null); [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
d="$LXCPATH/$n"
# Only the owning resource destroys: a registration holding another token belongs to another resource.
owner=; [ -f "$LXCPATH/${REGISTER_DIR}/$n" ] && { read -r owner _k < "$LXCPATH/${REGISTER_DIR}/$n" || true; }
if [ -n "$owner" ] && [ "$owner" != "$tok" ]; then
  echo "container $n is managed by another pulumi-virt resource (another stack, or another resource with this name); it was not destroyed" >&2; exit 6
fi
[ -d "$d" ] || { rm -f "$LXCPATH/${REGISTER_DIR}/$n"; echo absent; exit 0; }
img=
[ -f "$d/config" ] && while IFS= read -r line; do case $line in lxc.rootfs.path*=*loop:*) img=\${line#*loop:}; img=\${img%% *} ;; esac; done < "$d/config"
lxc-stop -n "$n" -k >/dev/null 2>&1 || true
lxc-wait -n "$n" -s STOPPED -t 10 >/dev/null 2>&1 || true
for f in "$img" "$d/rootdev"; do
  [ -n "$f" ] && [ -f "$f" ] || continue
  release_image "$f"
done
[ -f "$d/config" ] && { lxc-destroy -n "$n" >/dev/null 2>&1 || true; }
rm -rf "$d"
[ -n "$img" ] && rm -f "$img"
if [ -e "$d" ] || { [ -n "$img" ] && [ -e "$img" ]; }; then echo "could not remove $d" >&2; exit 10; fi
rm -f "$LXCPATH/${REGISTER_DIR}/$n"
echo destroyed
`;

/** $1 from, $2 to. Renames a stopped container by moving its directory and rewriting its own paths. */
export const RENAME_SCRIPT = `
set -eu
from=$1; to=$2
LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null) || true; [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
a="$LXCPATH/$from"; b="$LXCPATH/$to"; R="$LXCPATH/${REGISTER_DIR}"
# The registration moves with the container (written before the move, so an interruption leaves both names).
reregister() { mkdir -p "$R"; if [ -f "$R/$from" ]; then cat "$R/$from" > "$R/$to"; elif [ ! -f "$R/$to" ]; then : > "$R/$to"; fi; rm -f "$R/$from"; }
if [ ! -d "$a" ] && [ -f "$b/config" ]; then reregister; echo already-renamed; exit 0; fi
[ -f "$a/config" ] || { echo "container $from does not exist" >&2; exit 3; }
[ ! -e "$b" ] || { echo "container $to already exists" >&2; exit 3; }
st=$(lxc-info -n "$from" -s 2>/dev/null) || true
case $st in *STOPPED*) ;; *) echo "container $from is not stopped ($st); LXC renames only stopped containers" >&2; exit 4 ;; esac
mv "$a" "$b"
t="$b/config.tmp.$$"
while IFS= read -r line; do
  case $line in
    lxc.uts.name*=*) line="lxc.uts.name = $to" ;;
    *"$a/"*) line="\${line%%"$a/"*}$b/\${line#*"$a/"}" ;;
    *"$a") line="\${line%"$a"}$b" ;;
  esac
  printf '%s\n' "$line"
done < "$b/config" > "$t"
chmod 640 "$t"; mv -f "$t" "$b/config"
reregister
echo renamed
`;

export const VERIFY_SCRIPT = `
printf 'version\t%s\n' "$(lxc-create --version 2>/dev/null)"
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo 'cgroup	2'; else echo 'cgroup	1'; fi
for b in /sys/class/net/*/bridge; do [ -d "$b" ] && { b=\${b%/bridge}; printf 'bridge\t%s\n' "\${b##*/}"; }; done
for t in /usr/share/lxc/templates/lxc-*; do [ -x "$t" ] && printf 'template\t%s\n' "\${t##*/lxc-}"; done
exit 0
`;

/** Runs a mutating script in a subshell, then READ_SCRIPT for its container ($1): state after the change, same round trip. */
const thenRead = (body: string) => `(
${body}
) || exit $?
set -- "$1"
${READ_SCRIPT}`;

export const CREATE_THEN_READ = thenRead(CREATE_SCRIPT);
export const APPLY_THEN_READ = thenRead(APPLY_SCRIPT);

/**
 * $1 name, $2 token, $4 the resource's stack-and-name key (kept when empty), $3 1 = take over a registration that holds another token (adopt). Writes the token into the
 * container's registration when it is empty (a release before tokens) or already ours; exit 6 when another
 * resource owns it.
 */
export const CLAIM_SCRIPT = `
n=$1; tok=$2; force=\${3:-0}
LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null); [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
R="$LXCPATH/${REGISTER_DIR}"
owner=; okey=; [ -f "$R/$n" ] && { read -r owner okey < "$R/$n" || true; }
if [ -n "$owner" ] && [ "$owner" != "$tok" ] && [ "$force" != 1 ]; then
  echo "container $n is managed by another pulumi-virt resource (another stack, or another resource with this name)" >&2; exit 6
fi
mkdir -p "$R"; printf '%s %s\n' "$tok" "\${4:-$okey}" > "$R/$n"
echo claimed
`;

/** $1 token. Prints the name of the container whose registration holds this token (none: prints nothing). */
export const FIND_OWNED_SCRIPT = `
tok=$1
LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null); [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
for f in "$LXCPATH/${REGISTER_DIR}"/*; do
  [ -f "$f" ] || continue
  o=; read -r o _k < "$f" || true
  [ "$o" = "$tok" ] && { printf '%s\n' "\${f##*/}"; exit 0; }
done
exit 0
`;
