// Guest: the engine's calls for a VM (full virtualization on kvm, paravirtualized on xen), handed to the machine
// lifecycle. The backend is chosen by the hypervisor's kind.
import { defaultNicMac, GUEST_SETTINGS, guestArgsSchema, VIRTUALIZATION_FORMS, VirtualizationForm } from "../../models/guest";
import type { EngineProps, GuestState } from "../../models/state";
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
export const check = lifecycle.check.bind(lifecycle);
export const diff = lifecycle.diff.bind(lifecycle);
export const create = lifecycle.create.bind(lifecycle);
export const importMachine = lifecycle.importMachine.bind(lifecycle);
export const read = lifecycle.read.bind(lifecycle);
export const update = lifecycle.update.bind(lifecycle);
const del = lifecycle.delete.bind(lifecycle);
export { del as delete };
