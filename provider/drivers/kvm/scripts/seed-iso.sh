# $1 ISO path, $2 directory with user-data / meta-data / network-config: the NoCloud seed (label cidata).
set -e
iso="$1"; src="$2"
for tool in genisoimage mkisofs xorrisofs; do
  if command -v "$tool" >/dev/null; then
    "$tool" -quiet -output "$iso.partial" -volid cidata -joliet -rock "$src" && mv "$iso.partial" "$iso" && exit 0
  fi
done
echo "no ISO tool on this host: install genisoimage (apt-get install genisoimage)" >&2; exit 2
