// The design brief's domain rules, as pure checks that run at check time (before any change, visible in preview).
import type { HostFacts } from "../models/host";
import type { HypervisorKind, HypervisorRef } from "../models/hypervisor";

export interface RuleFailure {
  property: string;
  reason: string;
}

function hostName(f: HostFacts): string {
  return `host "${f.hostname}"`;
}

/** Rules for a Hypervisor of `kind` on a host with `facts`. */
export function hypervisorRules(kind: HypervisorKind, facts: HostFacts, allowEmulation: boolean): RuleFailure[] {
  const out: RuleFailure[] = [];
  if (kind === "kvm" && !facts.kvmUsable && !allowEmulation) {
    const why =
      facts.hardwareVirtualization === "none"
        ? "its CPU has no hardware virtualization (no Intel VT-x 'vmx' or AMD-V 'svm' flag)"
        : "/dev/kvm is missing or unusable";
    out.push({
      property: "allowEmulation",
      reason:
        `${hostName(facts)} cannot run full virtualization with hardware support: ${why}. ` +
        `Guests would run only under QEMU software emulation (TCG), many times slower. ` +
        `Set allowEmulation: true to accept emulation, or use a host with Intel VT-x / AMD-V.`,
    });
  }
  if (kind === "xen" && !facts.xenDom0) {
    out.push({
      property: "kind",
      reason:
        `${hostName(facts)} is not a Xen dom0 (/proc/xen/capabilities has no control_d): ` +
        `a xen hypervisor needs the host booted under the Xen hypervisor with this OS as dom0 and the xl toolstack.`,
    });
  }
  if (kind === "lxc" && facts.kernel.name.toLowerCase() !== "linux") {
    out.push({ property: "kind", reason: `${hostName(facts)} runs ${facts.kernel.name}; LXC containers need a Linux host` });
  }
  return out;
}

/** Rules for a Guest of a given virtualization form on a hypervisor. */
export function guestRules(form: "full" | "para", hv: HypervisorRef): RuleFailure[] {
  if (form === "para" && hv.kind !== "xen") {
    return [{
      property: "virtualization",
      reason:
        `a paravirtualized guest runs only on the hypervisor its OS was modified for: this guest's OS is modified for Xen (PV), ` +
        `but its hypervisor is "${hv.kind}". Put it on a xen Hypervisor, or use virtualization: "full" with an unmodified OS.`,
    }];
  }
  if (form === "full" && hv.kind !== "kvm") {
    return [{
      property: "virtualization",
      reason: `full virtualization guests run on a kvm Hypervisor (libvirt + QEMU); this guest's hypervisor is "${hv.kind}"` +
        (hv.kind === "xen" ? " (Xen HVM guests are not supported by this provider; use virtualization: \"para\")" : ""),
    }];
  }
  return [];
}

/** A container shares the host's kernel: its OS must be the host's. */
export function containerRules(osFamily: string | undefined, hv: HypervisorRef): RuleFailure[] {
  const out: RuleFailure[] = [];
  if (hv.kind !== "lxc") {
    out.push({ property: "hypervisor", reason: `a Container runs on an lxc Hypervisor; this one is "${hv.kind}". Use a Guest for VMs.` });
  }
  const hostOs = hv.host.facts.kernel.name.toLowerCase();
  if (osFamily && osFamily !== hostOs) {
    out.push({
      property: "osFamily",
      reason:
        `a container shares the host's kernel, so its OS must be the host's: host "${hv.host.facts.hostname}" runs ${hostOs} ` +
        `(${hv.host.facts.os.prettyName || hv.host.facts.os.id}, kernel ${hv.host.facts.kernel.release}), but osFamily is "${osFamily}". ` +
        `Run a ${osFamily} system as a Guest (full virtualization) instead.`,
    });
  }
  return out;
}
