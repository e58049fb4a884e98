// Public surface of the LXC container driver. No Pulumi, no ssh2: only a Remote.
export * from "./types";
export { capabilitiesFor, lxcCapabilities } from "./capabilities";
export {
  validateSpec,
  validateName,
  mergeConfig,
  renderManagedBlock,
  limitEntries,
  parseCpuList,
  formatCpuList,
  firstCpus,
  sharesToWeight,
  weightToShares,
} from "./config";
export { parseReadOutput, toObserved } from "./observe";
export {
  readContainer,
  readContainers,
  readAllContainers,
  createContainer,
  ContainerExistsError,
  ContainerOwnedElsewhereError,
  claimContainer,
  findContainerByOwner,
  unregisterContainer,
  applyLive,
  stopContainer,
  startContainer,
  restartContainer,
  renameContainer,
  destroyContainer,
  destroyContainerReport,
  hostCgroupVersion,
  verifyLxc,
  liveCgroupWrites,
  persistedLimits,
} from "./driver";
export type { DestroyReport, LxcHostInfo, StopResult, ApplyLiveOptions, CreateOptions } from "./driver";
export { readContainerCoalesced, hostChanged } from "./batched-read";
export { installLxc, prepareLxcHost, LXC_PACKAGES } from "./install";
