// Reads a host's facts in one round trip. No Pulumi, no ssh2: takes a Remote.
import type { Remote } from "../../ssh/types";
import type { HostFacts } from "../../models/host";

// Fixed script; prints key=value lines. Tools that are absent print nothing.
const FACTS_SCRIPT = `
set +e
echo "hostname=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
echo "machine_id=$(cat /etc/machine-id 2>/dev/null)"
if [ -r /etc/os-release ]; then . /etc/os-release; fi
echo "os_id=\${ID:-unknown}"
echo "os_version_id=\${VERSION_ID:-}"
echo "os_pretty=\${PRETTY_NAME:-}"
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
`;

export function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export function factsFromKeyValues(kv: Record<string, string>): HostFacts {
  const vmx = Number(kv.vmx ?? 0) > 0;
  const svm = Number(kv.svm ?? 0) > 0;
  const hw: HostFacts["hardwareVirtualization"] = vmx ? "vmx" : svm ? "svm" : "none";
  const v2 = kv.cgroup_fs === "cgroup2fs";
  const tools: HostFacts["tools"] = {};
  if (kv.tool_lxc) tools.lxc = kv.tool_lxc;
  if (kv.tool_libvirt) tools.libvirt = kv.tool_libvirt;
  if (kv.tool_qemu) tools.qemu = kv.tool_qemu;
  if (kv.tool_xl) tools.xl = kv.tool_xl;
  return {
    hostname: kv.hostname ?? "",
    machineId: kv.machine_id ?? "",
    os: { id: kv.os_id ?? "unknown", versionId: kv.os_version_id ?? "", prettyName: kv.os_pretty ?? "" },
    kernel: { name: kv.kernel_name ?? "", release: kv.kernel_release ?? "" },
    arch: kv.arch ?? "",
    cpus: Number(kv.cpus ?? 0),
    memoryMiB: Math.floor(Number(kv.mem_kb ?? 0) / 1024),
    hardwareVirtualization: hw,
    kvmUsable: kv.dev_kvm === "1" && hw !== "none",
    xenDom0: kv.xen_dom0 === "1",
    cgroupVersion: v2 ? 2 : 1,
    cgroupLayout: v2 ? "unified" : kv.cgroup_unified_dir === "1" ? "hybrid" : "legacy",
    tools,
  };
}

export async function readHostFacts(remote: Remote): Promise<HostFacts> {
  const res = await remote.script(FACTS_SCRIPT, [], { step: "read host facts", sudo: false, coalesce: true });
  return factsFromKeyValues(parseKeyValues(res.stdout));
}

/** The OS family a container on this host must have: containers share the host's kernel. */
export function osFamilyOf(facts: Pick<HostFacts, "kernel">): string {
  return facts.kernel.name.toLowerCase();
}
