# Every container of the host with the limits its config gives it (what LXC applies at start, and where
# pulumi-virt writes live changes too), for the capacity check. Prints nothing without LXC. Read-only.
command -v lxc-ls >/dev/null 2>&1 || exit 0
LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null); [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
for c in "$LXCPATH"/*/config; do
  [ -f "$c" ] || continue
  d=${c%/config}; n=${d##*/}
  printf '@ct\t%s\n' "$n"
  [ -f "$LXCPATH/.pulumi-virt/$n" ] && printf 'managed\t1\n'
  img=
  while IFS= read -r line; do
    case $line in
      lxc.cgroup*) printf 'cfg\t%s\n' "$line" ;;
      lxc.rootfs.path*=*loop:*) img=${line#*loop:}; img=${img%% *} ;;
    esac
  done < "$c"
  # Apparent size (the promise), and the filesystem it is promised on.
  [ -n "$img" ] && [ -f "$img" ] && printf 'disk\t%s\t%s\n' "$(stat -c %s "$img")" "$(stat -c %d "$img")"
done
exit 0
