// Container reads through the transport's read batching (ssh/read-batch.ts): reads of one host's containers
// asked at about the same time cost one round trip; refresh reads may be answered from a host snapshot.
import { KeyedReads, type ReadOptions } from "../../ssh/read-batch";
import type { Remote } from "../../ssh/types";
import { readAllContainers, readContainer, readContainers } from "./driver";
import type { ContainerObserved } from "./types";

const containerReads = new KeyedReads<ContainerObserved>({ readOne: readContainer, readMany: readContainers, readAll: readAllContainers });

/** Live state of one container, read together with the other containers of this host asked for at about the same time. */
export function readContainerCoalesced(remote: Remote, name: string, opts: ReadOptions = {}): Promise<ContainerObserved | undefined> {
  return containerReads.read(remote, name, opts);
}

/** Something changed on the host: its refresh snapshot (and any being taken) must not answer later reads. */
export function hostChanged(remote: Remote): void {
  containerReads.hostChanged(remote);
}

/** Refresh: take the host's container snapshot now, with the Hypervisor's verify (one round trip for both). */
export function prefetchContainers(remote: Remote): void {
  containerReads.prefetch(remote);
}
