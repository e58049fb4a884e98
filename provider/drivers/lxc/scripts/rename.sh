# $1 from, $2 to. Renames a stopped container by moving its directory and rewriting its own paths.
set -eu
from=$1; to=$2
LXCPATH=$(lxc-config lxc.lxcpath 2>/dev/null) || true; [ -n "$LXCPATH" ] || LXCPATH=/var/lib/lxc
a="$LXCPATH/$from"; b="$LXCPATH/$to"; R="$LXCPATH/.pulumi-virt"
# The registration moves with the container (written before the move, so an interruption leaves both names).
reregister() { mkdir -p "$R"; if [ -f "$R/$from" ]; then cat "$R/$from" > "$R/$to"; elif [ ! -f "$R/$to" ]; then : > "$R/$to"; fi; rm -f "$R/$from"; }
if [ ! -d "$a" ] && [ -f "$b/config" ]; then reregister; echo already-renamed; exit 0; fi
[ -f "$a/config" ] || { echo "container $from does not exist" >&2; exit 3; }
[ ! -e "$b" ] || { echo "container $to already exists" >&2; exit 3; }
st=$(lxc-info -n "$from" -s 2>/dev/null) || true
case $st in *STOPPED*) ;; *) echo "container $from is not stopped ($st); LXC renames only stopped containers" >&2; exit 4 ;; esac
mv "$a" "$b"
t="$b/config.tmp.$$"
while IFS= read -r line; do
  case $line in
    lxc.uts.name*=*) line="lxc.uts.name = $to" ;;
    *"$a/"*) line="${line%%"$a/"*}$b/${line#*"$a/"}" ;;
    *"$a") line="${line%"$a"}$b" ;;
  esac
  printf '%s\n' "$line"
done < "$b/config" > "$t"
chmod 640 "$t"; mv -f "$t" "$b/config"
reregister
echo renamed
