# shellcheck shell=bash
# Sourced by the ensure-* scripts: prints the cache directory for downloads and builds
# (${PULUMI_VIRT_CACHE:-/var/cache/pulumi-virt}, or a per-user one when that is not writable).
cache_root() {
  local c="${PULUMI_VIRT_CACHE:-/var/cache/pulumi-virt}"
  if mkdir -p "$c" 2>/dev/null && [ -w "$c" ]; then echo "$c"; return; fi
  c="${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-virt"
  mkdir -p "$c" && echo "$c"
}
