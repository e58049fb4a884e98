// Container: the engine's calls for an LXC system container, handed to the machine lifecycle.
import { CONTAINER_SETTINGS, containerArgsSchema, OS_FAMILIES } from "../../models/container";
import type { ContainerState, EngineProps } from "../../models/state";
import { containerRules } from "../../plan/rules";
import { containerDriverFor, MachineLifecycle } from "../../lifecycle/machine";

const osFamilyOf = (raw: EngineProps) => (OS_FAMILIES as readonly unknown[]).includes(raw.osFamily) ? String(raw.osFamily) : undefined;

const lifecycle = new MachineLifecycle<ContainerState>({
  noun: "container",
  schema: containerArgsSchema,
  nonArgs: ["hypervisor", "plannedChanges", "plannedAction", "observed", "lastApplied", "connection", "containerId", "ownerToken", "ownerKey", "addresses", "sshHostKey", "importedHypervisor"],
  settings: CONTAINER_SETTINGS,
  domainRules: (raw, hv) => containerRules(osFamilyOf(raw), hv),
  hostRules: (s) => {
    const facts = s.hypervisor.host.facts;
    return s.cpus && s.cpus > facts.cpus ? [{ property: "cpus", reason: `${s.cpus} CPUs requested but host "${facts.hostname}" has ${facts.cpus}` }] : [];
  },
  derived: (s) => ({ osFamily: s.osFamily ?? (s.hypervisor.host.facts.kernel.name.toLowerCase() as ContainerState["osFamily"]) }),
  driverFor: containerDriverFor,
  existsMessage: (s) =>
    `container "${s.name}" already exists on host "${s.hypervisor.host.facts.hostname}" and is not managed by pulumi-virt. ` +
    `Set adopt: true to take it over (its limits will be set to this program's values), or choose another name.`,
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
