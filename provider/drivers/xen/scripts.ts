// Fixed shell scripts run in dom0 as `sh -c SCRIPT sh ARGS...`. User data arrives only as
// positional parameters (already validated), never as script text.

export const READ_SCRIPT = `
n="$1"; cfg="$2"
if [ -f "$cfg" ]; then echo @@config; cat "$cfg"; fi
if [ -f "\${cfg%.cfg}.owner" ]; then echo @@owner; cat "\${cfg%.cfg}.owner"; fi
if ! out=$(xl list "$n" 2>&1); then
  case "$out" in *"invalid domain identifier"*) echo @@absent; exit 0;; esac
  echo @@error; printf '%s\\n' "$out"; exit 0
fi
echo @@list; printf '%s\\n' "$out"
echo @@long; xl list -l "$n"
echo @@uptime; xl uptime "$n"
`;

// Creates missing disk images (never touches existing ones), then starts the domain unless a domain
// of that name already runs (adopt) or the spec wants it stopped.
export const CREATE_SCRIPT = `
set -e
n="$1"; cfg="$2"; run="$3"; shift 3
if xl domid "$n" >/dev/null 2>&1; then echo adopted; exit 0; fi
while [ $# -ge 3 ]; do
  p="$1"; fmt="$2"; size="$3"; shift 3
  [ -e "$p" ] && continue
  [ -n "$size" ] || { echo "disk image $p does not exist and no size was given to create it" >&2; exit 2; }
  mkdir -p "$(dirname "$p")"
  if [ "$fmt" = qcow2 ]; then qemu-img create -q -f qcow2 "$p" "\${size}M"; else truncate -s "\${size}M" "$p"; fi
done
if [ "$run" = 1 ]; then xl create -q "$cfg" >&2; echo created; else echo defined; fi
`;

/** How long applyLive waits for the guest to bring its vCPUs on or offline: polls of 0.5 s (30 s). */
export const VCPU_SETTLE_POLLS = 60;

export const LIVE_SCRIPT = `
set -e
n="$1"; mem="$2"; cpus="$3"; new="$4"
xl domid "$n" >/dev/null
[ -z "$mem" ] || xl mem-set "$n" "\${mem}m"
if [ -n "$cpus" ]; then
  xl vcpu-set "$n" "$cpus"
  # The guest kernel brings the vCPUs on or offline itself (xenstore cpu/N/availability), and xl list counts the
  # ones it has. Wait for it (bounded: a guest that never acts is reported as it is, and shows as drift).
  i=0
  while [ "$(xl list "$n" 2>/dev/null | awk -v n="$n" '$1 == n { print $4 }')" != "$cpus" ] && [ "$i" -lt ${VCPU_SETTLE_POLLS} ]; do
    sleep 0.5; i=$((i + 1))
  done
fi
[ -z "$new" ] || xl rename "$n" "$new"
`;

// `xl shutdown -w` asks the guest kernel (xenstore control/shutdown) and waits until the domain is gone.
export const SHUTDOWN_SCRIPT = `
n="$1"; t="$2"
xl domid "$n" >/dev/null 2>&1 || { echo already-off; exit 0; }
if [ "$t" -gt 0 ] && timeout "$t" xl shutdown -w "$n" >/dev/null 2>&1; then echo graceful; exit 0; fi
xl domid "$n" >/dev/null 2>&1 || { echo graceful; exit 0; }
xl destroy "$n"
echo destroyed
`;

export const VERIFY_SCRIPT = `
echo @@caps; cat /proc/xen/capabilities 2>/dev/null
if command -v xl >/dev/null 2>&1; then echo @@info; xl info 2>&1; rc=$?; echo @@rc; echo "$rc"; else echo @@noxl; fi
`;

// ---------------------------------------------------------------------------------------------
// Is a kernel image bootable as a Xen PV guest?
//
// A PV-capable Linux kernel carries ELF notes named "Xen"; XEN_ELFNOTE_ENTRY (type 1) holds the PV
// entry point (startup_xen), which is what the domain builder jumps to. A bzImage hides the ELF
// (vmlinux) inside a compressed payload, located by the boot-protocol header: setup_sects at 0x1f1,
// "HdrS" at 0x202, payload_offset / payload_length at 0x248 / 0x24c (offset counted from the end of
// the real-mode setup, (setup_sects+1)*512). The script decompresses that payload on the host (only
// a verdict comes back, not 40 MB of vmlinux) and searches for the note header bytes
// namesz=4, descsz=4|8, type=1, "Xen\0". A raw ELF vmlinux is searched directly.

export const KERNEL_PROBE_SCRIPT = `
k="$1"
[ -r "$k" ] || { echo "format=missing"; exit 0; }
hex() { od -An -tx1 -j "$1" -N "$2" "$k" | tr -d ' \\n'; }
u32() { od -An -tu4 -j "$1" -N 4 "$k" | tr -d ' \\n'; }
pat='\\x04\\x00\\x00\\x00[\\x04\\x08]\\x00\\x00\\x00\\x01\\x00\\x00\\x00Xen\\x00'
count() { LC_ALL=C grep -c -a -P "$pat"; }
if [ "$(hex 0 4)" = 7f454c46 ]; then
  echo "format=elf"; echo "compression=none"; echo "elf=yes"; echo "notes=$(count < "$k")"; exit 0
fi
if [ "$(hex 514 4)" != 48647253 ]; then echo "format=unknown"; exit 0; fi
echo "format=bzImage"
ss=$(od -An -tu1 -j 497 -N 1 "$k" | tr -d ' ')
po=$(u32 584); pl=$(u32 588)
[ "$ss" = 0 ] && ss=4
start=$(( (ss + 1) * 512 + po ))
magic=$(hex "$start" 6)
case "$magic" in
  1f8b*) c=gzip; d="gzip -dc";;
  fd377a585a00) c=xz; d="xz -dc";;
  28b52ffd*) c=zstd; d="zstd -dcq";;
  5d00*) c=lzma; d="xz --format=lzma -dc";;
  425a68*) c=bzip2; d="bzip2 -dc";;
  02214c18*) c=lz4; d="lz4 -dcq";;
  *) echo "compression=unknown:$magic"; exit 0;;
esac
echo "compression=$c"
command -v "\${d%% *}" >/dev/null 2>&1 || { echo "missing=\${d%% *}"; exit 0; }
tail -c +"$((start + 1))" "$k" | head -c "$pl" | $d 2>/dev/null | {
  m=$(dd bs=1 count=4 2>/dev/null | od -An -tx1 | tr -d ' \\n')
  [ "$m" = 7f454c46 ] && echo elf=yes || echo elf=no
  echo "notes=$(count)"
}
`;
