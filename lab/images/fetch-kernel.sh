#!/usr/bin/env bash
# Fetches Debian's current amd64 kernel package (no install) and unpacks it into the cache.
# Prints the directory that holds vmlinuz and lib/modules/<version>/. Idempotent, cached.
set -euo pipefail
CACHE="${PULUMI_VIRT_CACHE:-/var/cache/pulumi-virt}"
dest="$CACHE/kernel"
if [ -f "$dest/.done" ]; then echo "$dest"; exit 0; fi
mkdir -p "$CACHE"
lock="$CACHE/.kernel.lock"
exec 9>"$lock"
flock 9
if [ -f "$dest/.done" ]; then echo "$dest"; exit 0; fi
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
if [ -z "$pkg" ]; then apt-get update -qq >/dev/null 2>&1 || true; pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}'); fi
[ -n "$pkg" ] || { echo "fetch-kernel: cannot resolve linux-image-amd64 (run apt-get update)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -qq "$pkg" >/dev/null)
rm -rf "$dest.new"; mkdir -p "$dest.new"
dpkg-deb -x "$tmp"/*.deb "$dest.new"
ver=$(ls "$dest.new/lib/modules")
cp "$dest.new/boot/vmlinuz-$ver" "$dest.new/vmlinuz"
echo "$ver" > "$dest.new/version"
rm -rf "$dest"; mv "$dest.new" "$dest"
touch "$dest/.done"
echo "$dest"
