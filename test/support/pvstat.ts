// The lab guests' status lines (lab/images/guest-init.sh prints one a second on the console):
//   PVSTAT boot=… uptime=… memtotal_kb=… cpus_online=… vda_bytes=… vdb_bytes=… root_marker=… marker=… machine_id=…
// The console log is read while the guest writes it, so its last line may be half written, and a kernel message
// may land inside a line. Only complete lines count: ended by a newline and carrying every field.
import type { Remote } from "../../provider/ssh/types";

export type Stat = Record<string, string>;

export const PVSTAT_FIELDS = ["boot", "uptime", "memtotal_kb", "cpus_online", "vda_bytes", "vdb_bytes", "root_marker", "marker", "machine_id"] as const;

/** One PVSTAT line as key/value pairs, or undefined when it is not a complete status line. */
export function parsePvstat(line: string): Stat | undefined {
  const words = line.trim().split(/\s+/);
  if (words[0] !== "PVSTAT") return undefined;
  const kv: Stat = {};
  for (const w of words.slice(1)) {
    const i = w.indexOf("=");
    if (i <= 0) return undefined;
    kv[w.slice(0, i)] = w.slice(i + 1);
  }
  const keys = Object.keys(kv);
  if (keys.length !== PVSTAT_FIELDS.length || PVSTAT_FIELDS.some((f) => !(f in kv))) return undefined;
  // Numbers must be whole: a line cut short could end in a prefix of one.
  if (!/^[0-9a-f]{8}$/.test(kv.boot)) return undefined;
  for (const f of ["uptime", "memtotal_kb", "cpus_online", "vda_bytes", "vdb_bytes"]) if (!/^\d+$/.test(kv[f])) return undefined;
  return kv;
}

/** The newest complete PVSTAT line of a console log excerpt (text after its last newline is still being written). */
export function lastPvstat(consoleText: string): Stat | undefined {
  const lines = consoleText.split(/\r?\n/);
  lines.pop();
  for (let i = lines.length - 1; i >= 0; i--) {
    const s = parsePvstat(lines[i]);
    if (s) return s;
  }
  return undefined;
}

/** The newest complete PVSTAT line of the console log at logPath on the host (undefined before the first). */
export async function readPvstat(remote: Remote, logPath: string): Promise<Stat | undefined> {
  const r = await remote.exec(["tail", "-n", "30", logPath], { okCodes: [0, 1] });
  return lastPvstat(r.stdout);
}

/**
 * Polls the console log until its newest complete PVSTAT line satisfies ok. The deadline guards against a hang; it is
 * not a claim about speed. Fails naming what it waited for and the last line seen.
 */
export async function waitPvstat(remote: Remote, logPath: string, what: string, ok: (s: Stat) => boolean, deadlineMs: number, pollMs = 1000): Promise<Stat> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const last = await readPvstat(remote, logPath);
    if (last && ok(last)) return last;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what} after ${deadlineMs} ms; last PVSTAT: ${JSON.stringify(last) ?? "none"}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
