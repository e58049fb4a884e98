# $1 path  $2 image file|"" (dir pool). Prints "key=value" lines: present=0|1, mounted=0|1, owner=<token>,
# fstype, sizeBytes, freeBytes, imageBytes, entries=<count>, entry=<name> (the first 20).
. ./pool-common.sh

path=$1 img=$2
if [ -d "$path" ]; then echo present=1; else echo present=0; fi
if is_mounted "$path"; then echo mounted=1; else echo mounted=0; fi
owner=; [ -f "$path/$POOL_MARKER" ] && read -r owner < "$path/$POOL_MARKER"
echo "owner=$owner"
if [ -d "$path" ]; then
  df -B1 --output=fstype,size,avail "$path" 2>/dev/null | tail -n 1 | awk '{print "fstype=" $1; print "sizeBytes=" $2; print "freeBytes=" $3}'
  n=$(pool_entries "$path" | wc -l)
  echo "entries=$n"
  pool_entries "$path" | head -n 20 | sed 's/^/entry=/'
fi
[ -n "$img" ] && [ -f "$img" ] && echo "imageBytes=$(stat -c %s "$img")"
exit 0
