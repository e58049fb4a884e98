# shellcheck shell=bash
# Sourced by the ensure-* scripts: where their downloads and builds are cached, and how a build lands there.

# Prints the cache directory (${PULUMI_VIRT_CACHE:-/var/cache/pulumi-virt}, or a per-user one when that is not
# writable).
cache_root() {
  local c="${PULUMI_VIRT_CACHE:-/var/cache/pulumi-virt}"
  if mkdir -p "$c" 2>/dev/null && [ -w "$c" ]; then echo "$c"; return; fi
  c="${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-virt"
  mkdir -p "$c" && echo "$c"
}

# Puts Go on PATH where its official tarball installs it, when PATH has none.
find_go() {
  if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; fi
}

# Usage: build_cached DEST HASH IS_CURRENT BUILD
# Builds into DEST/bin once and prints that directory. One build at a time (parallel test processes all call the
# ensure-* scripts): under DEST/.lock it asks IS_CURRENT again, since another process may have built it meanwhile;
# otherwise BUILD TMP fills a fresh directory (its stdout goes to stderr: the last stdout line is the answer), which
# then replaces DEST/bin, and HASH (of the sources) is recorded in DEST/source-hash for IS_CURRENT to compare.
build_cached() {
  local dest=$1 hash=$2 is_current=$3 build=$4 tmp
  mkdir -p "$dest"
  exec 9>"$dest/.lock"
  flock 9
  if "$is_current"; then echo "$dest/bin"; return 0; fi
  tmp=$(mktemp -d "$dest/build.XXXXXX")
  # shellcheck disable=SC2064 # expanded now: $tmp is local and gone by the time the script exits
  trap "rm -rf $(printf %q "$tmp")" EXIT
  "$build" "$tmp" >&2
  chmod 0755 "$tmp" # mktemp made it private; other users run these binaries too
  rm -rf "${dest:?}/bin"
  mv "$tmp" "$dest/bin"
  trap - EXIT
  echo "$hash" > "$dest/source-hash"
  echo "$dest/bin"
}
