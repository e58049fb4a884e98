#!/usr/bin/env bash
# Builds tools/pulumi-sdkgen once into ${PULUMI_VIRT_CACHE:-/var/cache/pulumi-virt}/pulumi/sdkgen/bin and prints
# that directory (last stdout line): pulumi-virt-sdkgen (the Pulumi code generators from the Go module proxy) and
# pulumi-language-go (a minimal Go language host for the tests). Reused while the hash of the sources matches.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$REPO/tools/pulumi-sdkgen"
# shellcheck source=scripts/cache-root.sh
. "$(dirname "${BASH_SOURCE[0]}")/cache-root.sh"
dest="$(cache_root)/pulumi/sdkgen"
bin="$dest/bin"
# langhost-python has its own build and hash (scripts/ensure-langhost-python.sh).
want=$(cd "$SRC" && find . -path ./langhost-python -prune -o \( -name '*.go' -o -name go.mod -o -name go.sum \) -print | LC_ALL=C sort | xargs cat | sha256sum | cut -d' ' -f1)
is_current() { [ -x "$bin/pulumi-virt-sdkgen" ] && [ -x "$bin/pulumi-language-go" ] && [ "$(cat "$dest/source-hash" 2>/dev/null)" = "$want" ]; }
if is_current; then echo "$bin"; exit 0; fi
find_go
command -v go >/dev/null || { echo "ensure-sdkgen: error: Go is not installed (https://go.dev/dl/)" >&2; exit 1; }
build() {
  echo "ensure-sdkgen: building pulumi-virt-sdkgen into $bin (first time: about 3 minutes)"
  (cd "$SRC" && go build -trimpath -ldflags "-s -w" -o "$1/pulumi-virt-sdkgen" . &&
    go build -trimpath -ldflags "-s -w" -o "$1/pulumi-language-go" ./langhost-go)
}
build_cached "$dest" "$want" is_current build
