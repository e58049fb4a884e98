// Domain I/O through xl over a Remote: create / read / applyLive / restart / destroy.
import { Remote } from "../../ssh/types";
import { installHotplugScript } from "./disks";
import { parseReadOutput } from "./parse";
import { configPath, DEFAULT_CONFIG_DIR, ownerPath } from "./paths";
import { CREATE_SCRIPT, DESTROY_SCRIPT, LIVE_SCRIPT, MOVE_OWNER_SCRIPT, READ_SCRIPT, SEED_ROOT_DISK_SCRIPT, SHUTDOWN_SCRIPT } from "./scripts";
import type { CreateOutcome, ShutdownOutcome, XenDomainObserved, XenDomainSpec, XenLiveChange } from "./types";
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

/** Write the config and start the domain. Idempotent: a running domain of that name is adopted as is. */
export async function createDomain(remote: Remote, spec: XenDomainSpec): Promise<{ outcome: CreateOutcome; observed: XenDomainObserved }> {
  const cfg = await writeConfig(remote, spec);
  if (spec.disks.some((d) => d.script)) await installHotplugScript(remote, spec.configDir);
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
