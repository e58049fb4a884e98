# Host facts for LXC: version, cgroup version, bridges, templates. Read-only.
printf 'version\t%s\n' "$(lxc-create --version 2>/dev/null)"
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo 'cgroup	2'; else echo 'cgroup	1'; fi
for b in /sys/class/net/*/bridge; do [ -d "$b" ] && { b=${b%/bridge}; printf 'bridge\t%s\n' "${b##*/}"; }; done
for t in /usr/share/lxc/templates/lxc-*; do [ -x "$t" ] && printf 'template\t%s\n' "${t##*/lxc-}"; done
exit 0
