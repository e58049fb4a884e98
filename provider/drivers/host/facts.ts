// Reads a host's facts in one round trip. No Pulumi, no ssh2: takes a Remote.
import type { Remote } from "../../ssh/types";
import type { HostFacts } from "../../models/host";
import { shellScript } from "../shell";

const FACTS_SCRIPT = shellScript("host", "facts.sh");

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
