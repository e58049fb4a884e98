#!/usr/bin/env bash
# Makes the Pulumi YAML language host (pulumi-language-yaml) available for the `virt` plugin's e2e tests and prints
# (as the last stdout line) the bin directory holding it; put it on PATH beside ensure-pulumi.sh's.
#
# Uses a pulumi-language-yaml already on PATH; otherwise builds it from tools/pulumi-yaml (github.com/pulumi/pulumi-yaml
# from the Go module proxy) into ${PULUMI_VIRT_CACHE:-/var/cache/pulumi-virt}/pulumi/yaml-v<version>/bin, reused while
# the recorded hash of tools/pulumi-yaml's sources matches.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$REPO/tools/pulumi-yaml"
VERSION=$(sed -n 's#^require github.com/pulumi/pulumi-yaml v\(.*\)$#\1#p' "$SRC/go.mod")

log() { echo "ensure-pulumi-yaml: $*" >&2; }
die() { echo "ensure-pulumi-yaml: error: $*" >&2; exit 1; }

# shellcheck source=scripts/cache-root.sh
. "$(dirname "${BASH_SOURCE[0]}")/cache-root.sh"

if command -v pulumi-language-yaml >/dev/null; then
  dirname "$(command -v pulumi-language-yaml)"
  exit 0
fi

dest="$(cache_root)/pulumi/yaml-v$VERSION"
bin="$dest/bin"
want=$(cd "$SRC" && cat go.mod go.sum ./*.go | sha256sum | cut -d' ' -f1)
is_current() { [ -x "$bin/pulumi-language-yaml" ] && [ "$(cat "$dest/source-hash" 2>/dev/null)" = "$want" ]; }
if is_current; then echo "$bin"; exit 0; fi

find_go
command -v go >/dev/null || die "Go is not installed: install Go (https://go.dev/dl/) or put pulumi-language-yaml on PATH."

build() {
  log "building pulumi-language-yaml v$VERSION into $bin (first time: about 1.5 minutes)"
  (cd "$SRC" && go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=v$VERSION" \
    -o "$1/pulumi-language-yaml" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml) ||
    die "building pulumi-language-yaml failed (see above); the first build downloads Go modules from the Go module proxy"
}
build_cached "$dest" "$want" is_current build
