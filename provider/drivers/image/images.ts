// Images on a host: downloaded once per checksum into the hypervisor's storage, verified, shared (scripts/*.sh).
// The host does the transfer (curl or wget there); this side starts it and polls, so a long download reports
// progress and every wait is bounded.
import type { Remote } from "../../ssh/types";
import { shellScript } from "../shell";

export interface ImageOnHost {
  dir: string;
  key: string;
  path: string;
  /** The Image resource's token: its claim on the shared file. */
  claim: string;
  source: string;
  /** "sha256" / "sha512" and the hex digest; undefined = unverified. */
  checksum?: { algo: "sha256" | "sha512"; hex: string };
  compression: "none" | "xz" | "gz" | "zst";
  downloadTimeoutSec: number;
}

export interface ReadyImage {
  size: number;
  /** qcow2 / raw / ... as qemu-img detects it, or rootfs. */
  format: string;
  virtualSize: number;
  /** sha256 of the ready file, when asked for (unverified images). */
  sha256?: string;
}

export type PollState =
  | { state: "ready"; image: ReadyImage }
  | { state: "failed"; reason: string }
  | { state: "running"; bytes: number; total?: number }
  | { state: "idle" };

/** Parses image-poll.sh's output (pure). */
export function parsePoll(stdout: string, isRootfs: boolean): PollState {
  const nl = stdout.indexOf("\n");
  const first = (nl < 0 ? stdout : stdout.slice(0, nl)).trim();
  const rest = nl < 0 ? "" : stdout.slice(nl + 1);
  const [word, ...args] = first.split(" ");
  if (word === "ready") {
    const size = Number(args[0]);
    const sha256 = args[1] && args[1] !== "-" ? args[1] : undefined;
    if (isRootfs) return { state: "ready", image: { size, format: "rootfs", virtualSize: size, sha256 } };
    const info = JSON.parse(rest) as { format?: string; "virtual-size"?: number };
    return { state: "ready", image: { size, format: String(info.format), virtualSize: Number(info["virtual-size"]), sha256 } };
  }
  if (word === "failed") return { state: "failed", reason: args.join(" ") };
  if (word === "running") {
    const total = Number(args[1]);
    return { state: "running", bytes: Number(args[0]) || 0, total: Number.isFinite(total) && total > 0 ? total : undefined };
  }
  if (word === "idle") return { state: "idle" };
  throw new Error(`unexpected answer from the image poll: ${JSON.stringify(first.slice(0, 200))}`);
}

export async function pollImage(remote: Remote, img: ImageOnHost, step: string): Promise<PollState> {
  const r = await remote.script(shellScript("image", "image-poll.sh"), [img.dir, img.key, img.path, img.checksum ? "0" : "1"], { step });
  return parsePoll(r.stdout, isRootfsPath(img.path));
}

/** Claims the image and starts making it ready unless it is (or is being made) already. */
export async function startImage(remote: Remote, img: ImageOnHost, step: string): Promise<"ready" | "running" | "started"> {
  const r = await remote.script(
    shellScript("image", "image-start.sh"),
    [img.dir, img.key, img.path, img.claim, img.source, img.checksum?.algo ?? "", img.checksum?.hex ?? "", img.compression, String(img.downloadTimeoutSec)],
    { step },
  );
  return r.stdout.trim() as "ready" | "running" | "started";
}

/**
 * Drops this resource's claim; the last one removes the file unless a guest's disk is backed by it (then it throws).
 * After a failed create only the claim and bookkeeping go: a partial download stays for the next attempt.
 */
export async function releaseImage(remote: Remote, img: Pick<ImageOnHost, "dir" | "key" | "path" | "claim">, step: string, afterFailedCreate = false): Promise<"kept" | "removed"> {
  const args = [img.dir, img.key, img.path, img.claim, afterFailedCreate ? "1" : "0"];
  const r = await remote.script(shellScript("image", "image-release.sh"), args, { step, timeoutMs: 180_000 });
  return r.stdout.trim() === "kept" ? "kept" : "removed";
}

export function isRootfsPath(path: string): boolean {
  return /\.(tar|tar\.gz|tgz|tar\.xz|txz)$/.test(path);
}

/** Rate-limits progress lines: one per `everyPct` percent or per `everyMs`, whichever comes first (pure but for the clock). */
export class ProgressReporter {
  private lastPct = -1;
  private lastAt = 0;
  constructor(
    private readonly say: (line: string) => void,
    private readonly label: string,
    private readonly everyPct = 10,
    private readonly everyMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  report(bytes: number, total?: number): void {
    const t = this.now();
    const pct = total ? Math.floor((bytes * 100) / total) : undefined;
    const due = pct !== undefined ? pct >= this.lastPct + this.everyPct || t - this.lastAt >= this.everyMs : t - this.lastAt >= this.everyMs;
    if (!due) return;
    this.lastAt = t;
    if (pct !== undefined) this.lastPct = pct - (pct % this.everyPct);
    this.say(`${this.label}: ${mib(bytes)}${total ? ` of ${mib(total)} (${pct}%)` : ""} downloaded`);
  }
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}
