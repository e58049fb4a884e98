// What `Hypervisor install: true` puts on an LXC host, and how the host is prepared.
import type { Remote } from "../../ssh/types";
import { installPackages } from "../host/install";

export const LXC_PACKAGES = ["lxc", "lxc-templates", "busybox-static", "xfsprogs", "btrfs-progs", "rsync", "debootstrap"];

export function installLxc(remote: Remote): Promise<void> {
  return installPackages(remote, "lxc", LXC_PACKAGES);
}

/** Nothing to prepare: LXC keeps containers under its own lxc.lxcpath. */
export async function prepareLxcHost(_remote: Remote, _storageDir: string): Promise<void> {}
