// Public surface of the KVM/QEMU guest driver (libvirt, `virsh` over a Remote). No Pulumi, no ssh2.
export * from "./types";
export { kvmCapabilities } from "./capabilities";
export { domainPaths, consoleLogPath, stableMac, diskTargets } from "./paths";
export { InvalidDomainSpecError, validateGuestName, validateDomainSpec } from "./validate";
export { buildDomainXml } from "./domain-xml";
export { parseReadOutput, parseQemuImgInfo } from "./parse";
export type { QemuImageInfo } from "./parse";
export {
  readGuest,
  applyLive,
  shutdownGuest,
  startFailureHint,
  createGuest,
  restartWithDefinition,
  startGuest,
  destroyGuest,
  renameGuest,
  claimGuest,
  GuestOwnedElsewhereError,
} from "./guest";
export { verifyKvm } from "./host";
