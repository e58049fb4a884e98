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
want=$(cd "$SRC" && { echo go.mod go.sum; find langhost-python -type f; } | xargs -n1 | LC_ALL=C sort | xargs cat | sha256sum | cut -d' ' -f1)
is_current() { [ -x "$bin/pulumi-language-python" ] && [ "$(cat "$dest/source-hash" 2>/dev/null)" = "$want" ]; }
if is_current; then echo "$bin"; exit 0; fi
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null || { echo "ensure-langhost-python: error: Go is not installed (https://go.dev/dl/)" >&2; exit 1; }
mkdir -p "$dest"
exec 9>"$dest/.lock"
flock 9
if is_current; then echo "$bin"; exit 0; fi
echo "ensure-langhost-python: building pulumi-language-python into $bin" >&2
tmp=$(mktemp -d "$dest/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$SRC" && go build -trimpath -ldflags "-s -w" -o "$tmp/pulumi-language-python" ./langhost-python) >&2
chmod 0755 "$tmp"
rm -rf "$bin"
mv "$tmp" "$bin"
trap - EXIT
echo "$want" > "$dest/source-hash"
echo "$bin"
