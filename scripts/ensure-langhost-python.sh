#!/usr/bin/env bash
# Builds tools/pulumi-sdkgen/langhost-python (a minimal pulumi-language-python: it runs a program with the `pulumi`
# Python SDK of the project's virtualenv, and installs nothing) once into
# ${PULUMI_VIRT_CACHE:-/var/cache/pulumi-virt}/pulumi/langhost-python/bin and prints that directory (last stdout line).
# Reused while the hash of its sources matches. Only the Python SDK test needs it, and only where that SDK is installed.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$REPO/tools/pulumi-sdkgen"
# shellcheck source=scripts/cache-root.sh
. "$(dirname "${BASH_SOURCE[0]}")/cache-root.sh"
dest="$(cache_root)/pulumi/langhost-python"
bin="$dest/bin"
want=$(cd "$SRC" && { echo go.mod go.sum; find langhost-python langhostkit -type f; } | xargs -n1 | LC_ALL=C sort | xargs cat | sha256sum | cut -d' ' -f1)
is_current() { [ -x "$bin/pulumi-language-python" ] && [ "$(cat "$dest/source-hash" 2>/dev/null)" = "$want" ]; }
if is_current; then echo "$bin"; exit 0; fi
find_go
command -v go >/dev/null || { echo "ensure-langhost-python: error: Go is not installed (https://go.dev/dl/)" >&2; exit 1; }
build() {
  echo "ensure-langhost-python: building pulumi-language-python into $bin"
  (cd "$SRC" && go build -trimpath -ldflags "-s -w" -o "$1/pulumi-language-python" ./langhost-python)
}
build_cached "$dest" "$want" is_current build
