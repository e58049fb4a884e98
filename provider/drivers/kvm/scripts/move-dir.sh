# $1 old guest dir, $2 new guest dir (must not exist): moves a stopped guest's files for a rename.
set -e; [ -e "$2" ] && { echo "$2 already exists" >&2; exit 2; }; mv -- "$1" "$2"
