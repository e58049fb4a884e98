// The lab's HTTP image server (lab/image-server.sh) as tests see it: its URL, the served files' checksums, the
// requests it logged (to count downloads and see Range headers), and the one-shot control that cuts a download.
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { labDir, repoRoot, run } from "./lab";

const stateDir = path.join(labDir, "image-server");

export interface ServedRequest {
  time: string;
  method: string;
  path: string;
  range: string | null;
  client: string;
  status: number;
  bytes: number;
  cut?: boolean;
}

export interface ImageServer {
  url: string;
  /** File name -> "sha256:<hex>". */
  sha256: Record<string, string>;
}

/** Starts the server unless it answers (needs the lab up: call ensureLab first). */
export async function ensureImageServer(): Promise<ImageServer> {
  const r = await run(["bash", path.join(repoRoot, "lab/image-server.sh"), "up"], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`lab/image-server.sh up failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  const url = r.stdout.trim().split("\n").pop()!;
  const www = readFileSync(path.join(stateDir, "www"), "utf8").trim();
  const sha256: Record<string, string> = {};
  for (const line of readFileSync(path.join(www, "SHA256SUMS"), "utf8").trim().split("\n")) {
    const [hex, file] = line.split(/\s+/);
    sha256[file] = `sha256:${hex}`;
  }
  return { url, sha256 };
}

/** Every request the server logged since it started, oldest first. */
export function servedRequests(): ServedRequest[] {
  const text = readFileSync(path.join(stateDir, "requests.log"), "utf8");
  return text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as ServedRequest);
}

/** The downloads (GETs) of one served file logged after `since` requests. */
export function downloadsOf(file: string, since = 0): ServedRequest[] {
  return servedRequests().slice(since).filter((r) => r.method === "GET" && r.path === `/${file}`);
}

/** The next download the server sends is cut after `bytes` bytes of its body (one-shot). */
export function cutNextDownload(bytes: number): void {
  writeFileSync(path.join(stateDir, "cut-next"), String(bytes));
}

/** The next download the server sends goes at `bytesPerSecond` (one-shot). */
export function slowNextDownload(bytesPerSecond: number): void {
  writeFileSync(path.join(stateDir, "slow-next"), String(bytesPerSecond));
}
