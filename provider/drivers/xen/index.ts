// Public surface of the Xen PV guest driver (the `xl` toolstack over a Remote). No Pulumi, no ssh2.
export * from "./types";
export { DEFAULT_CONFIG_DIR, CONSOLE_LOG_DIR, configPath, ownerPath, consoleLogPath, hotplugScriptPath } from "./paths";
export { xenCapabilities } from "./capabilities";
export { InvalidXenSpecError, validateDomainName, validateXenSpec } from "./validate";
export { renderXlConfig } from "./xl-config";
export { parseStateFlags, parseUptime, parseNetworkList, parseReadOutput, parseVerifyOutput, parseKernelProbe } from "./parse";
export { readDomain, createDomain, applyLive, shutdownDomain, restartWithConfig, destroyDomain, seedRootDisk, DomainOwnedElsewhereError, claimDomain, moveImages, writeSeed } from "./domain";
import { kernelIsXenPvCapable as probeKernel } from "./host";
export { verifyXen } from "./host";
// A plain (assignable) export, as before the split: unit tests answer this host read without SSH.
export const kernelIsXenPvCapable = probeKernel;
export { RemoteCommandError } from "../../ssh/types";
export { installXen, prepareXenHost, XEN_PACKAGES } from "./install";
export { attachDisk, detachDisk, growDisk, installHotplugScript } from "./disks";
export { attachNic, detachNic } from "./nics";
