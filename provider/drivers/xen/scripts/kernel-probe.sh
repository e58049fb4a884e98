# $1 kernel path: is it bootable as a Xen PV guest? Prints key=value lines (see host.ts for the method).
k="$1"
[ -r "$k" ] || { echo "format=missing"; exit 0; }
hex() { od -An -tx1 -j "$1" -N "$2" "$k" | tr -d ' \n'; }
u32() { od -An -tu4 -j "$1" -N 4 "$k" | tr -d ' \n'; }
pat='\x04\x00\x00\x00[\x04\x08]\x00\x00\x00\x01\x00\x00\x00Xen\x00'
count() { LC_ALL=C grep -c -a -P "$pat"; }
if [ "$(hex 0 4)" = 7f454c46 ]; then
  echo "format=elf"; echo "compression=none"; echo "elf=yes"; echo "notes=$(count < "$k")"; exit 0
fi
if [ "$(hex 514 4)" != 48647253 ]; then echo "format=unknown"; exit 0; fi
echo "format=bzImage"
ss=$(od -An -tu1 -j 497 -N 1 "$k" | tr -d ' ')
po=$(u32 584); pl=$(u32 588)
[ "$ss" = 0 ] && ss=4
start=$(( (ss + 1) * 512 + po ))
magic=$(hex "$start" 6)
case "$magic" in
  1f8b*) c=gzip; d="gzip -dc";;
  fd377a585a00) c=xz; d="xz -dc";;
  28b52ffd*) c=zstd; d="zstd -dcq";;
  5d00*) c=lzma; d="xz --format=lzma -dc";;
  425a68*) c=bzip2; d="bzip2 -dc";;
  02214c18*) c=lz4; d="lz4 -dcq";;
  *) echo "compression=unknown:$magic"; exit 0;;
esac
echo "compression=$c"
command -v "${d%% *}" >/dev/null 2>&1 || { echo "missing=${d%% *}"; exit 0; }
tail -c +"$((start + 1))" "$k" | head -c "$pl" | $d 2>/dev/null | {
  m=$(dd bs=1 count=4 2>/dev/null | od -An -tx1 | tr -d ' \n')
  [ "$m" = 7f454c46 ] && echo elf=yes || echo elf=no
  echo "notes=$(count)"
}
