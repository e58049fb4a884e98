// Read batching, the one place it lives (with coalesce.ts, which lets different read scripts share a command).
//
// A KeyedReads batches reads of many keys (e.g. container names) on one host that one script can answer together:
// 1. Windows: reads that arrive while a host's window is open are served by ONE readMany(remote, keys) round
//    trip. The window opens with the first read and closes when no further read arrived for the idle gap, or
//    MAX_WAIT ms after it opened. Every waiter's answer was read after it asked.
// 2. Host snapshot, for refresh reads only (opts.hostSnapshot): the engine sends at most --parallel reads at once
//    (default 4 x cores = 8 here) and the next ones only as earlier ones return, so windows alone cannot go below
//    N/8 round trips. A refresh window therefore reads ALL the host's keys (one round trip, which the transport may
//    also share with the Host's and Hypervisor's reads: forRefresh, ExecOptions.coalesce); refresh reads in the next
//    SNAPSHOT_TTL ms are answered from that snapshot. A key missing from the snapshot is read again (a refresh must
//    never drop a resource on old news), and any strict read (the observe after create/update) discards the
//    host's snapshot, so state read before a change is not served after it.
import { baseRemote, forRefresh } from "./refresh";
import type { Remote } from "./types";

/** Idle gap that closes a window. PULUMI_VIRT_READ_BATCH_MS overrides it; 0 turns batching off (one round trip per read). */
const DEFAULT_IDLE_MS = 15;
/** Upper bound on the delay a read can get from waiting for others. */
const MAX_WAIT_MS = 100;
/**
 * How long a host snapshot answers refresh reads: about one refresh run (the engine reaches a host's last container
 * tens of seconds after its first at 20 hosts and more); any change on the host discards the snapshot earlier.
 */
const SNAPSHOT_TTL_MS = 60_000;

export interface ReadOptions {
  /** Accept state from a host snapshot up to SNAPSHOT_TTL_MS old (refresh). Default: read after asking. */
  hostSnapshot?: boolean;
}

/** How a driver reads its objects: one, several, or (for a snapshot) several plus every other one on the host. */
export interface KeyedReader<T> {
  readOne(remote: Remote, key: string): Promise<T | undefined>;
  readMany(remote: Remote, keys: string[]): Promise<Map<string, T | undefined>>;
  readAll(remote: Remote, keys: string[]): Promise<Map<string, T | undefined>>;
}

interface Waiter<T> {
  resolve: (o: T | undefined) => void;
  reject: (e: unknown) => void;
}

interface Window<T> {
  waiters: Map<string, Waiter<T>[]>;
  wantsSnapshot: boolean;
  openedAt: number;
  timer?: NodeJS.Timeout;
}

interface Snapshot<T> {
  takenAt: number;
  states: Map<string, T>;
}

function idleMs(): number {
  const raw = process.env.PULUMI_VIRT_READ_BATCH_MS;
  const v = Number(raw);
  return raw !== undefined && raw !== "" && Number.isFinite(v) && v >= 0 ? v : DEFAULT_IDLE_MS;
}

export class KeyedReads<T> {
  // Keyed by Remote: getRemote gives one per host configuration per process.
  private readonly windows = new WeakMap<Remote, Window<T>>();
  private readonly snapshots = new WeakMap<Remote, Snapshot<T>>();
  /** When a strict read last discarded the host's snapshot: a snapshot started before that is not kept. */
  private readonly invalidatedAt = new WeakMap<Remote, number>();
  /** Settles when the host's snapshot being taken is done (whatever the outcome). */
  private readonly snapshotting = new WeakMap<Remote, Promise<void>>();

  constructor(private readonly reader: KeyedReader<T>) {}

  /** Something changed on the host: its refresh snapshot (and any being taken) must not answer later reads. */
  hostChanged(anyRemote: Remote): void {
    const remote = baseRemote(anyRemote);
    this.snapshots.delete(remote);
    this.invalidatedAt.set(remote, Date.now());
  }

