// pulumi-virt: VMs and containers on your own hosts, with truthful live / restart / replace previews.
export { Host, HostArgs, ConnectionInput } from "./resources/host";
export { Hypervisor, HypervisorArgs } from "./resources/hypervisor";
export { Container, ContainerArgs } from "./resources/container";
export { Guest, GuestArgs } from "./resources/guest";
export { Network, NetworkArgs, StaticLeaseInput } from "./resources/network";
export { StoragePool, StoragePoolArgs } from "./resources/storage-pool";
export { Snapshot, SnapshotArgs } from "./resources/snapshot";
export { Image, ImageArgs } from "./resources/image";
export type { HostFacts, HostRef } from "./models/host";
export type { HypervisorRef, HypervisorKind } from "./models/hypervisor";
export type { ImageRef } from "./models/image";
export type { GuestCloneRef } from "./models/guest";
export { WebTier, WebTierArgs, WebTierSize, WEB_TIER_SIZES } from "./components/web-tier";
