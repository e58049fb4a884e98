// The Image lifecycle: an image file on a Hypervisor's host, downloaded by the host once per checksum (shared by
// every Image resource and stack asking for the same bytes), verified before it is renamed into place, and removed
// with its last Image resource unless a guest's disk still has it as its backing file.
import { randomUUID } from "node:crypto";
import { ImageOnHost, PollState, ProgressReporter, pollImage, releaseImage, startImage } from "../drivers/image/images";
import type { HypervisorRef } from "../models/hypervisor";
import { ImageArgs, imageArgsSchema, imageKey, imageLayout, imagePath, imagesDirOf, sourceFileName } from "../models/image";
import { EngineProps, fromEngine, toEngine } from "../models/state";
import { sameValue } from "../plan/planner";
import { Failure, forRefresh, hasUnknowns, hypervisorRefFailures, isUnknown, ownerTokenOf, parseArgs, remoteFor, stepError } from "./support";

/** What the user asked for (diffed as one value); outputs may share names with inputs (format, checksum). */
type Requested = Pick<ImageArgs, "source" | "checksum" | "allowUnverified" | "format" | "compression" | "name" | "downloadTimeoutSec">;

interface ImageState extends ImageArgs {
  hypervisor: HypervisorRef;
  requested: Requested;
  key: string;
  path: string;
  size?: number;
  virtualSize?: number;
}

const OUTPUTS = ["hypervisor", "requested", "key", "path", "size", "virtualSize"];
const POLL_MS = 1000;
/** Beyond the download's own bound: decompression and the rename. */
const FINISH_SLACK_MS = 300_000;

export async function check(_olds: EngineProps, news: EngineProps): Promise<{ inputs: EngineProps; failures: Failure[] }> {
  const { value, failures } = parseArgs(imageArgsSchema, news, OUTPUTS);
  const hvRaw = news.hypervisor;
  const hvKnown = hvRaw !== undefined && !isUnknown(hvRaw);
  const hvFailures = hvRaw === undefined ? [{ property: "hypervisor", reason: "expected a Hypervisor (or its ref)" }] : hvKnown ? hypervisorRefFailures(hvRaw) : [];
  if (!value || failures.length || hvFailures.length) return { inputs: news, failures: [...failures, ...hvFailures] };
  const requested: Requested = {
    source: value.source, checksum: value.checksum, allowUnverified: value.allowUnverified, format: value.format,
    compression: value.compression, name: value.name, downloadTimeoutSec: value.downloadTimeoutSec,
  };
  const inputs: EngineProps = { ...news, ...value, requested: toEngine(requested) };
  if (!hvKnown || hasUnknowns(news)) return { inputs, failures: [] };
  const hv = fromEngine<HypervisorRef>(hvRaw as EngineProps);
  // Known at check, so a preview shows a new checksum's new path (and the guests built on it as replaced).
  inputs.key = imageKey(value);
  inputs.path = imagePath(hv.storageDir, value);
  return { inputs, failures: [] };
}

export async function diff(_id: string, oldsRaw: EngineProps, newsRaw: EngineProps) {
  const olds = fromEngine<Partial<ImageState>>(oldsRaw);
  const news = fromEngine<Partial<ImageState>>(newsRaw);
  const replaces: string[] = [];
  // Other bytes (or another layout) are another file: a new Image, built before the old one is released.
  if (news.path !== undefined && olds.path !== news.path) replaces.push(olds.requested?.checksum !== news.requested?.checksum ? "checksum" : "source");
  const a = olds.hypervisor?.host?.facts;
  const b = news.hypervisor?.host?.facts;
  if (a?.machineId && b?.machineId && (a.machineId !== b.machineId || a.hostname !== b.hostname)) replaces.push("hypervisor");
  const changes = replaces.length > 0 || !sameValue(oldsRaw.requested, newsRaw.requested) || isUnknown(newsRaw.path);
  return { changes, replaces, deleteBeforeReplace: false };
}

