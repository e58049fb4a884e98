// Hypervisor: the engine's calls, handed to the Hypervisor lifecycle.
export { check, diff, create, read, update, del as delete, capabilitiesOf, summarizeCapabilities } from "../../lifecycle/hypervisor";
