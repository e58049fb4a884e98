// What `Hypervisor install: true` puts on a KVM host, and how the host is prepared.
import type { Remote } from "../../ssh/types";
import { installPackages, makeStorageDir } from "../host/install";

export const KVM_PACKAGES = ["qemu-system-x86", "qemu-utils", "libvirt-daemon-system", "libvirt-clients"];

export function installKvm(remote: Remote): Promise<void> {
  return installPackages(remote, "kvm", KVM_PACKAGES);
}

/** Guests' disks live under the storage directory. */
export function prepareKvmHost(remote: Remote, storageDir: string): Promise<void> {
  return makeStorageDir(remote, storageDir);
}
