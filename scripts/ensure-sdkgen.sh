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
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null || { echo "ensure-sdkgen: error: Go is not installed (https://go.dev/dl/)" >&2; exit 1; }
mkdir -p "$dest"
exec 9>"$dest/.lock"
flock 9
if is_current; then echo "$bin"; exit 0; fi
echo "ensure-sdkgen: building pulumi-virt-sdkgen into $bin (first time: about 3 minutes)" >&2
tmp=$(mktemp -d "$dest/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$SRC" && go build -trimpath -ldflags "-s -w" -o "$tmp/pulumi-virt-sdkgen" . &&
  go build -trimpath -ldflags "-s -w" -o "$tmp/pulumi-language-go" ./langhost-go) >&2
chmod 0755 "$tmp"
rm -rf "$bin"
mv "$tmp" "$bin"
trap - EXIT
echo "$want" > "$dest/source-hash"
echo "$bin"
