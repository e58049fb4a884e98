// Installing and preparing a host for a hypervisor kind, by kind. Each driver owns its package list and
// preparation (<kind>/install.ts); this only picks the driver.
import type { HypervisorKind } from "../models/hypervisor";
import type { Remote } from "../ssh/types";
import { installKvm, prepareKvmHost } from "./kvm/install";
import { installLxc, prepareLxcHost } from "./lxc/install";
import { installXen, prepareXenHost } from "./xen/install";

const SETUP: Record<HypervisorKind, { install(remote: Remote): Promise<void>; prepare(remote: Remote, storageDir: string): Promise<void> }> = {
  lxc: { install: installLxc, prepare: prepareLxcHost },
  kvm: { install: installKvm, prepare: prepareKvmHost },
  xen: { install: installXen, prepare: prepareXenHost },
};

/** Installs the kind's Debian packages (Hypervisor install: true). */
export function installHypervisor(kind: HypervisorKind, remote: Remote): Promise<void> {
  return SETUP[kind].install(remote);
}

/** Prepares the host for guests of this kind (e.g. the storage directory). */
export function prepareHypervisorHost(kind: HypervisorKind, remote: Remote, storageDir: string): Promise<void> {
  return SETUP[kind].prepare(remote, storageDir);
}
