// Guest I/O through virsh over a Remote: create / read / applyLive / restart / rename / destroy.
import { Remote, RemoteCommandError } from "../../ssh/types";
import { buildDomainXml, OWNER_NS } from "./domain-xml";
import { cloneRootDisk } from "./clone";
import { parseQemuImgInfo, parseReadOutput } from "./parse";
import { dataDiskPath, domainPaths } from "./paths";
import { DATA_DISK_SCRIPT, MOVE_DIR_SCRIPT, READ_SCRIPT, REMOVE_FILES_SCRIPT, ROOT_DISK_SCRIPT, SEED_SCRIPT, SHUTDOWN_SCRIPT } from "./scripts";
import type { DomainPaths, DomainSpec, GuestObserved, LiveChange, QemuImageInfo, StopOutcome } from "./types";
import { InvalidDomainSpecError, OWNER_TOKEN_RE, validateDomainSpec, validateGuestName } from "./validate";

const VIRSH = ["virsh", "-c", "qemu:///system"];
const MiB = 1024 * 1024;

/** The guest's <metadata> holds another resource's token; nothing was changed. */
export class GuestOwnedElsewhereError extends Error {
  constructor(readonly guest: string) {
    super(`guest ${guest} belongs to another pulumi-virt resource (its metadata holds another owner token)`);
    this.name = "GuestOwnedElsewhereError";
  }
}

/**
 * Writes the resource's token into the guest's metadata (live and persistent): when it has none (defined by a
 * release before tokens) or already this one, or, with force (adopt), over another resource's token.
 */
export async function claimGuest(remote: Remote, name: string, token: string, opts: { force?: boolean } = {}): Promise<GuestObserved> {
  validateGuestName(name);
  if (!OWNER_TOKEN_RE.test(token)) throw new InvalidDomainSpecError(`invalid owner token for guest ${name}`);
  const cur = await readGuest(remote, name);
  if (!cur.exists) throw new Error(`guest ${name} does not exist on ${remote.label}`);
  if (cur.ownerToken === token) return cur;
  if (cur.ownerToken && !opts.force) throw new GuestOwnedElsewhereError(name);
  const running = cur.state === "running" || cur.state === "paused";
  await virsh(remote, ["metadata", "--domain", name, "--uri", OWNER_NS, "--key", "pvo", "--set", `<owner>${token}</owner>`, "--config", ...(running ? ["--live"] : [])], `claim guest ${name}`);
  return readGuest(remote, name);
}

export async function readGuest(remote: Remote, name: string): Promise<GuestObserved> {
  validateGuestName(name);
  const r = await remote.script(READ_SCRIPT, [name], { step: `read guest ${name}`, coalesce: true });
  return parseReadOutput(name, r.stdout);
}

const virsh = (remote: Remote, args: string[], step: string, okCodes?: number[]) =>
  remote.exec([...VIRSH, ...args], { step, okCodes });

/**
 * Applies changes without restarting QEMU, to the running domain and to its persistent
 * definition. A stopped domain gets only the definition change. Callers check limits first
 * (kvmCapabilities); libvirt's own refusal is passed on with its message.
 */
