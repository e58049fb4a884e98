# $1 old owner file, $2 new owner file: the owner's token moves with a renamed domain.
[ ! -f "$1" ] || mv -f -- "$1" "$2"
