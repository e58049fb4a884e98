// Per-host coalescing of container reads (issue 11, P5). Each read alone costs a round trip; `pulumi refresh`
// asks for every container's state at about the same time.
//
// 1. Coalescing: reads that arrive while a host's window is open are served by ONE readContainers(remote, names)
//    round trip. The window opens with the first read and closes when no further read arrived for IDLE ms, or
//    MAX_WAIT ms after it opened. Every waiter's answer was read after it asked.
// 2. Host snapshot, for refresh reads only (opts.hostSnapshot): the engine sends at most --parallel reads at once
//    (default 4 x cores = 8 here) and the next ones only as earlier ones return, so coalescing alone cannot go
//    below N/8 round trips. A refresh window therefore reads ALL the host's containers (one round trip, which the
//    transport may also share with the Host's and Hypervisor's reads: ExecOptions.coalesce); refresh reads in the
//    next SNAPSHOT_TTL ms are answered from that snapshot. A container missing from the snapshot is read again (a
//    refresh must never drop a resource on old news), and any strict read (the observe after create/update)
//    discards the host's snapshot, so state read before a change is not served after it.
import { readAllContainers, readContainer, readContainers } from "./driver";
import type { ContainerObserved } from "./types";
import type { Remote } from "../../ssh/types";
import { forRefresh } from "../../ssh/refresh";

/** Idle gap that closes a window. PULUMI_VIRT_READ_BATCH_MS overrides it; 0 turns batching off (one round trip per read). */
const DEFAULT_IDLE_MS = 15;
/** Upper bound on the delay a read can get from waiting for others. */
const MAX_WAIT_MS = 100;
/** How long a host snapshot answers refresh reads. */
const SNAPSHOT_TTL_MS = 5_000;

export interface ReadOptions {
  /** Accept state from a host snapshot up to SNAPSHOT_TTL_MS old (refresh). Default: read after asking. */
  hostSnapshot?: boolean;
}

interface Waiter {
  resolve: (o: ContainerObserved | undefined) => void;
  reject: (e: unknown) => void;
}

interface Window {
  waiters: Map<string, Waiter[]>;
  wantsSnapshot: boolean;
  openedAt: number;
  timer?: NodeJS.Timeout;
}

interface Snapshot {
  takenAt: number;
  states: Map<string, ContainerObserved>;
}

function idleMs(): number {
  const raw = process.env.PULUMI_VIRT_READ_BATCH_MS;
  const v = Number(raw);
  return raw !== undefined && raw !== "" && Number.isFinite(v) && v >= 0 ? v : DEFAULT_IDLE_MS;
}

// Keyed by Remote: getRemote gives one per host configuration per process.
const windows = new WeakMap<Remote, Window>();
const snapshots = new WeakMap<Remote, Snapshot>();
/** When a strict read last discarded the host's snapshot: a snapshot started before that is not kept. */
const invalidatedAt = new WeakMap<Remote, number>();
/** Settles when the host's snapshot being taken is done (whatever the outcome). */
const snapshotting = new WeakMap<Remote, Promise<void>>();

/** Something changed on the host: its refresh snapshot (and any being taken) must not answer later reads. */
export function hostChanged(remote: Remote): void {
  snapshots.delete(remote);
  invalidatedAt.set(remote, Date.now());
}

/** Live state of one container, read together with the other containers of this host asked for at about the same time. */
export function readContainerCoalesced(remote: Remote, name: string, opts: ReadOptions = {}): Promise<ContainerObserved | undefined> {
  const idle = idleMs();
  if (idle === 0) return readContainer(remote, name);
  if (!opts.hostSnapshot) {
    hostChanged(remote);
  } else {
    const hit = fromSnapshot(remote, name);
    if (hit) return Promise.resolve(hit);
    // A snapshot is being taken (the first connection can take a second): wait for it rather than read again.
    const taking = snapshotting.get(remote);
    if (taking) return taking.then(() => fromSnapshot(remote, name) ?? readContainerCoalesced(remote, name, opts));
  }
  let win = windows.get(remote);
  if (!win) {
    win = { waiters: new Map(), wantsSnapshot: false, openedAt: Date.now() };
    windows.set(remote, win);
  }
  const w = win;
  w.wantsSnapshot ||= !!opts.hostSnapshot;
  const p = new Promise<ContainerObserved | undefined>((resolve, reject) => {
    const list = w.waiters.get(name) ?? [];
    list.push({ resolve, reject });
    w.waiters.set(name, list);
  });
  if (w.timer) clearTimeout(w.timer);
  const wait = Math.max(0, Math.min(idle, w.openedAt + MAX_WAIT_MS - Date.now()));
  w.timer = setTimeout(() => {
    if (windows.get(remote) === w) windows.delete(remote);
    const done = flush(remote, w);
    if (w.wantsSnapshot) {
      snapshotting.set(remote, done);
      void done.finally(() => snapshotting.get(remote) === done && snapshotting.delete(remote));
    }
  }, wait);
  return p;
}

function fromSnapshot(remote: Remote, name: string): ContainerObserved | undefined {
  const snap = snapshots.get(remote);
  return snap && Date.now() - snap.takenAt < SNAPSHOT_TTL_MS ? snap.states.get(name) : undefined;
}

async function flush(remote: Remote, win: Window): Promise<void> {
  const asked = [...win.waiters.keys()];
  const settle = (name: string, f: (w: Waiter) => void) => win.waiters.get(name)!.forEach(f);
  try {
    const startedAt = Date.now();
    const states = win.wantsSnapshot ? await readAllContainers(forRefresh(remote), asked) : await readContainers(remote, asked);
    if (win.wantsSnapshot && startedAt > (invalidatedAt.get(remote) ?? 0)) {
      const present = new Map<string, ContainerObserved>();
      for (const [n, o] of states) if (o) present.set(n, o);
      snapshots.set(remote, { takenAt: startedAt, states: present });
    }
    for (const n of asked) settle(n, (w) => w.resolve(states.get(n)));
  } catch (batchErr) {
    if (asked.length === 1) return settle(asked[0], (w) => w.reject(batchErr));
    // One bad container must not fail its neighbours' reads: retry each alone, so errors land where they belong.
    await Promise.all(
      asked.map((n) =>
        readContainer(remote, n).then(
          (o) => settle(n, (w) => w.resolve(o)),
          (e) => settle(n, (w) => w.reject(e)),
        ),
      ),
    );
  }
}
