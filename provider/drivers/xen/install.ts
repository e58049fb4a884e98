// What `Hypervisor install: true` puts on a Xen dom0, and how the host is prepared.
import type { Remote } from "../../ssh/types";
import { installPackages, makeStorageDir } from "../host/install";

export const XEN_PACKAGES = ["xen-utils-4.17"];

export function installXen(remote: Remote): Promise<void> {
  return installPackages(remote, "xen", XEN_PACKAGES);
}

/** Guests' disk images live under the storage directory. */
export function prepareXenHost(remote: Remote, storageDir: string): Promise<void> {
  return makeStorageDir(remote, storageDir);
}
