# snapshot_paths NAME SNAPSHOT: sets LXCPATH, d (the container's directory), snaps (its snapshots' directory, outside
# the container's, so they outlive a replacement or a destroy) and snap (this snapshot's directory).
# shellcheck disable=SC2034 # d and snap are for the scripts that source this file
snapshot_paths() {
  LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null); [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
  d="$LXCPATH/$1"; snaps="$LXCPATH/.pulumi-virt-snapshots/$1"; snap="$snaps/$2"
}
# snapshot_report DIR: prints "snapshot NAME EPOCH BYTES" for a complete snapshot directory.
snapshot_report() {
  printf 'snapshot %s %s %s\n' "${1##*/}" "$(cat "$1/ts")" "$(du -sb "$1/rootfs" | cut -f1)"
}
# image_of CONFIG: the loop image a container's config names ("" for a directory rootfs).
image_of() {
  img=
  while IFS= read -r line; do case $line in lxc.rootfs.path*=*loop:*) img=${line#*loop:}; img=${img%% *} ;; esac; done < "$1"
  printf '%s' "$img"
}
