# A host's facts as key=value lines, in one round trip. Tools that are absent print nothing. Read-only, no root needed.
set +e
echo "hostname=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
echo "machine_id=$(cat /etc/machine-id 2>/dev/null)"
# The host's own file: nothing of ours to follow.
# shellcheck source=/dev/null
if [ -r /etc/os-release ]; then . /etc/os-release; fi
echo "os_id=${ID:-unknown}"
echo "os_version_id=${VERSION_ID:-}"
echo "os_pretty=${PRETTY_NAME:-}"
echo "kernel_name=$(uname -s)"
echo "kernel_release=$(uname -r)"
echo "arch=$(uname -m)"
echo "cpus=$(nproc 2>/dev/null || grep -c ^processor /proc/cpuinfo)"
echo "mem_kb=$(awk '/^MemTotal:/{print $2}' /proc/meminfo)"
echo "vmx=$(grep -c -w vmx /proc/cpuinfo)"
echo "svm=$(grep -c -w svm /proc/cpuinfo)"
[ -c /dev/kvm ] && echo "dev_kvm=1" || echo "dev_kvm=0"
if [ -r /proc/xen/capabilities ] && grep -q control_d /proc/xen/capabilities; then echo "xen_dom0=1"; else echo "xen_dom0=0"; fi
fs=$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)
echo "cgroup_fs=$fs"
[ -d /sys/fs/cgroup/unified ] && echo "cgroup_unified_dir=1"
command -v lxc-ls >/dev/null 2>&1 && echo "tool_lxc=$(lxc-ls --version 2>/dev/null)"
command -v virsh >/dev/null 2>&1 && echo "tool_libvirt=$(virsh --version 2>/dev/null)"
for q in qemu-system-x86_64 qemu-system-aarch64; do
  if command -v $q >/dev/null 2>&1; then echo "tool_qemu=$($q --version 2>/dev/null | head -n1 | awk '{print $4}')"; break; fi
done
command -v xl >/dev/null 2>&1 && echo "tool_xl=$(xl info 2>/dev/null | awk -F': *' '/^xen_version/{print $2}')"
exit 0
