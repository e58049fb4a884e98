// Refresh reads wait longer for company, so a host's Host, Hypervisor and resource reads share one round trip.
import type { Remote } from "./types";

/** How long a refresh read waits for the host's other reads (the engine sends them tens of ms apart). */
const REFRESH_COALESCE_IDLE_MS = 100;

/**
 * The same Remote, but its coalescable reads wait longer for company: for `read` (pulumi refresh), where a
 * host's Host, Hypervisor and resource reads should share one round trip.
 */
export function forRefresh(remote: Remote): Remote {
  const wrapped: Remote & { [BASE]?: Remote } = {
    label: remote.label,
    exec: (argv, opts) => remote.exec(argv, opts),
    upload: (path, content, opts) => remote.upload(path, content, opts),
    script: (script, args, opts) => remote.script(script, args, opts?.coalesce ? { coalesceIdleMs: REFRESH_COALESCE_IDLE_MS, ...opts } : opts),
  };
  wrapped[BASE] = baseRemote(remote);
  return wrapped;
}

const BASE = Symbol("pulumi-virt.refresh.base");

/** The Remote a forRefresh wrapper stands for (itself otherwise): one identity per host, for per-host batching state. */
export function baseRemote(remote: Remote): Remote {
  return (remote as Remote & { [BASE]?: Remote })[BASE] ?? remote;
}
