// Public surface of the KVM/QEMU guest driver (libvirt, `virsh` over a Remote). No Pulumi, no ssh2.
export * from "./types";
export { kvmCapabilities } from "./capabilities";
export { domainPaths, consoleLogPath, stableMac, diskTargets, dataDiskPath } from "./paths";
export { attachDataDisk, detachDataDisk, DiskDetachRefusedError, DETACH_WAIT_SEC, freeTarget } from "./hotplug";
export { InvalidDomainSpecError, validateGuestName, validateDomainSpec } from "./validate";
export { buildDomainXml } from "./domain-xml";
export { parseReadOutput, parseQemuImgInfo } from "./parse";
export {
  GuestOwnedElsewhereError,
  claimGuest,
  readGuest,
  applyLive,
  shutdownGuest,
  startFailureHint,
  createGuest,
  restartWithDefinition,
  startGuest,
  destroyGuest,
  renameGuest,
} from "./guest";
export { verifyKvm } from "./host";
export { installKvm, prepareKvmHost, KVM_PACKAGES } from "./install";
