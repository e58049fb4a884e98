# Whether this host is a Xen dom0 and its `xl info`, in sections framed by @@ lines. Read-only.
echo @@caps; cat /proc/xen/capabilities 2>/dev/null
if command -v xl >/dev/null 2>&1; then echo @@info; xl info 2>&1; rc=$?; echo @@rc; echo "$rc"; else echo @@noxl; fi