export async function applyLive(remote: Remote, name: string, change: LiveChange): Promise<void> {
  validateGuestName(name);
  const cur = await readGuest(remote, name);
  if (!cur.exists) throw new Error(`guest ${name} does not exist on ${remote.label}; create it first`);
  const running = cur.state === "running" || cur.state === "paused";
  const scope = running ? ["--live", "--config"] : ["--config"];
  if (change.vcpus !== undefined && change.vcpus !== cur.vcpus) {
    if (cur.maxVcpus !== undefined && change.vcpus > cur.maxVcpus)
      throw new Error(`guest ${name}: ${change.vcpus} vCPUs is above its maximum ${cur.maxVcpus}; that change needs a restart with a new definition`);
    if (running && cur.vcpus !== undefined && change.vcpus < cur.vcpus)
      throw new Error(`guest ${name}: removing vCPUs live is unreliable (unplug hangs under TCG); use restartWithDefinition`);
    await virsh(remote, ["setvcpus", "--domain", name, "--count", String(change.vcpus), ...scope], `set vCPUs of ${name}`);
  }
  if (change.memoryMiB !== undefined && change.memoryMiB !== cur.memoryMiB) {
    if (cur.maxMemoryMiB !== undefined && change.memoryMiB > cur.maxMemoryMiB)
      throw new Error(`guest ${name}: ${change.memoryMiB} MiB is above its maximum ${cur.maxMemoryMiB} MiB; that change needs a restart with a new definition`);
    await virsh(remote, ["setmem", "--domain", name, "--size", `${change.memoryMiB * 1024}KiB`, ...scope], `set memory of ${name}`);
  }
  for (const d of change.disks ?? []) {
    const disk = cur.disks?.find((x) => (d.path ? x.path === d.path : x.target === d.target));
    if (!disk) throw new Error(`guest ${name} has no disk ${d.path ?? d.target}`);
    if (d.sizeMiB < disk.sizeMiB) throw new Error(`guest ${name}: disk ${d.target} cannot shrink from ${disk.sizeMiB} to ${d.sizeMiB} MiB`);
    if (d.sizeMiB === disk.sizeMiB) continue;
    // blockresize grows the image file itself, so the change persists without --config.
    if (running) await virsh(remote, ["blockresize", "--domain", name, "--path", disk.target, "--size", `${d.sizeMiB * MiB}B`], `grow ${disk.target} of ${name}`);
    else await remote.exec(["qemu-img", "resize", "-q", disk.path, `${d.sizeMiB}M`], { step: `grow ${disk.target} of ${name}` });
  }
  const plugged = new Set((cur.interfaces ?? []).map((i) => i.mac));
  for (const n of change.attachNics ?? []) {
    if (plugged.has(n.mac.toLowerCase())) continue;
    await virsh(remote, ["attach-interface", "--domain", name, "--type", "bridge", "--source", n.bridge, "--mac", n.mac.toLowerCase(), "--model", "virtio", ...scope], `plug NIC ${n.mac} into ${name}`);
  }
  for (const mac of change.detachNics ?? []) {
    if (!plugged.has(mac.toLowerCase())) continue;
    await virsh(remote, ["detach-interface", "--domain", name, "--type", "bridge", "--mac", mac.toLowerCase(), ...scope], `unplug NIC ${mac} from ${name}`);
    if (running) await waitNicGone(remote, name, mac.toLowerCase());
  }
  if (change.autostart !== undefined && change.autostart !== cur.autostart) {
    await virsh(remote, ["autostart", "--domain", name, ...(change.autostart ? [] : ["--disable"])], `autostart of ${name}`);
  }
}

const NIC_UNPLUG_TIMEOUT_MS = 60_000;

