# libvirt / QEMU facts of the host, sections framed by @@ lines. Read-only.
c=qemu:///system
echo "@@version"; virsh -c "$c" version || exit 1
echo "@@kvm"; [ -e /dev/kvm ] && echo yes || echo no
echo "@@flags"; grep -owE 'vmx|svm' /proc/cpuinfo | sort -u
echo "@@caps"; virsh -c "$c" capabilities
echo "@@end"
