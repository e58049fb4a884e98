# For each directory argument: the filesystem it is (or, not yet created, would be) on, as "dir<TAB>device<TAB>size
# in bytes", for the capacity check's disk figures. Read-only.
for d in "$@"; do
  p=$d
  while [ ! -e "$p" ] && [ "$p" != / ]; do p=$(dirname "$p"); done
  printf '%s\t%s\t%s\n' "$d" "$(stat -c %d "$p")" "$(df -P -B1 "$p" | awk 'NR == 2 {print $2}')"
done
exit 0
