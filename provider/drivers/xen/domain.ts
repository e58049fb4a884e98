// Domain I/O through xl over a Remote: create / read / applyLive / restart / destroy.
import { Remote } from "../../ssh/types";
import { installHotplugScript } from "./disks";
import { parseReadOutput } from "./parse";
import { configPath, DEFAULT_CONFIG_DIR, ownerPath } from "./paths";
import { CREATE_SCRIPT, DESTROY_SCRIPT, LIVE_SCRIPT, MOVE_IMAGES_SCRIPT, MOVE_OWNER_SCRIPT, READ_SCRIPT, SEED_ISO_SCRIPT, SEED_ROOT_DISK_SCRIPT, SHUTDOWN_SCRIPT } from "./scripts";
import type { CreateOutcome, ShutdownOutcome, XenDomainObserved, XenDomainSpec, XenLiveChange, XenSeed } from "./types";
import { InvalidXenSpecError, validateDomainName, validateInt, validatePath, validateXenSpec } from "./validate";
import { renderXlConfig } from "./xl-config";

/** `xl create` builds the domain and (on busy TCG labs) may take minutes. */
const CREATE_TIMEOUT_MS = 15 * 60 * 1000;

/** Domain state in one round trip: `xl list`, `xl list -l` (JSON), `xl uptime`, and the saved config. */
export async function readDomain(remote: Remote, name: string, configDir: string = DEFAULT_CONFIG_DIR): Promise<XenDomainObserved> {
  validateDomainName(name);
  validatePath("configDir", configDir);
  const r = await remote.script(READ_SCRIPT, [name, configPath(configDir, name)], { step: `read Xen domain ${name}`, coalesce: true });
  return parseReadOutput(name, r.stdout);
}

/** Writes the config the next `xl create` reads. */
export async function writeConfig(remote: Remote, spec: XenDomainSpec): Promise<string> {
  const text = renderXlConfig(spec);
  await remote.exec(["mkdir", "-p", spec.configDir], { step: `create ${spec.configDir}` });
  const path = configPath(spec.configDir, spec.name);
  await remote.upload(path, text, { mode: 0o644 });
  return path;
}

/**
 * The NoCloud seed ISO the guest reads at boot (host key, login key, NIC config): packed in dom0 from files written
 * into a 0700 directory, which is removed once packed. Rewritten before every build so a restart reads the current one.
 */
export async function writeSeed(remote: Remote, name: string, seed: XenSeed): Promise<void> {
  validatePath("seed path", seed.path);
  const dir = seed.path.slice(0, seed.path.lastIndexOf("/")) || "/";
  const src = `${dir}/.${name}-seed.src`;
  const step = `NoCloud seed of ${name}`;
  await remote.exec(["mkdir", "-p", dir], { step });
  // Made 0700 (and emptied) before any secret is written into it.
  await remote.exec(["rm", "-rf", src], { step });
  await remote.exec(["install", "-d", "-m", "0700", src], { step });
  await remote.upload(`${src}/user-data`, seed.userData, { mode: 0o600 });
  await remote.upload(`${src}/meta-data`, seed.metaData, { mode: 0o600 });
  if (seed.networkConfig) await remote.upload(`${src}/network-config`, seed.networkConfig, { mode: 0o600 });
  if (seed.vendorData) await remote.upload(`${src}/vendor-data`, seed.vendorData, { mode: 0o600 });
  await remote.script(SEED_ISO_SCRIPT, [seed.path, src], { step });
}

/**
 * A renamed domain's disk images follow its name (pairs of old and new paths), running or not: refused before
 * anything moves when a new path is taken. Missing old images are skipped (made at the next start).
 */
export async function moveImages(remote: Remote, name: string, pairs: [string, string][]): Promise<void> {
  validateDomainName(name);
  const moves = pairs.filter(([a, b]) => a !== b);
  if (!moves.length) return;
  for (const [a, b] of moves) {
    validatePath("disk image", a);
    validatePath("disk image", b);
  }
  await remote.script(MOVE_IMAGES_SCRIPT, [name, ...moves.flat()], { step: `move the disk images of ${name} to its new name` });
}

