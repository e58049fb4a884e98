# $1 the ISO, $2 the directory holding user-data, meta-data and network-config (inside the ISO's directory): the
# NoCloud seed (label cidata). The user data is secret: the ISO is 0600 in a 0700 directory, both owned by the user
# QEMU runs as (it opens the ISO; libvirt's default qemu user cannot read a root-only file), and the source files
# are removed once packed.
set -e
iso="$1"; src="$2"; dir=$(dirname -- "$iso")
quser=$(sed -n 's/^[[:space:]]*user[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' /etc/libvirt/qemu.conf 2>/dev/null | tail -n 1)
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
