// Whether a host can run libvirt/QEMU guests, in one round trip.
import { Remote, RemoteCommandError } from "../../ssh/types";
import { attr, child, children, sections, XmlElement, xmlParser } from "./parse";
import { VERIFY_SCRIPT } from "./scripts";
import type { KvmHostFacts } from "./types";

export async function verifyKvm(remote: Remote): Promise<KvmHostFacts> {
  let out: string;
  try {
    out = (await remote.script(VERIFY_SCRIPT, [], { step: "check libvirt/QEMU", coalesce: true })).stdout;
  } catch (e) {
    if (e instanceof RemoteCommandError)
      throw new Error(
        `libvirt is not usable on ${remote.label}: ${e.stderrTail || e.message}. Install libvirt-daemon-system, libvirt-clients and qemu-system-x86, and start libvirtd.`,
      );
    throw e;
  }
  const s = sections(out);
  const ver = s.version ?? "";
  const flags = (s.flags ?? "").split("\n").map((x) => x.trim());
  const caps: XmlElement = xmlParser.parse(s.caps ?? "");
  const types = new Set<string>();
  for (const g of children(child(caps, "capabilities"), "guest")) {
    const arch = child(g, "arch");
    if (attr(arch, "name") !== "x86_64") continue;
    for (const d of children(arch, "domain")) {
      const t = attr(d, "type");
      if (t) types.add(t);
    }
  }
  return {
    libvirtVersion: /Using library: libvirt ([\d.]+)/.exec(ver)?.[1] ?? "unknown",
    qemuVersion: /Running hypervisor: QEMU ([\d.]+)/.exec(ver)?.[1] ?? "unknown",
    kvmDevice: (s.kvm ?? "").trim() === "yes",
    hardwareVirt: flags.includes("vmx") ? "vmx" : flags.includes("svm") ? "svm" : "none",
    domainTypes: [...types].sort(),
  };
}
