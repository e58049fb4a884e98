#!/bin/sh
# Builds a minimal container rootfs tarball whose init runs an SSH server, from this host's own static busybox
# (Debian: busybox-static) and OpenSSH sshd (openssh-server) with the libraries it links: enough for
# @pulumi/command's remote.Command to run commands in a pulumi-virt Container. Run it on the container's host.
#   sh ssh-rootfs.sh OUT.tar [TOKEN] < authorized_keys
# The keys on stdin may log in as root (pulumi-virt also authorizes its host connection's key in
# /root/.ssh/authorized_keys, and replaces the host key made here with the one it pins the connection to); TOKEN
# (optional) is written to /etc/interop-token, so a test can tell that a command ran inside this container.
# Without a static address the container takes a DHCP lease (busybox udhcpc).
set -eu
out=$1
token=${2:-}
bb=$(command -v busybox) || { echo "busybox not found (Debian: apt-get install busybox-static)" >&2; exit 2; }
[ -x /usr/sbin/sshd ] || { echo "/usr/sbin/sshd not found (Debian: apt-get install openssh-server)" >&2; exit 2; }
ldd "$bb" >/dev/null 2>&1 && { echo "$bb is linked dynamically; a static busybox is needed (busybox-static)" >&2; exit 2; }
r=$(mktemp -d)
trap 'rm -rf "$r"' EXIT
mkdir -p "$r/bin" "$r/sbin" "$r/usr/sbin" "$r/etc/init.d" "$r/etc/ssh" "$r/root" "$r/run/sshd" \
  "$r/proc" "$r/sys" "$r/dev" "$r/tmp" "$r/var/log"
chmod 1777 "$r/tmp"

cp "$bb" "$r/bin/busybox"
for applet in $("$r/bin/busybox" --list); do [ "$applet" = busybox ] || ln -s busybox "$r/bin/$applet"; done
ln -s ../bin/busybox "$r/sbin/init"

# sshd and every library it loads, at the paths the dynamic loader looks them up.
cp /usr/sbin/sshd "$r/usr/sbin/sshd"
for lib in $(ldd /usr/sbin/sshd | grep -o '/[^ ]*'); do
  mkdir -p "$r$(dirname "$lib")"
  cp -L "$lib" "$r$lib"
done

printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'sshd:x:101:65534::/run/sshd:/bin/false' > "$r/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' > "$r/etc/group"
# "*": no password, yet not a locked account (sshd refuses key logins to locked ones).
printf '%s\n' 'root:*:20000:0:99999:7:::' 'sshd:*:20000:0:99999:7:::' > "$r/etc/shadow"
chmod 600 "$r/etc/shadow"
printf '%s\n' 'passwd: files' 'group: files' 'shadow: files' > "$r/etc/nsswitch.conf"
cat > "$r/etc/ssh/authorized_keys"
chmod 600 "$r/etc/ssh/authorized_keys"
ssh-keygen -q -t ed25519 -N '' -C container -f "$r/etc/ssh/ssh_host_ed25519_key"
printf '%s\n' 'HostKey /etc/ssh/ssh_host_ed25519_key' 'PermitRootLogin prohibit-password' 'PasswordAuthentication no' \
  'KbdInteractiveAuthentication no' 'UsePAM no' 'StrictModes no' 'AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/authorized_keys' \
  'PidFile /run/sshd.pid' > "$r/etc/ssh/sshd_config"
[ -z "$token" ] || printf '%s\n' "$token" > "$r/etc/interop-token"

# Without a static address (LXC configures one before init runs), DHCP in the background: busybox udhcpc with a
# script that applies the lease (named with -s: busybox builds differ in their default path).
mkdir -p "$r/etc/udhcpc"
cat > "$r/etc/udhcpc/default.script" <<'SCRIPT'
#!/bin/sh
case $1 in
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
    [ -z "$router" ] || { route del default 2>/dev/null; route add default gw "${router%% *}" dev "$interface"; } ;;
  deconfig) ifconfig "$interface" 0.0.0.0 ;;
esac
SCRIPT
chmod 755 "$r/etc/udhcpc/default.script"
printf '%s\n' '#!/bin/sh' 'mkdir -p /run/sshd' \
  'ip -4 addr show dev eth0 2>/dev/null | grep -q inet || udhcpc -b -i eth0 -s /etc/udhcpc/default.script >/dev/null 2>&1' > "$r/etc/init.d/rcS"
chmod 755 "$r/etc/init.d/rcS"
# busybox init: sshd in the foreground, restarted if it dies; SIGUSR1 (LXC's halt for busybox) halts.
printf '%s\n' '::sysinit:/etc/init.d/rcS' '::respawn:/usr/sbin/sshd -D -e' > "$r/etc/inittab"

tar -cf "$out.partial" -C "$r" .
mv "$out.partial" "$out"
