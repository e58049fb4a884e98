# $1 kernel path: is it bootable as a Xen PV guest? Prints key=value lines (see host.ts for the method).
k="$1"
[ -r "$k" ] || { echo "format=missing"; exit 0; }
hex() { od -An -tx1 -j "$1" -N "$2" "$k" | tr -d ' \n'; }
u32() { od -An -tu4 -j "$1" -N 4 "$k" | tr -d ' \n'; }
pat='\x04\x00\x00\x00[\x04\x08]\x00\x00\x00\x01\x00\x00\x00Xen\x00'
# A kernel has few newline bytes, and grep holds a whole "line" in memory: cut the stream at every 0xff byte (not in
# the pattern) so its memory stays small on a dom0 short of it. grep exits 2 on an error (1: no match): say so, since
# a count that was never made is not "no note".
count() {
  c=$(LC_ALL=C tr '\377' '\n' | LC_ALL=C grep -c -a -P "$pat"); rc=$?
  if [ "$rc" -gt 1 ] || [ -z "$c" ]; then echo "error=searching the kernel for the note failed (grep exit $rc)"; else echo "notes=$c"; fi
}
if [ "$(hex 0 4)" = 7f454c46 ]; then
  echo "format=elf"; echo "compression=none"; echo "elf=yes"; count < "$k"; exit 0
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
# The decompressor's exit code says nothing (the payload ends with its size, which xz calls unexpected input), so the
# bytes it gave are counted (dd) and compared with that size: a decompressor killed short of memory is an error, not
# a kernel without the note.
st=$(mktemp)
tail -c +"$((start + 1))" "$k" | head -c "$pl" | $d 2>/dev/null | dd bs=65536 2>"$st" | {
  m=$(dd bs=1 count=4 2>/dev/null | od -An -tx1 | tr -d ' \n')
  [ "$m" = 7f454c46 ] && echo elf=yes || echo elf=no
  count
}
got=$(sed -n 's/^\([0-9][0-9]*\) bytes.*/\1/p' "$st" | tail -n1); rm -f "$st"
want=$(u32 $((start + pl - 4)))
[ "$got" = "$want" ] || echo "error=decompressing the kernel's payload gave ${got:-no} bytes of $want (short of memory on the host?)"