  /**
   * Refresh only: take the host's snapshot now (riding the same window as whatever read comes with it, e.g. the
   * Hypervisor's verify), so the refresh reads of its objects that the engine sends later cost no round trip.
   * Errors are left to those later reads, which then read for themselves.
   */
  prefetch(anyRemote: Remote): void {
    const remote = baseRemote(anyRemote);
    if (idleMs() === 0 || this.snapshotting.get(remote)) return;
    const snap = this.snapshots.get(remote);
    if (snap && Date.now() - snap.takenAt < SNAPSHOT_TTL_MS) return;
    this.openWindow(remote, true);
  }

  /** The state of one key, read together with the host's other keys asked for at about the same time. */
  read(anyRemote: Remote, key: string, opts: ReadOptions = {}): Promise<T | undefined> {
    // Per-host state is keyed by the host's own Remote, whichever wrapper (forRefresh) the read came through.
    const remote = baseRemote(anyRemote);
    const idle = idleMs();
    if (idle === 0) return this.reader.readOne(remote, key);
    if (!opts.hostSnapshot) {
      this.hostChanged(remote);
    } else {
      const hit = this.fromSnapshot(remote, key);
      if (hit) return Promise.resolve(hit);
      // A snapshot is being taken (the first connection can take a second): wait for it rather than read again.
      const taking = this.snapshotting.get(remote);
      if (taking) return taking.then(() => this.fromSnapshot(remote, key) ?? this.read(remote, key, opts));
    }
    const w = this.openWindow(remote, !!opts.hostSnapshot);
    return new Promise<T | undefined>((resolve, reject) => {
      const list = w.waiters.get(key) ?? [];
      list.push({ resolve, reject });
      w.waiters.set(key, list);
    });
  }

  /** The host's open window (a new one if none), its idle timer restarted. */
  private openWindow(remote: Remote, wantsSnapshot: boolean): Window<T> {
    let win = this.windows.get(remote);
    if (!win) {
      win = { waiters: new Map(), wantsSnapshot: false, openedAt: Date.now() };
      this.windows.set(remote, win);
    }
    const w = win;
    w.wantsSnapshot ||= wantsSnapshot;
    if (w.timer) clearTimeout(w.timer);
    const wait = Math.max(0, Math.min(idleMs(), w.openedAt + MAX_WAIT_MS - Date.now()));
    w.timer = setTimeout(() => {
      if (this.windows.get(remote) === w) this.windows.delete(remote);
      const done = this.flush(remote, w);
      if (w.wantsSnapshot) {
        this.snapshotting.set(remote, done);
        void done.finally(() => this.snapshotting.get(remote) === done && this.snapshotting.delete(remote));
      }
    }, wait);
    return w;
  }

  private fromSnapshot(remote: Remote, key: string): T | undefined {
    const snap = this.snapshots.get(remote);
    return snap && Date.now() - snap.takenAt < SNAPSHOT_TTL_MS ? snap.states.get(key) : undefined;
  }

  private async flush(remote: Remote, win: Window<T>): Promise<void> {
    const asked = [...win.waiters.keys()];
    const settle = (key: string, f: (w: Waiter<T>) => void) => win.waiters.get(key)!.forEach(f);
    try {
      const startedAt = Date.now();
      const states = win.wantsSnapshot ? await this.reader.readAll(forRefresh(remote), asked) : await this.reader.readMany(remote, asked);
      if (win.wantsSnapshot && startedAt > (this.invalidatedAt.get(remote) ?? 0)) {
        const present = new Map<string, T>();
        for (const [k, o] of states) if (o !== undefined) present.set(k, o);
        this.snapshots.set(remote, { takenAt: startedAt, states: present });
      }
      for (const k of asked) settle(k, (w) => w.resolve(states.get(k)));
    } catch (batchErr) {
      if (asked.length === 0) return; // a prefetch: the reads that come later read for themselves
      if (asked.length === 1) return settle(asked[0], (w) => w.reject(batchErr));
      // One bad key must not fail its neighbours' reads: retry each alone, so errors land where they belong.
      await Promise.all(
        asked.map((k) =>
          this.reader.readOne(remote, k).then(
            (o) => settle(k, (w) => w.resolve(o)),
            (e) => settle(k, (w) => w.reject(e)),
          ),
        ),
      );
    }
  }
}
