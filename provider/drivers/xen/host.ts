// Host checks: is this a usable dom0, and can a kernel boot as a PV guest.
import { Remote } from "../../ssh/types";
import { parseKernelProbe, parseVerifyOutput } from "./parse";
import { KERNEL_PROBE_SCRIPT, VERIFY_SCRIPT } from "./scripts";
import type { KernelPvProbe, XenHostFacts } from "./types";
import { validatePath } from "./validate";

/** Whether the host is a usable Xen dom0, and its capacity, in one round trip. */
export async function verifyXen(remote: Remote): Promise<XenHostFacts> {
  const r = await remote.script(VERIFY_SCRIPT, [], { step: "verify Xen", coalesce: true });
  return parseVerifyOutput(r.stdout);
}

/** Decide on the host whether kernelPath can boot as a PV domU (see the comment above the script). */
export async function kernelIsXenPvCapable(remote: Remote, kernelPath: string): Promise<KernelPvProbe> {
  validatePath("kernel", kernelPath);
  const r = await remote.script(KERNEL_PROBE_SCRIPT, [kernelPath], { step: `inspect kernel ${kernelPath}`, timeoutMs: 600_000 });
  return parseKernelProbe(kernelPath, r.stdout);
}
