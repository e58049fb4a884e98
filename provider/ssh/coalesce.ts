// Read coalescing (issue 11, P5): read-only scripts that reach one host at about the same time (a refresh
// reads the Host's facts, the Hypervisor's stack and the containers together) travel as ONE command. The
// parts run side by side on the host, each as `sh -c SCRIPT sh ARGS...` with its own stdout, stderr and
// exit code, kept in a private temporary directory and sent back framed by a random 128-bit token drawn
// for this command (no part can see it: the combined text reaches the shell on its input, not argv).
//
// Framing of the combined stdout, per part in order:
//   <stdout bytes> "\n" TOKEN " " <exit code> "\n" <stderr bytes> "\n" TOKEN "\n"
import { quoteArg } from "./quote";

export interface CoalescedPart {
  script: string;
  args: string[];
  /** Killed (with its process group) after this many seconds; its exit code is then COALESCED_TIMEOUT_CODE. */
  timeoutSec?: number;
}

/** Exit code of a part killed at its timeout (GNU and busybox `timeout` both use 124). */
export const COALESCED_TIMEOUT_CODE = 124;

export interface PartResult {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** The one script that runs every part in parallel and prints their framed results in order. */
export function combinedScript(parts: CoalescedPart[], token: string): string {
  if (!/^[a-z0-9]{16,}$/.test(token)) throw new Error("coalesce token must be lowercase alphanumeric");
  const lines = [
    'd=$(mktemp -d "${TMPDIR:-/tmp}/.pv-read.XXXXXX") || exit 70',
    "trap 'rm -rf \"$d\"' EXIT",
    // timeout(1) signals the part's whole process group; without it the part just runs.
    'if command -v timeout >/dev/null 2>&1; then pvt() { timeout -k 2 "$@"; }; else pvt() { shift; "$@"; }; fi',
  ];
  parts.forEach((p, i) => {
    const argv = ["sh", "-c", p.script, "sh", ...p.args].map(quoteArg).join(" ");
    const secs = p.timeoutSec && p.timeoutSec > 0 ? Math.ceil(p.timeoutSec) : 0;
    const run = secs ? `pvt ${secs} ${argv}` : argv;
    lines.push(`{ ${run} >"$d/${i}o" 2>"$d/${i}e" </dev/null; echo $? >"$d/${i}c"; } &`);
  });
  lines.push("wait");
  parts.forEach((_p, i) => {
    lines.push(
      `c=255; read -r c <"$d/${i}c"; cat "$d/${i}o"; printf '\\n${token} %s\\n' "$c"; cat "$d/${i}e"; printf '\\n${token}\\n'`,
    );
  });
  return lines.join("\n") + "\n";
}

/** Split the combined stdout back into one result per part; throws when the framing is broken. */
export function parseCombined(out: Buffer, token: string, count: number): PartResult[] {
  const mark = Buffer.from(`\n${token}`);
  const results: PartResult[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const a = out.indexOf(mark as unknown as Uint8Array, pos);
    if (a === -1) throw new Error(`combined read: part ${i + 1} of ${count} has no stdout frame`);
    const stdout = out.subarray(pos, a);
    const nl = out.indexOf(10, a + mark.length);
    const m = nl === -1 ? null : /^ (\d+)$/.exec(out.subarray(a + mark.length, nl).toString("latin1"));
    if (!m) throw new Error(`combined read: part ${i + 1} of ${count} has a broken exit-code frame`);
    const b = out.indexOf(mark as unknown as Uint8Array, nl + 1);
    if (b === -1 || out[b + mark.length] !== 10) throw new Error(`combined read: part ${i + 1} of ${count} has no stderr frame`);
    results.push({ code: Number(m[1]), stdout, stderr: out.subarray(nl + 1, b) });
    pos = b + mark.length + 1;
  }
  if (pos !== out.length) throw new Error("combined read: output after the last part");
  return results;
}
