// A PV guest's vifs while it runs: plugged in and out through xenstore (xl network-attach / network-detach). The
// saved config (rewritten by the caller) keeps them for the next start.
import type { Remote } from "../../ssh/types";
import { ATTACH_NIC_SCRIPT, DETACH_NIC_SCRIPT } from "./scripts";
import { BRIDGE_RE, InvalidXenSpecError, MAC_RE, validateDomainName } from "./validate";

/** xl network-detach waits for the guest's netfront to let go; this bounds xl. */
const NIC_TIMEOUT_MS = 5 * 60 * 1000;

function validateNic(bridge: string | undefined, mac: string): void {
  if (bridge !== undefined && !BRIDGE_RE.test(bridge)) throw new InvalidXenSpecError(`nic bridge ${JSON.stringify(bridge)} must be an interface name of 1-15 [A-Za-z0-9_.-]`);
  if (!MAC_RE.test(mac)) throw new InvalidXenSpecError(`nic mac ${JSON.stringify(mac)} must be a MAC like 00:16:3e:12:34:56`);
}

/** Plugs a vif on bridge with mac into the running domain; "present" when it has that MAC already. */
export async function attachNic(remote: Remote, name: string, bridge: string, mac: string): Promise<"attached" | "present"> {
  validateDomainName(name);
  validateNic(bridge, mac);
  const r = await remote.script(ATTACH_NIC_SCRIPT, [name, bridge, mac.toLowerCase()], { step: `attach NIC ${mac} to ${name}`, timeoutMs: NIC_TIMEOUT_MS });
  return r.stdout.trim().split("\n").pop() as "attached" | "present";
}

/** Unplugs the vif with mac from the running domain; "absent" when it has none. */
export async function detachNic(remote: Remote, name: string, mac: string): Promise<"detached" | "absent"> {
  validateDomainName(name);
  validateNic(undefined, mac);
  const r = await remote.script(DETACH_NIC_SCRIPT, [name, mac.toLowerCase()], { step: `detach NIC ${mac} from ${name}`, timeoutMs: NIC_TIMEOUT_MS });
  return r.stdout.trim().split("\n").pop() as "detached" | "absent";
}
