# $1 the seed ISO, $2 the 0700 directory holding user-data, meta-data and optionally network-config, vendor-data:
# packs the NoCloud seed (label cidata) the guest reads at boot. It holds the guest's SSH host key: the ISO is 0600
# (root reads it for the loop device), and the source files are removed once packed.
set -e
iso="$1"; src="$2"
umask 077
for tool in genisoimage mkisofs xorrisofs; do
  if command -v "$tool" >/dev/null; then
    "$tool" -quiet -output "$iso.partial" -volid cidata -joliet -rock "$src"
    mv -f -- "$iso.partial" "$iso"; rm -rf -- "$src"
    exit 0
  fi
done
rm -rf -- "$src"
echo "no ISO tool in dom0 for the guest's NoCloud seed: install genisoimage (apt-get install genisoimage)" >&2; exit 2