function onHost(s: ImageState, id: string): ImageOnHost {
  // From what was asked for: state's format and checksum are outputs (detected, or computed for an unverified image).
  const r = s.requested;
  const layout = imageLayout(r);
  if (typeof layout === "string") throw new Error(layout);
  const [algo, hex] = r.checksum ? r.checksum.split(":") : [];
  return {
    dir: imagesDirOf(s.hypervisor.storageDir),
    key: s.key,
    path: s.path,
    claim: ownerTokenOf(id),
    source: r.source,
    checksum: algo ? { algo: algo as "sha256" | "sha512", hex } : undefined,
    compression: layout.compression,
    downloadTimeoutSec: r.downloadTimeoutSec,
  };
}

function label(s: ImageState): string {
  return `image ${s.name ?? sourceFileName(s.source)}`;
}

/** Makes the image ready on the host (or finds it ready), reporting progress; bounded by the download bound. */
async function ensure(s: ImageState, id: string): Promise<EngineProps> {
  const remote = remoteFor(s.hypervisor.host);
  const img = onHost(s, id);
  const what = label(s);
  const progress = new ProgressReporter((line) => console.error(`pulumi-virt: ${line} on host "${s.hypervisor.host.facts.hostname}"`), what);
  const deadline = Date.now() + s.downloadTimeoutSec * 1000 + FINISH_SLACK_MS;
  let starts = 0;
  let st: PollState;
  try {
    await startImage(remote, img, `start ${what}`);
    starts++;
    for (;;) {
      st = await pollImage(remote, img, `poll ${what}`);
      if (st.state === "ready" || st.state === "failed") break;
      if (st.state === "idle") {
        // The download this resource waited for ended without a file (another resource's attempt failed): try itself, a few times.
        if (starts >= 3) throw new Error(`${s.source} was not made ready after ${starts} attempts`);
        await startImage(remote, img, `start ${what}`);
        starts++;
        continue;
      }
      progress.report(st.bytes, st.total);
      if (Date.now() > deadline) throw new Error(`the download of ${s.source} did not finish within ${s.downloadTimeoutSec} s (downloadTimeoutSec); its partial file is kept and the next up resumes it`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } catch (e) {
    throw stepError(what, s.hypervisor.host, "make the image ready", e);
  }
  if (st.state === "failed") throw new Error(`${what} on host "${s.hypervisor.host.facts.hostname}": ${st.reason}`);
  const ready = st.image;
  const asked = s.requested.format;
  if (asked && asked !== "rootfs" && ready.format !== asked) {
    throw new Error(`${what}: format is "${asked}" but the host reads the file at ${s.source} as "${ready.format}"; fix format (or leave it unset to detect it)`);
  }
  return toEngine<Omit<ImageState, "format"> & { format: string; checksum: string }>({
    ...s,
    size: ready.size,
    format: ready.format,
    virtualSize: ready.virtualSize,
    checksum: s.requested.checksum ?? `sha256:${ready.sha256}`,
  });
}

export async function create(inputs: EngineProps) {
  const s = fromEngine<ImageState>(inputs);
  const id = `image-${randomUUID()}`;
  try {
    return { id, outs: await ensure(s, id) };
  } catch (e) {
    // Nothing of a failed create stays claimed: a wrong checksum leaves nothing; a cut download its partial file.
    await releaseImage(remoteFor(s.hypervisor.host), onHost(s, id), `release ${label(s)}`, true).catch(() => undefined);
    throw e;
  }
}

export async function update(id: string, _olds: EngineProps, news: EngineProps) {
  return { outs: await ensure(fromEngine<ImageState>(news), id) };
}

export async function read(id: string, props: EngineProps) {
  const s = fromEngine<ImageState>(props);
  const st = await pollImage(forRefresh(remoteFor(s.hypervisor.host)), onHost(s, id), `read ${label(s)}`);
  // Gone from the host: the engine forgets it, and the next up downloads it again.
  if (st.state !== "ready") return { id: undefined as unknown as string, props: undefined as unknown as EngineProps };
  return { id, props: toEngine({ ...s, size: st.image.size, virtualSize: st.image.virtualSize, format: st.image.format }) };
}

export async function del(id: string, props: EngineProps) {
  const s = fromEngine<ImageState>(props);
  try {
    await releaseImage(remoteFor(s.hypervisor.host), onHost(s, id), `release ${label(s)}`);
  } catch (e) {
    throw stepError(label(s), s.hypervisor.host, "delete the image", e);
  }
}
