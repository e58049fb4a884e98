// Per-host coalescing of container reads. `pulumi refresh` (and a wide `up`) asks for every container's
// state at about the same time; each ask alone costs a round trip. Reads that arrive while a host's window
// is open are served by ONE readContainers(remote, names) round trip (issue 11, P5).
//
// Window: it opens with the first read and closes when no further read arrived for IDLE ms (the engine's
// parallel reads come in a burst, a few ms apart) or MAX ms after it opened, whichever comes first.
// Reads arriving while a batch is in flight open the next window.
import type * as Lxc from "../../drivers/lxc";
import type { ContainerObserved } from "../../drivers/lxc";
import type { Remote } from "../../ssh/types";

/** Idle gap that closes a window. PULUMI_VIRT_READ_BATCH_MS overrides it; 0 turns coalescing off (one round trip per read). */
const DEFAULT_IDLE_MS = 15;
/** Upper bound on the delay a read can get from waiting for others. */
const MAX_WAIT_MS = 100;

interface Waiter {
  resolve: (o: ContainerObserved | undefined) => void;
  reject: (e: unknown) => void;
}

interface Window {
  waiters: Map<string, Waiter[]>;
  openedAt: number;
  timer?: NodeJS.Timeout;
}

function lxc(): typeof Lxc {
  return require("../../drivers/lxc");
}

function idleMs(): number {
  const v = Number(process.env.PULUMI_VIRT_READ_BATCH_MS);
  return process.env.PULUMI_VIRT_READ_BATCH_MS !== undefined && Number.isFinite(v) && v >= 0 ? v : DEFAULT_IDLE_MS;
}

/** Open windows per Remote (getRemote gives one Remote per host configuration per process). */
const open = new WeakMap<Remote, Window>();

/** Live state of one container, read together with the other containers of this host asked for at about the same time. */
export function readContainerCoalesced(remote: Remote, name: string): Promise<ContainerObserved | undefined> {
  const idle = idleMs();
  if (idle === 0) return lxc().readContainer(remote, name);
  let w = open.get(remote);
  if (!w) {
    w = { waiters: new Map(), openedAt: Date.now() };
    open.set(remote, w);
  }
  const win = w;
  const p = new Promise<ContainerObserved | undefined>((resolve, reject) => {
    const list = win.waiters.get(name) ?? [];
    list.push({ resolve, reject });
    win.waiters.set(name, list);
  });
  if (win.timer) clearTimeout(win.timer);
  const wait = Math.max(0, Math.min(idle, win.openedAt + MAX_WAIT_MS - Date.now()));
  win.timer = setTimeout(() => {
    if (open.get(remote) === win) open.delete(remote);
    void flush(remote, win);
  }, wait);
  return p;
}

async function flush(remote: Remote, win: Window): Promise<void> {
  const names = [...win.waiters.keys()];
  const settle = (name: string, f: (w: Waiter) => void) => win.waiters.get(name)!.forEach(f);
  try {
    const states = await lxc().readContainers(remote, names);
    for (const n of names) settle(n, (w) => w.resolve(states.get(n)));
  } catch (batchErr) {
    if (names.length === 1) return settle(names[0], (w) => w.reject(batchErr));
    // One bad container must not fail its neighbours' reads: retry each alone, so errors land where they belong.
    await Promise.all(
      names.map((n) =>
        lxc().readContainer(remote, n).then(
          (o) => settle(n, (w) => w.resolve(o)),
          (e) => settle(n, (w) => w.reject(e)),
        ),
      ),
    );
  }
}
