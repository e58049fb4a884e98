#!/usr/bin/env bash
# Makes the Pulumi engine available and prints (as the last stdout line) a bin directory holding
# `pulumi`, `pulumi-language-nodejs` and `pulumi-resource-pulumi-nodejs`; put it first on PATH.
#
# Uses a `pulumi` >= $VERSION (below) and a `pulumi-language-nodejs` already on PATH; otherwise builds both
# from tools/pulumi-cli (the CLI is not on npm or in Debian, and the official Node.js language
# host module is not served by the Go module proxy, so we ship our own minimal one).
# The build is cached in ${PULUMI_VIRT_CACHE:-/var/cache/pulumi-virt}/pulumi/v<version>/bin and
# reused while the recorded hash of tools/pulumi-cli's sources matches.
set -euo pipefail

VERSION=3.276.0
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$REPO/tools/pulumi-cli"

log() { echo "ensure-pulumi: $*" >&2; }
die() { echo "ensure-pulumi: error: $*" >&2; exit 1; }

# shellcheck source=scripts/cache-root.sh
. "$(dirname "${BASH_SOURCE[0]}")/cache-root.sh"

version_ge() { # $1 >= $2 (dotted versions)
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

CACHE=$(cache_root)

# 1. A CLI and language host already installed: link them next to our dynamic-provider launcher.
if command -v pulumi >/dev/null && command -v pulumi-language-nodejs >/dev/null; then
  have=$(pulumi version 2>/dev/null | sed 's/^v//' || true)
  if [ -n "$have" ] && version_ge "$have" "$VERSION"; then
    bin="$CACHE/pulumi/system/bin"
    mkdir -p "$bin"
    ln -sfn "$(command -v pulumi)" "$bin/pulumi"
    ln -sfn "$(command -v pulumi-language-nodejs)" "$bin/pulumi-language-nodejs"
    launcher=$(command -v pulumi-resource-pulumi-nodejs || echo "$SRC/launchers/pulumi-resource-pulumi-nodejs")
    ln -sfn "$launcher" "$bin/pulumi-resource-pulumi-nodejs"
    log "using pulumi $have from PATH"
    echo "$bin"
    exit 0
  fi
  log "pulumi on PATH is ${have:-unknown}, need >= $VERSION: building our own"
fi

# 2. Our build, reused while the sources are unchanged.
source_hash() {
  (cd "$SRC" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -path './launchers/*' \) \
      -not -path './bin/*' | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -d' ' -f1
}
dest="$CACHE/pulumi/v$VERSION"
bin="$dest/bin"
want=$(source_hash)
is_current() {
  [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-language-nodejs" ] && [ -x "$bin/pulumi-resource-pulumi-nodejs" ] &&
    [ "$(cat "$dest/source-hash" 2>/dev/null)" = "$want" ]
}
if is_current; then echo "$bin"; exit 0; fi

find_go
need_go=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$SRC/go.mod")
if ! command -v go >/dev/null; then
  die "no Pulumi CLI found and Go is not installed. Either install Go >= $need_go (https://go.dev/dl/, then re-run; the build needs the Go module proxy), or put pulumi >= v$VERSION and pulumi-language-nodejs on PATH."
fi
have_go=$(go env GOVERSION | sed 's/^go//')
version_ge "$have_go" "$need_go" || die "Go $have_go is too old to build the Pulumi CLI: install Go >= $need_go (https://go.dev/dl/)."

build() {
  log "building pulumi v$VERSION and pulumi-language-nodejs into $bin (first time: several minutes)"
  (
    cd "$SRC"
    go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION" \
      -o "$1/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$1/pulumi-language-nodejs" ./langhost
  ) || die "building the Pulumi CLI failed (see above). The first build downloads Go modules from the Go module proxy (or the one GOPROXY names)."
  install -m 0755 "$SRC/launchers/pulumi-resource-pulumi-nodejs" "$1/pulumi-resource-pulumi-nodejs"
  log "built: $("$1/pulumi" version)"
}
build_cached "$dest" "$want" is_current build
