// What a resource hands its dependents as its `ref` output, made from its outputs: one definition for the resource
// classes (resources/, on the program's side) and the `virt` plugin (plugin/, on the provider's side).
import type { Overcommit } from "./hypervisor";

/** A Host's ref (HostRef): how to reach it and what it is. */
export function hostRefFrom<T extends { connection?: unknown; facts?: unknown }>(outs: T): Pick<T, "connection" | "facts"> {
  return { connection: outs.connection, facts: outs.facts };
}

/** A Hypervisor's ref (HypervisorRef); `overcommit` is the effective one, or none (the kind's default then). */
export function hypervisorRefFrom<T extends { kind?: unknown; emulated?: unknown; bridge?: unknown; storageDir?: unknown; host?: unknown }>(
  outs: T,
  overcommit?: Overcommit,
): Pick<T, "kind" | "emulated" | "bridge" | "storageDir" | "host"> & { overcommit?: Overcommit } {
  return { kind: outs.kind, emulated: outs.emulated, bridge: outs.bridge, storageDir: outs.storageDir, host: outs.host, ...(overcommit ? { overcommit } : {}) };
}

/** An Image's ref (ImageRef): the ready file and what it holds. */
export function imageRefFrom<T extends { path?: unknown; checksum?: unknown; format?: unknown }>(outs: T): Pick<T, "path" | "checksum" | "format"> {
  return { path: outs.path, checksum: outs.checksum, format: outs.format };
}

/** A Container's or Guest's ref: what a Snapshot needs to find the machine and prove it is this resource's. */
export function machineRefFrom<T extends { hypervisor?: unknown; name?: unknown; ownerToken?: unknown }>(outs: T): Pick<T, "hypervisor" | "name" | "ownerToken"> {
  return { hypervisor: outs.hypervisor, name: outs.name, ownerToken: outs.ownerToken };
}
