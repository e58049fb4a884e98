# Makes an image ready on the host, or starts making it ready in the background (the caller polls image-poll.sh).
# $1 images dir, $2 key, $3 final path, $4 claim (the Image resource's token), $5 source (URL or host path),
# $6 checksum algorithm (sha256|sha512, "" = unverified), $7 expected hex digest, $8 compression (none|xz|gz|zst),
# $9 download bound in seconds. Prints: ready | running (another download of this key is under way) | started.
# Layout: <dir>/<key>.<suffix> the ready file (renamed into place whole); <dir>/.claims/<key>/<claim> one file per
# Image resource using it; <dir>/.partial/<key>.* the download in progress (kept when a transfer stops, so the next
# attempt resumes it with a Range request; removed when its checksum is wrong), its headers, log, lock and status.
set -eu
dir=$1; key=$2; final=$3; claim=$4; src=$5; algo=$6; want=$7; comp=$8; bound=$9
part="$dir/.partial"
mkdir -p "$part" "$dir/.claims/$key"
chmod 0755 "$dir"
# Claimed before anything else: a release by another resource meanwhile keeps the file.
: > "$dir/.claims/$key/$claim"
[ -f "$final" ] && { echo ready; exit 0; }
exec 9>"$part/$key.lock"
# One download per key on a host: whoever holds the lock downloads, everybody else waits for the file.
flock -n 9 || { echo running; exit 0; }
[ -f "$final" ] && { echo ready; exit 0; }
rm -f "$part/$key.status"
dl="$part/$key.download"
(
  trap '' HUP
  fail() {
    printf 'failed %s\n' "$*" > "$part/$key.status.tmp"
    mv -f "$part/$key.status.tmp" "$part/$key.status"
    exit 1
  }
  case $src in
    http://*|https://*)
      if command -v curl >/dev/null 2>&1; then
        rc=0
        # -C -: continue from the partial file's size (a Range request); -f: an HTTP error is a failure.
        curl -fsSL --connect-timeout 20 --max-time "$bound" -C - -D "$part/$key.headers" -o "$dl" -- "$src" 2> "$part/$key.err" || rc=$?
        if [ "$rc" = 33 ]; then
          # The server cannot resume: start over.
          rm -f "$dl"; rc=0
          curl -fsSL --connect-timeout 20 --max-time "$bound" -D "$part/$key.headers" -o "$dl" -- "$src" 2> "$part/$key.err" || rc=$?
        fi
        [ -s "$dl" ] || rm -f "$dl"
        [ "$rc" = 0 ] || fail "download of $src stopped (curl exit $rc: $(tail -n 1 "$part/$key.err" 2>/dev/null)); the partial download stays in $part and the next attempt resumes it"
      elif command -v wget >/dev/null 2>&1; then
        wget -q -c -T 20 -O "$dl" -- "$src" 2> "$part/$key.err" || fail "download of $src stopped (wget: $(tail -n 1 "$part/$key.err" 2>/dev/null)); the partial download stays in $part and the next attempt resumes it"
      else
        fail "neither curl nor wget is installed on the host: install one (apt-get install curl)"
      fi ;;
    *)
      cp -- "$src" "$dl" 2> "$part/$key.err" || { rm -f "$dl"; fail "cannot read $src on the host: $(tail -n 1 "$part/$key.err")"; } ;;
  esac
  if [ -n "$algo" ]; then
    got=$("${algo}sum" "$dl" | cut -d' ' -f1)
    if [ "$got" != "$want" ]; then
      rm -f "$dl" "$part/$key.headers" "$part/$key.err"
      fail "checksum mismatch for $src: expected $algo:$want, got $algo:$got; the downloaded file was removed"
    fi
  fi
  out="$part/$key.unpacked"
  case $comp in
    none) mv -f "$dl" "$out" ;;
    xz) xz -dc "$dl" > "$out" || { rm -f "$out"; fail "cannot decompress $src with xz"; } ;;
    gz) gzip -dc "$dl" > "$out" || { rm -f "$out"; fail "cannot decompress $src with gzip"; } ;;
    zst) zstd -qdc "$dl" > "$out" || { rm -f "$out"; fail "cannot decompress $src with zstd (is zstd installed?)"; } ;;
  esac
  chmod 0644 "$out"
  # Same filesystem: the ready file appears whole or not at all.
  mv -f "$out" "$final"
  rm -f "$dl" "$part/$key.headers" "$part/$key.err"
) < /dev/null > /dev/null 2>&1 &
echo started
