# $1 the domain (its new name; it may not run), then pairs OLD NEW: a renamed domain's disk images follow its name.
# Refuses (before moving anything) when a NEW path exists while its OLD one does too: another machine's image would
# be taken. A running domain keeps its disks: each loop device holds the file, not its name, and the backend's
# recorded path (xenstore params, which attach and detach match on) is rewritten. Prints "moved N".
set -e
n="$1"; shift
refuse_taken() {
  while [ $# -ge 2 ]; do
    if [ -e "$1" ] && [ -e "$2" ]; then
      echo "cannot rename the disk image $1 to $2: that file exists (another machine's?); nothing was moved" >&2; exit 3
    fi
    shift 2
  done
}
refuse_taken "$@"
backends=""
if xl domid "$n" >/dev/null 2>&1; then backends=$(xl block-list "$n" | awk 'NR > 1 { print $7 }'); fi
moved=0
while [ $# -ge 2 ]; do
  old="$1"; new="$2"; shift 2
  [ -e "$old" ] || continue
  mv -- "$old" "$new"; moved=$((moved + 1))
  for be in $backends; do
    if [ "$(xenstore-read "$be/params" 2>/dev/null)" = "$old" ]; then xenstore-write "$be/params" "$new"; fi
  done
done
echo "moved $moved"