/** Write the config and start the domain. Idempotent: a running domain of that name is adopted as is. */
export async function createDomain(remote: Remote, spec: XenDomainSpec): Promise<{ outcome: CreateOutcome; observed: XenDomainObserved }> {
  const cfg = await writeConfig(remote, spec);
  if (spec.disks.some((d) => d.script) || spec.seed) await installHotplugScript(remote, spec.configDir);
  // Replaced by rename: a running domain's loop device keeps the seed it booted with, a new build reads this one.
  if (spec.seed && spec.running) await writeSeed(remote, spec.name, spec.seed);
  const diskArgs = spec.disks.flatMap((d) => [d.path, d.format ?? "raw", d.sizeMiB === undefined ? "" : String(d.sizeMiB)]);
  const r = await remote.script(CREATE_SCRIPT, [spec.name, cfg, spec.running ? "1" : "0", ...diskArgs], {
    step: `create Xen domain ${spec.name}`,
    timeoutMs: CREATE_TIMEOUT_MS,
  });
  const outcome = r.stdout.trim().split("\n").pop() as CreateOutcome;
  return { outcome, observed: await readDomain(remote, spec.name, spec.configDir) };
}

/**
 * Apply memory / vCPU / name changes to a running domain without restarting it, then rewrite the
 * saved config (from spec, which holds the new values) so the next start keeps them.
 */
export async function applyLive(remote: Remote, name: string, spec: XenDomainSpec, change: XenLiveChange): Promise<XenDomainObserved> {
  validateDomainName(name);
  validateXenSpec(spec);
  if (change.name !== undefined) {
    validateDomainName(change.name);
    if (change.name !== spec.name) throw new InvalidXenSpecError(`applyLive: change.name (${change.name}) must equal spec.name (${spec.name})`);
  }
  if (change.memoryMiB !== undefined) {
    validateInt("memoryMiB", change.memoryMiB, 32, spec.maxMemoryMiB);
    if (change.memoryMiB !== spec.memoryMiB) throw new InvalidXenSpecError("applyLive: change.memoryMiB must equal spec.memoryMiB");
  }
  if (change.vcpus !== undefined) {
    validateInt("vcpus", change.vcpus, 1, spec.maxVcpus);
    if (change.vcpus !== spec.vcpus) throw new InvalidXenSpecError("applyLive: change.vcpus must equal spec.vcpus");
  }
  // The running domain's ceilings, not the spec's, bound what xl can do live.
  const cur = await readDomain(remote, name, spec.configDir);
  if (!cur.exists) throw new Error(`Xen domain ${name} is not running on ${remote.label}: start it (createDomain) instead of changing it live`);
  if (change.memoryMiB !== undefined && cur.maxMemoryMiB !== undefined && change.memoryMiB > cur.maxMemoryMiB)
    throw new Error(`domain ${name}: ${change.memoryMiB} MiB is above its maxmem ${cur.maxMemoryMiB} MiB; that needs restartWithConfig`);
  if (change.vcpus !== undefined && cur.maxVcpus !== undefined && change.vcpus > cur.maxVcpus)
    throw new Error(`domain ${name}: ${change.vcpus} vCPUs is above its maxvcpus ${cur.maxVcpus}; that needs restartWithConfig`);
  const renaming = change.name !== undefined && change.name !== name;
  // Images first: a new path that is taken refuses the rename before the domain changes.
  if (renaming && change.imageMoves?.length) await moveImages(remote, name, change.imageMoves);
  await remote.script(
    LIVE_SCRIPT,
    [name, change.memoryMiB === undefined ? "" : String(change.memoryMiB), change.vcpus === undefined ? "" : String(change.vcpus), renaming ? spec.name : ""],
    { step: `change Xen domain ${name} live` },
  );
  await writeConfig(remote, spec);
  if (renaming) {
    await remote.exec(["rm", "-f", configPath(spec.configDir, name)], { step: `remove old config of ${name}` });
    // The owner's token moves with the domain.
    await remote.script(MOVE_OWNER_SCRIPT, [ownerPath(spec.configDir, name), ownerPath(spec.configDir, spec.name)], { step: `move owner of ${name}` });
  }
  return readDomain(remote, spec.name, spec.configDir);
}

