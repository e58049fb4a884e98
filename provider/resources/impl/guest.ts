// Guest: the engine's calls for a VM (full virtualization on kvm, paravirtualized on xen), handed to the machine
// lifecycle. The backend is chosen by the hypervisor's kind.
import { defaultNicMac, GUEST_SETTINGS, guestArgsSchema, VIRTUALIZATION_FORMS, VirtualizationForm } from "../../models/guest";
import { EngineProps, fromEngine, GuestState } from "../../models/state";
import { cloneFromFailures } from "../../plan/clone";
import { isUnknown } from "../../lifecycle/support";
import { guestRules } from "../../plan/rules";
import { guestDriverFor, MachineLifecycle } from "../../lifecycle/machine";

const formOf = (raw: EngineProps): VirtualizationForm | undefined => VIRTUALIZATION_FORMS.find((f) => f === raw.virtualization);

const lifecycle = new MachineLifecycle<GuestState>({
  noun: "guest",
  schema: guestArgsSchema,
  nonArgs: ["hypervisor", "plannedChanges", "plannedAction", "observed", "lastApplied", "connection", "emulated", "ownerToken", "addresses", "sshHostKey", "importedHypervisor"],
  settings: GUEST_SETTINGS,
  domainRules: (raw, hv) => {
    const form = formOf(raw);
    return form ? guestRules(form, hv) : [];
  },
  hostRules: () => [],
  // Emulation is visible in the guest's own inputs, so every preview of a TCG guest says so.
  // NICs get their MACs here (kept in state from then on), so preview shows the MAC a new NIC will have.
  derived: (s) => ({ emulated: s.hypervisor.emulated, ...(s.nics ? { nics: s.nics.map((n, i) => ({ ...n, mac: n.mac ?? defaultNicMac(s.name, i) })) } : {}) }),
  driverFor: guestDriverFor,
  existsMessage: (s) => `guest "${s.name}" already exists on host "${s.hypervisor.host.facts.hostname}". Set adopt: true to take it over, or choose another name.`,
});

export const planFor = lifecycle.planFor.bind(lifecycle);
export const inputNameOf = lifecycle.inputNameOf.bind(lifecycle);
/** The lifecycle's check, then what preview can know about a cloneFrom source (plan/clone.ts). */
export async function check(olds: EngineProps, news: EngineProps) {
  const r = await lifecycle.check(olds, news);
  const rawCloneFrom = (news.rootDisk as EngineProps | undefined)?.cloneFrom;
  if (rawCloneFrom !== undefined && r.failures.length === 0 && !isUnknown(news.hypervisor) && news.hypervisor !== undefined) {
    const s = fromEngine<GuestState>(r.inputs);
    // With unknowns (a source created in this program) check records no plan: no old state is a create.
    const created = !olds || Object.keys(olds).length === 0 || olds.name === undefined;
    r.failures.push(...cloneFromFailures(rawCloneFrom, s.hypervisor, s.plannedAction ?? (created ? "create" : undefined)));
  }
  return r;
}
export const diff = lifecycle.diff.bind(lifecycle);
export const create = lifecycle.create.bind(lifecycle);
export const importMachine = lifecycle.importMachine.bind(lifecycle);
export const read = lifecycle.read.bind(lifecycle);
export const update = lifecycle.update.bind(lifecycle);
const del = lifecycle.delete.bind(lifecycle);
export { del as delete };
