# Where an image stands on the host. $1 images dir, $2 key, $3 final path, $4 1 = print its sha256 (unverified images).
# Prints one of:
#   ready <size bytes> <sha256 or -> then, for a disk image, `qemu-img info --output=json` of it
#   failed <why>            the last attempt's error (image-start.sh)
#   running <bytes> <total or ->
#   idle                    nobody is making it ready (the caller starts again)
set -eu
dir=$1; key=$2; final=$3; hash=${4:-0}
part="$dir/.partial"
if [ -f "$final" ]; then
  sum=-
  [ "$hash" = 1 ] && sum=$(sha256sum "$final" | cut -d' ' -f1)
  echo "ready $(stat -c %s "$final") $sum"
  case $final in
    *.tar|*.tar.gz|*.tgz|*.tar.xz|*.txz) ;;
    *) qemu-img info -U --output=json "$final" ;;
  esac
  exit 0
fi
if [ -f "$part/$key.lock" ] && ! flock -n "$part/$key.lock" true; then
  got=$(stat -c %s "$part/$key.download" 2>/dev/null || echo 0)
  # The total: a 206's Content-Range, else a 200's Content-Length (of the last response: redirects come first).
  total=$(awk '
    /^HTTP\// { t = "-"; l = "-" }
    tolower($1) == "content-range:" { n = split($3, a, "/"); t = a[n] }
    tolower($1) == "content-length:" { l = $2 }
    END { sub(/\r$/, "", t); sub(/\r$/, "", l); print (t != "-" && t != "") ? t : l }' "$part/$key.headers" 2>/dev/null || echo -)
  echo "running $got ${total:--}"
  exit 0
fi
if [ -f "$part/$key.status" ]; then cat "$part/$key.status"; exit 0; fi
echo idle