/** Graceful PV shutdown with a timeout, then `xl destroy`. */
export async function shutdownDomain(remote: Remote, name: string, timeoutSec: number): Promise<ShutdownOutcome> {
  validateDomainName(name);
  const t = Math.max(0, Math.floor(timeoutSec));
  const r = await remote.script(SHUTDOWN_SCRIPT, [name, String(t)], { step: `shut down Xen domain ${name}`, timeoutMs: (t + 300) * 1000 });
  return r.stdout.trim().split("\n").pop() as ShutdownOutcome;
}

/** Stop the domain (gracefully, within spec.shutdownTimeoutSec) and build it again from the new config. */
export async function restartWithConfig(remote: Remote, spec: XenDomainSpec): Promise<{ stopped: ShutdownOutcome; observed: XenDomainObserved }> {
  await writeConfig(remote, spec);
  const stopped = await shutdownDomain(remote, spec.name, spec.shutdownTimeoutSec);
  if (!spec.running) return { stopped, observed: await readDomain(remote, spec.name, spec.configDir) };
  const { observed } = await createDomain(remote, spec);
  return { stopped, observed };
}

/** Pull the plug and remove the saved config. Disk images are left alone. */
export async function destroyDomain(remote: Remote, name: string, configDir: string = DEFAULT_CONFIG_DIR): Promise<"destroyed" | "absent"> {
  validateDomainName(name);
  validatePath("configDir", configDir);
  const r = await remote.script(DESTROY_SCRIPT, [name, configPath(configDir, name), ownerPath(configDir, name)], { step: `destroy Xen domain ${name}` });
  return r.stdout.trim().split("\n").pop() as "destroyed" | "absent";
}

/**
 * A PV guest's root disk from a base image: copied (sparse) unless the disk exists, then grown to sizeMiB
 * (never shrunk). Runs before createDomain, which then finds the disk in place.
 */
export async function seedRootDisk(remote: Remote, guestName: string, baseImage: string, rootDiskPath: string, sizeMiB?: number): Promise<void> {
  await remote.script(SEED_ROOT_DISK_SCRIPT, [baseImage, rootDiskPath, sizeMiB ? String(sizeMiB) : ""], { step: `seed root disk of ${guestName}` });
}

/** The domain's owner file holds another resource's token; nothing was changed. */
export class DomainOwnedElsewhereError extends Error {
  constructor(readonly domain: string) {
    super(`Xen domain ${domain} belongs to another pulumi-virt resource (its owner file holds another token)`);
    this.name = "DomainOwnedElsewhereError";
  }
}

/**
 * Writes the resource's token beside the domain's config: when there is none (a release before tokens) or it is
 * already this one, or, with force (adopt), over another resource's token.
 */
export async function claimDomain(remote: Remote, name: string, configDir: string, token: string, opts: { force?: boolean; current?: string } = {}): Promise<void> {
  validateDomainName(name);
  validatePath("configDir", configDir);
  if (!/^[0-9a-f]{16,64}$/.test(token)) throw new InvalidXenSpecError(`invalid owner token for Xen domain ${name}`);
  const current = opts.current !== undefined ? opts.current : (await readDomain(remote, name, configDir)).ownerToken;
  if (current === token) return;
  if (current && !opts.force) throw new DomainOwnedElsewhereError(name);
  await remote.exec(["mkdir", "-p", configDir], { step: `create ${configDir}` });
  await remote.upload(ownerPath(configDir, name), `${token}\n`, { mode: 0o600 });
}
