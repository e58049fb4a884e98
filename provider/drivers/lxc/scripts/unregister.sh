# $1 the register directory under the LXC path, $2 name: forget a container (it stays on the host).
d=$(lxc-config lxc.lxcpath 2>/dev/null) || true; rm -f "${d:-/var/lib/lxc}/$1/$2"
