# $1 guest dir, then the files to remove: the guest's files, its seed and definition, the dir if empty.
dir="$1"; shift
for f in "$@"; do rm -f -- "$f" "$f.partial"; done
rm -rf -- "$dir/seed" "$dir/cidata"
rm -f -- "$dir/domain.xml"
rmdir -- "$dir" 2>/dev/null
exit 0
