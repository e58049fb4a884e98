// Fixed shell scripts run on the host as `sh -c SCRIPT sh ARGS...`. User data arrives only as
// positional parameters (already validated), never as script text.

// One round trip: every query in one script, sections framed by @@ lines.
export const READ_SCRIPT = `
n="$1"; c=qemu:///system
if ! info=$(virsh -c "$c" dominfo --domain "$n" 2>&1); then
  case "$info" in *"ailed to get domain"*|*"omain not found"*|*"no domain with matching name"*) echo "@@absent"; exit 0;; esac
  printf '%s\\n' "$info" >&2; exit 1
fi
printf '@@dominfo\\n%s\\n' "$info"
echo "@@xml"; virsh -c "$c" dumpxml --domain "$n" || exit 1
echo "@@inactive"; virsh -c "$c" dumpxml --inactive --domain "$n" | grep -m1 '<currentMemory'
echo "@@vcpucount"; virsh -c "$c" vcpucount --domain "$n" 2>/dev/null
echo "@@blk"; virsh -c "$c" domblkinfo --domain "$n" --all 2>/dev/null
echo "@@pid"; cat "/run/libvirt/qemu/$n.pid" 2>/dev/null; echo
echo "@@end"
`;

// Polls in one remote script so a long timeout costs one round trip.
export const SHUTDOWN_SCRIPT = `
n="$1"; t="$2"; c=qemu:///system
st=$(virsh -c "$c" domstate --domain "$n") || exit 1
[ "$st" = "shut off" ] && { echo already-off; exit 0; }
virsh -c "$c" shutdown --domain "$n" --mode acpi >/dev/null 2>&1
i=0
while [ "$i" -lt "$t" ]; do
  sleep 1; i=$((i+1))
  st=$(virsh -c "$c" domstate --domain "$n" 2>/dev/null)
  [ "$st" = "shut off" ] && { echo acpi; exit 0; }
done
virsh -c "$c" destroy --domain "$n" >/dev/null 2>&1
st=$(virsh -c "$c" domstate --domain "$n" 2>/dev/null)
[ "$st" = "shut off" ] && { echo destroyed; exit 0; }
echo "guest $n is still '$st' after destroy" >&2; exit 1
`;

// Each step checks whether it is already done, so a create interrupted anywhere can be re-run.
// $6 and $7 are the base image's format and virtual size (bytes), read by qemuImgInfo.
export const ROOT_DISK_SCRIPT = `
set -e
dir="$1"; root="$2"; base="$3"; mode="$4"; size="$5"; fmt="$6"; cur="$7"
mkdir -p "$dir"; chmod 0755 "$dir"
[ -e "$root" ] && exit 0
[ -r "$base" ] || { echo "base image $base not found or unreadable" >&2; exit 2; }
tmp="$root.partial"
rm -f "$tmp"
if [ "$mode" = overlay ]; then
  qemu-img create -q -f qcow2 -F "$fmt" -b "$base" "$tmp"
else
  qemu-img convert -q -f "$fmt" -O qcow2 "$base" "$tmp"
fi
# An overlay or a converted copy has the base image's virtual size.
if [ -n "$size" ]; then
  want=$((size * 1048576))
  [ "$want" -lt "$cur" ] && { echo "rootDisk.sizeMiB $size is smaller than the base image ($cur bytes)" >&2; rm -f "$tmp"; exit 2; }
  [ "$want" -gt "$cur" ] && qemu-img resize -q "$tmp" "$want"
fi
mv "$tmp" "$root"
`;

export const DATA_DISK_SCRIPT = `
set -e
path="$1"; size="$2"
[ -e "$path" ] && exit 0
qemu-img create -q -f qcow2 "$path.partial" "\${size}M"
mv "$path.partial" "$path"
`;

// $1 the ISO, $2 the directory holding user-data, meta-data and network-config (inside the ISO's directory).
// The user data is secret: the ISO is 0600 in a 0700 directory, both owned by the user QEMU runs as (it opens the
// ISO; libvirt's default qemu user cannot read a root-only file), and the source files are removed once packed.
export const SEED_SCRIPT = `
set -e
iso="$1"; src="$2"; dir=$(dirname -- "$iso")
quser=$(sed -n 's/^[[:space:]]*user[[:space:]]*=[[:space:]]*"\\([^"]*\\)".*/\\1/p' /etc/libvirt/qemu.conf 2>/dev/null | tail -n 1)
[ -n "$quser" ] || { if id -u libvirt-qemu >/dev/null 2>&1; then quser=libvirt-qemu; else quser=root; fi; }
umask 077
for tool in genisoimage mkisofs xorrisofs; do
  if command -v "$tool" >/dev/null; then
    "$tool" -quiet -output "$iso.partial" -volid cidata -joliet -rock "$src"
    chmod 0600 "$iso.partial"; chown "$quser" "$iso.partial" "$dir"; chmod 0700 "$dir"
    mv -f -- "$iso.partial" "$iso"; rm -rf -- "$src"
    exit 0
  fi
done
echo "no ISO tool on this host: install genisoimage (apt-get install genisoimage)" >&2; exit 2
`;

export const REMOVE_FILES_SCRIPT = `
dir="$1"; shift
for f in "$@"; do rm -f -- "$f" "$f.partial"; done
rm -rf -- "$dir/seed" "$dir/cidata"
rm -f -- "$dir/domain.xml"
rmdir -- "$dir" 2>/dev/null
exit 0
`;

export const VERIFY_SCRIPT = `
c=qemu:///system
echo "@@version"; virsh -c "$c" version || exit 1
echo "@@kvm"; [ -e /dev/kvm ] && echo yes || echo no
echo "@@flags"; grep -owE 'vmx|svm' /proc/cpuinfo | sort -u
echo "@@caps"; virsh -c "$c" capabilities
echo "@@end"
`;