/** libvirt returns once the unplug is requested; the guest releases the device on its own (ACPI hot-unplug). */
async function waitNicGone(remote: Remote, name: string, mac: string): Promise<void> {
  const deadline = Date.now() + NIC_UNPLUG_TIMEOUT_MS;
  for (;;) {
    const cur = await readGuest(remote, name);
    if (!(cur.interfaces ?? []).some((i) => i.mac === mac)) return;
    if (Date.now() > deadline)
      throw new Error(`guest ${name}: NIC ${mac} is still plugged ${NIC_UNPLUG_TIMEOUT_MS / 1000} s after the unplug request (the guest did not release it; it is gone from the definition, so a restart removes it)`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Asks the guest to power off (ACPI), waits up to timeoutSec, then pulls the plug. */
export async function shutdownGuest(remote: Remote, name: string, timeoutSec: number): Promise<StopOutcome> {
  validateGuestName(name);
  const t = Math.max(0, Math.floor(timeoutSec));
  const r = await remote.script(SHUTDOWN_SCRIPT, [name, String(t)], { step: `shut down ${name}`, timeoutMs: (t + 60) * 1000 });
  return r.stdout.trim() as StopOutcome;
}

export async function qemuImgInfo(remote: Remote, path: string, step: string): Promise<QemuImageInfo> {
  const r = await remote.exec(["qemu-img", "info", "--output=json", "--", path], { step });
  return parseQemuImgInfo(r.stdout, path);
}

async function ensureDisks(remote: Remote, spec: DomainSpec, paths: DomainPaths): Promise<void> {
  if (spec.rootDisk.cloneFrom) await cloneRootDisk(remote, spec, paths);
  else await baseRootDisk(remote, spec, paths);
  await otherDisks(remote, spec, paths);
}

async function baseRootDisk(remote: Remote, spec: DomainSpec, paths: DomainPaths): Promise<void> {
  const base = await qemuImgInfo(remote, spec.rootDisk.baseImage, `read base image of ${spec.name}`).catch((e: Error) => {
    throw new Error(`base image ${spec.rootDisk.baseImage} of ${spec.name} not found or unreadable: ${e.message}`);
  });
  await remote.script(
    ROOT_DISK_SCRIPT,
    [paths.dir, paths.rootDisk, spec.rootDisk.baseImage, spec.rootDisk.mode, spec.rootDisk.sizeMiB ? String(spec.rootDisk.sizeMiB) : "", base.format, String(base.virtualSize)],
    { step: `root disk of ${spec.name}` },
  );
}

async function otherDisks(remote: Remote, spec: DomainSpec, paths: DomainPaths): Promise<void> {
  for (const d of spec.dataDisks) {
    await remote.script(DATA_DISK_SCRIPT, [paths.dataDisks[d.name], String(d.sizeMiB)], { step: `data disk ${d.name} of ${spec.name}` });
  }
  if (spec.cloudInit && paths.seedIso) {
    const isoDir = paths.seedIso.slice(0, paths.seedIso.lastIndexOf("/"));
    const src = `${isoDir}/src`;
    // Made 0700 before any user data is written into it.
    await remote.exec(["install", "-d", "-m", "0700", isoDir, src], { step: `cloud-init seed of ${spec.name}` });
    await remote.upload(`${src}/user-data`, spec.cloudInit.userData, { mode: 0o600 });
    await remote.upload(`${src}/meta-data`, spec.cloudInit.metaData ?? `instance-id: ${spec.name}\nlocal-hostname: ${spec.name}\n`, { mode: 0o600 });
    if (spec.cloudInit.networkConfig) await remote.upload(`${src}/network-config`, spec.cloudInit.networkConfig, { mode: 0o600 });
    if (spec.cloudInit.vendorData) await remote.upload(`${src}/vendor-data`, spec.cloudInit.vendorData, { mode: 0o600 });
    await remote.script(SEED_SCRIPT, [paths.seedIso, src], { step: `cloud-init seed of ${spec.name}` });
  }
}

async function defineDomain(remote: Remote, spec: DomainSpec, paths: DomainPaths, uuid?: string): Promise<void> {
  await remote.upload(paths.definition, buildDomainXml(spec, paths, { uuid }), { mode: 0o600 });
  await virsh(remote, ["define", "--file", paths.definition], `define ${spec.name}`);
}

/** libvirt start failures that have a known next step for the user. */
const START_HINTS: [RegExp, string][] = [
  [/find any firmware to satisfy 'efi'/, "UEFI firmware is not installed on the host: apt-get install ovmf, or boot with firmware \"bios\""],
  [/interface MTU on '[^']*': No such device|bridge.*(does not exist|No such device)/i, "the network bridge does not exist on the host: create it or fix network.bridge"],
  [/\/dev\/kvm|KVM is not available|kvm.*not supported/i, "hardware KVM is not usable on this host: set emulated: true (QEMU TCG)"],
  [/Cannot access (storage|backing) file|No such file or directory/, "a disk, kernel or initrd path does not exist on the host"],
];

/** The next step for a libvirt start failure, when it is a known one. */
export function startFailureHint(stderr: string): string | undefined {
  return START_HINTS.find(([re]) => re.test(stderr))?.[1];
}

async function startDomain(remote: Remote, name: string): Promise<void> {
  try {
    await virsh(remote, ["start", "--domain", name], `start ${name}`);
  } catch (e) {
    if (!(e instanceof RemoteCommandError)) throw e;
    const hint = startFailureHint(e.stderrTail);
    if (!hint) throw e;
    throw new RemoteCommandError(e.host, e.command, e.code, e.stderrTail, e.step, `start ${name} failed on ${e.host}: ${hint}\n  libvirt: ${e.stderrTail.trim()}`);
  }
}

async function applyRunState(remote: Remote, spec: DomainSpec, cur: GuestObserved): Promise<void> {
  if (cur.autostart !== spec.autostart)
    await virsh(remote, ["autostart", "--domain", spec.name, ...(spec.autostart ? [] : ["--disable"])], `autostart of ${spec.name}`);
  if (spec.running && cur.state !== "running") {
    if (cur.state === "paused") await virsh(remote, ["resume", "--domain", spec.name], `resume ${spec.name}`);
    else await startDomain(remote, spec.name);
  }
}

/** Creates disks, defines and (if spec.running) starts the guest. Safe to re-run after a partial failure. */
export async function createGuest(remote: Remote, spec: DomainSpec): Promise<GuestObserved> {
  validateDomainSpec(spec);
  const paths = domainPaths(spec);
  await ensureDisks(remote, spec, paths);
  let cur = await readGuest(remote, spec.name);
  if (!cur.exists) {
    await defineDomain(remote, spec, paths);
    cur = await readGuest(remote, spec.name);
  }
  await applyRunState(remote, spec, cur);
  return readGuest(remote, spec.name);
}

/**
 * For changes that need a fresh QEMU: stops the guest (ACPI, then destroy after
 * spec.shutdownTimeoutSec), grows disks offline if asked, redefines and starts it again.
 */
export async function restartWithDefinition(remote: Remote, spec: DomainSpec): Promise<{ stopped: StopOutcome; observed: GuestObserved }> {
  validateDomainSpec(spec);
  const paths = domainPaths(spec);
  const before = await readGuest(remote, spec.name);
  if (!before.exists) throw new Error(`guest ${spec.name} does not exist on ${remote.label}; create it instead`);
  const stopped = await shutdownGuest(remote, spec.name, spec.shutdownTimeoutSec);
  await ensureDisks(remote, spec, paths);
  await growDisksOffline(remote, spec, paths);
  await defineDomain(remote, spec, paths, before.uuid);
  await applyRunState(remote, spec, await readGuest(remote, spec.name));
  return { stopped, observed: await readGuest(remote, spec.name) };
}

/** Grows a disk image that is smaller than sizeMiB (never shrinks). */
async function growImage(remote: Remote, path: string, sizeMiB: number, step: string): Promise<void> {
  const want = sizeMiB * MiB;
  if (want > (await qemuImgInfo(remote, path, step)).virtualSize) await remote.exec(["qemu-img", "resize", "-q", "--", path, String(want)], { step });
}

async function growDisksOffline(remote: Remote, spec: DomainSpec, paths: DomainPaths): Promise<void> {
  if (spec.rootDisk.sizeMiB) await growImage(remote, paths.rootDisk, spec.rootDisk.sizeMiB, `grow root disk of ${spec.name}`);
  for (const d of spec.dataDisks) await growImage(remote, paths.dataDisks[d.name], d.sizeMiB, `grow data disk ${d.name} of ${spec.name}`);
}

/** Starts a defined guest (no-op when running). */
export async function startGuest(remote: Remote, name: string): Promise<void> {
  const cur = await readGuest(remote, name);
  if (!cur.exists) throw new Error(`guest ${name} does not exist on ${remote.label}`);
  if (cur.state !== "running") await startDomain(remote, name);
}

/**
 * Powers off (hard), undefines and removes the root disk, seed and console log. Data disks stay
 * unless named in deleteDataDisks. With storageDir, files of a half-created guest are cleaned too.
 */
export async function destroyGuest(
  remote: Remote,
  name: string,
  opts: { deleteDataDisks: string[]; storageDir?: string },
): Promise<"destroyed" | "absent"> {
  validateGuestName(name);
  const cur = await readGuest(remote, name);
  let dir: string | undefined;
  const files: string[] = [];
  if (cur.exists) {
    if (cur.state !== "shutoff") await virsh(remote, ["destroy", "--domain", name], `power off ${name}`, [0, 1]);
    await virsh(remote, ["undefine", "--domain", name, "--nvram", "--managed-save", "--snapshots-metadata"], `undefine ${name}`);
    dir = cur.storageGuestDir;
    for (const f of [cur.rootDiskPath, cur.seedIso, cur.consoleLog]) if (f) files.push(f);
    // A disk hot-plugged after the definition was written is not in its bookkeeping; its path is derived the same way.
    for (const d of opts.deleteDataDisks) {
      const f = cur.dataDiskPaths?.[d] ?? (cur.storageGuestDir ? dataDiskPath(cur.storageGuestDir, d) : undefined);
      if (f) files.push(f);
    }
  } else if (opts.storageDir) {
    const p = domainPaths({ name, storageDir: opts.storageDir, dataDisks: opts.deleteDataDisks.map((n) => ({ name: n, sizeMiB: 1, bus: "virtio" as const })), cloudInit: { userData: "" } });
    dir = p.dir;
    files.push(p.rootDisk, p.seedIso!, p.consoleLog, ...Object.values(p.dataDisks));
  }
  if (dir) await remote.script(REMOVE_FILES_SCRIPT, [dir, ...files], { step: `remove files of ${name}` });
  return cur.exists ? "destroyed" : "absent";
}

/**
 * Renames a guest: libvirt renames only inactive domains, so the guest is stopped, renamed,
 * its files moved to the new name's directory and redefined; it starts again if newSpec.running.
 */
export async function renameGuest(remote: Remote, oldName: string, newSpec: DomainSpec): Promise<{ stopped: StopOutcome; observed: GuestObserved }> {
  validateGuestName(oldName);
  validateDomainSpec(newSpec);
  const cur = await readGuest(remote, oldName);
  if (!cur.exists) throw new Error(`guest ${oldName} does not exist on ${remote.label}`);
  const clash = await readGuest(remote, newSpec.name);
  if (clash.exists) throw new Error(`cannot rename ${oldName} to ${newSpec.name}: a guest of that name exists on ${remote.label}`);
  const stopped = await shutdownGuest(remote, oldName, newSpec.shutdownTimeoutSec);
  const paths = domainPaths(newSpec);
  if (cur.storageGuestDir && cur.storageGuestDir !== paths.dir) {
    await remote.script(MOVE_DIR_SCRIPT, [cur.storageGuestDir, paths.dir], {
      step: `move files of ${oldName}`,
    });
  }
  await virsh(remote, ["domrename", "--domain", oldName, "--new-name", newSpec.name], `rename ${oldName}`);
  await defineDomain(remote, newSpec, paths, cur.uuid);
  await applyRunState(remote, newSpec, await readGuest(remote, newSpec.name));
  return { stopped, observed: await readGuest(remote, newSpec.name) };
}
