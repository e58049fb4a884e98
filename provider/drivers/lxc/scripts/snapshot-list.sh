# $1 container, $2 token, $3 name prefix. Prints "snapshot NAME EPOCH BYTES" per complete snapshot of that token.
. ./snapshot-paths.sh
n=$1; tok=$2; pre=$3
snapshot_paths "$n" x
[ -d "$snaps" ] || exit 0
for s in "$snaps"/"$pre"*; do
  if [ ! -f "$s/owner" ] || [ ! -f "$s/ts" ]; then continue; fi
  read -r was < "$s/owner" || continue
  [ "$was" = "$tok" ] && snapshot_report "$s"
done
exit 0
