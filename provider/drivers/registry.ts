// Hypervisor kind → backend. Adding a backend is a new folder under drivers/ (with a backend.ts) plus one line here
// (and its kind in models/hypervisor.ts). Backends load on first use, so a program that uses only containers never
// loads the VM drivers.
import type { HypervisorKind } from "../models/hypervisor";
import type { ContainerState, GuestState } from "../models/state";
import type { AllocationReader, HostDriver, MachineDriver } from "./contract";

export interface Backend {
  host: HostDriver;
  /** Exactly one of these: the resource this backend's machines are. */
  container?: MachineDriver<ContainerState, string, unknown>;
  guest?: MachineDriver<GuestState, string, unknown>;
}

const BACKENDS: Record<HypervisorKind, () => Backend> = {
  lxc: () => (require("./lxc/backend") as typeof import("./lxc/backend")).backend,
  kvm: () => (require("./kvm/backend") as typeof import("./kvm/backend")).backend,
  xen: () => (require("./xen/backend") as typeof import("./xen/backend")).backend,
};

export const BACKEND_KINDS = Object.keys(BACKENDS) as HypervisorKind[];

export function backendFor(kind: HypervisorKind): Backend {
  return BACKENDS[kind]();
}

/** Each kind's read of its machines' sizes, loaded apart from its backend (a capacity check reads every kind). */
const ALLOCATION_READERS: Record<HypervisorKind, () => AllocationReader> = {
  lxc: () => (require("./lxc/allocations") as typeof import("./lxc/allocations")).lxcAllocations,
  kvm: () => (require("./kvm/allocations") as typeof import("./kvm/allocations")).kvmAllocations,
  xen: () => (require("./xen/allocations") as typeof import("./xen/allocations")).xenAllocations,
};

export function allocationReaders(): AllocationReader[] {
  return BACKEND_KINDS.map((k) => ALLOCATION_READERS[k]());
}
