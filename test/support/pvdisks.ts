// The lab guests' disk lines (lab/images/guest-init.sh prints one a second, before each PVSTAT line):
//   PVDISKS vda=100663296::base-a vdb=33554432:pv-data:data-1f2e
// one NAME=BYTES:SERIAL:MARKER per block device the guest sees (serial and marker empty when it has none).
// Only complete lines count, as for PVSTAT: the console log is read while the guest writes it.
import type { Remote } from "../../provider/ssh/types";

export interface GuestDisk {
  bytes: number;
  serial: string;
  marker: string;
}
export type GuestDisks = Record<string, GuestDisk>;

/** One PVDISKS line as device → disk, or undefined when it is not a complete disk line. */
export function parsePvdisks(line: string): GuestDisks | undefined {
  const words = line.trim().split(/\s+/);
  if (words[0] !== "PVDISKS") return undefined;
  const out: GuestDisks = {};
  for (const w of words.slice(1)) {
    const m = /^([a-z]+)=(\d+):([A-Za-z0-9_-]*):([A-Za-z0-9._:-]*)$/.exec(w);
    if (!m) return undefined;
    out[m[1]] = { bytes: Number(m[2]), serial: m[3], marker: m[4] };
  }
  return out;
}

/** The newest complete PVDISKS line of a console excerpt that a complete PVSTAT line follows (so it was not cut). */
export function lastPvdisks(consoleText: string): GuestDisks | undefined {
  const lines = consoleText.split(/\r?\n/);
  lines.pop();
  for (let i = lines.length - 2; i >= 0; i--) {
    const d = parsePvdisks(lines[i]);
    if (d && lines[i + 1].startsWith("PVSTAT ")) return d;
  }
  return undefined;
}

/** The disk the guest sees with this serial (its device name depends on the order it was plugged in). */
export const bySerial = (disks: GuestDisks, serial: string): GuestDisk | undefined => Object.values(disks).find((d) => d.serial === serial);

/** Polls the console log until the newest PVDISKS line satisfies ok; fails naming what it waited for and the last line. */
export async function waitPvdisks(remote: Remote, logPath: string, what: string, ok: (d: GuestDisks) => boolean, deadlineMs: number): Promise<GuestDisks> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const r = await remote.exec(["tail", "-n", "40", logPath], { okCodes: [0, 1] });
    const last = lastPvdisks(r.stdout);
    if (last && ok(last)) return last;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what} after ${deadlineMs} ms; last PVDISKS: ${JSON.stringify(last) ?? "none"}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}
