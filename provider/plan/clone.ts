// rootDisk.cloneFrom refusals knowable at preview: a Guest object gives its source's host and whether the program
// wants it running. Pure: the checked inputs and the program's raw cloneFrom in, failures out. At `up` the host is
// asked again (drivers/kvm/clone.ts), for what a preview cannot know (a source started by hand, a hand-written ref).
import type { HypervisorRef } from "../models/hypervisor";
import type { PlannedAction } from "../models/state";

export interface CloneFailure {
  property: string;
  reason: string;
}

/**
 * A copy is made when the guest is created or replaced, so only then must its source be stopped; a running source
 * never blocks a guest that already exists. A source on another host is refused always: clones are made beside it.
 * Each field is read on its own: a source created in the same program has no owner token yet at preview, but its
 * host and running are known.
 */
export function cloneFromFailures(rawCloneFrom: unknown, hv: HypervisorRef, action: PlannedAction | undefined): CloneFailure[] {
  if (!rawCloneFrom || typeof rawCloneFrom !== "object" || !("guest" in rawCloneFrom)) return [];
  const raw = rawCloneFrom as { guest?: unknown; host?: unknown; running?: unknown };
  const src = { guest: typeof raw.guest === "string" && /^[\w.-]+$/.test(raw.guest) ? raw.guest : "(its source)", host: typeof raw.host === "string" ? raw.host : undefined, running: raw.running };
  const here = hv.host.facts.hostname;
  const out: CloneFailure[] = [];
  if (src.host !== undefined && src.host !== here)
    out.push({ property: "rootDisk.cloneFrom", reason: `guest "${src.guest}" is on host "${src.host}", this guest on host "${here}": a clone is made on its source's host; put this guest on a Hypervisor of host "${src.host}"` });
  if (src.running === true && (action === "create" || action === "replace"))
    out.push({
      property: "rootDisk.cloneFrom",
      reason: `guest "${src.guest}" is meant to run (running: true): only a stopped guest is copied (a running one writes under the copy). ` +
        `Set running: false on guest "${src.guest}" for the up that creates this guest (stopping it is a live change), and start it again in a later up`,
    });
  return out;
}
