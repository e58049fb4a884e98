// LXC container lifecycle over a Remote. Every function validates its input before any I/O and
// talks to the host through the fixed scripts in ./scripts.ts.
import { Remote } from "../../ssh/types";
import {
  CPU_PERIOD_US,
  Limits,
  firstCpus,
  limitEntries,
  mergeConfig,
  replaceLimitSettings,
  sharesToWeight,
  validateName,
  validateSpec,
} from "./config";
import { cgroupValuesFromConfig, limitsFromCgroup, parseReadOutput, ReadOutput, toObserved } from "./observe";
import {
  APPLY_SCRIPT,
  APPLY_THEN_READ,
  CLAIM_SCRIPT,
  CREATE_THEN_READ,
  DESTROY_SCRIPT,
  FIND_OWNED_SCRIPT,
  READ_SCRIPT,
  REGISTER_DIR,
  RENAME_SCRIPT,
  STOP_SCRIPT,
  UNREGISTER_SCRIPT,
  VERIFY_SCRIPT,
} from "./scripts";
import { CgroupVersion, ContainerObserved, ContainerSpec, LiveChange } from "./types";

const MiB = 1024 * 1024;
/** lxc-create with debootstrap can take minutes uncached. */
const CREATE_TIMEOUT_MS = 15 * 60 * 1000;

async function readRaw(remote: Remote, names: string[]): Promise<ReadOutput> {
  names.forEach(validateName);
  const r = await remote.script(READ_SCRIPT, names, { step: names.length > 3 ? `read ${names.length} containers` : `read containers ${names.join(", ")}`, coalesce: true });
  return parseReadOutput(r.stdout);
}

/**
 * Live state of the named containers AND of every other container on the host, in one round trip (a
 * refresh snapshot). Directories whose names no container of ours can have are left out.
 */
export async function readAllContainers(remote: Remote, names: string[]): Promise<Map<string, ContainerObserved | undefined>> {
  names.forEach(validateName);
  const r = await remote.script(READ_SCRIPT, ["--all", ...names], { step: "read the host's containers", coalesce: true });
  const { facts, containers } = parseReadOutput(r.stdout);
  const out = new Map<string, ContainerObserved | undefined>();
  for (const n of names) out.set(n, undefined);
  for (const [n, raw] of containers) {
    try {
      validateName(n);
    } catch {
      continue;
    }
    out.set(n, toObserved(raw, facts));
  }
  return out;
}

/** Live state of many containers in ONE round trip. Absent containers map to undefined. */
export async function readContainers(remote: Remote, names: string[]): Promise<Map<string, ContainerObserved | undefined>> {
  const out = new Map<string, ContainerObserved | undefined>();
  if (names.length === 0) return out;
  const { facts, containers } = await readRaw(remote, names);
  for (const n of names) {
    const raw = containers.get(n);
    out.set(n, raw ? toObserved(raw, facts) : undefined);
  }
  return out;
}

/** Live state of one container (one round trip), undefined when it does not exist. */
export async function readContainer(remote: Remote, name: string): Promise<ContainerObserved | undefined> {
  return (await readContainers(remote, [name])).get(name);
}

export async function hostCgroupVersion(remote: Remote): Promise<CgroupVersion> {
  return (await readRaw(remote, [])).facts.cgroupVersion;
}

export interface LxcHostInfo {
  version: string;
  bridges: string[];
  cgroupVersion: CgroupVersion;
  templates: string[];
}

/** What the host offers for containers; fails with a hint when LXC is missing. */
export async function verifyLxc(remote: Remote): Promise<LxcHostInfo> {
  const r = await remote.script(VERIFY_SCRIPT, [], { step: "verify LXC", coalesce: true });
  const info: LxcHostInfo = { version: "", bridges: [], cgroupVersion: 1, templates: [] };
  for (const line of r.stdout.split("\n")) {
    const [k, v = ""] = line.split("\t");
    if (k === "version") info.version = v.trim();
    else if (k === "cgroup") info.cgroupVersion = v === "2" ? 2 : 1;
    else if (k === "bridge" && v) info.bridges.push(v);
    else if (k === "template" && v) info.templates.push(v);
  }
  if (!info.version) throw new Error(`LXC is not installed on ${remote.label}: install the packages lxc and lxc-templates (apt-get install lxc lxc-templates busybox-static)`);
  return info;
}

function templateArgs(spec: ContainerSpec): [string, string] {
  const t = spec.template;
  return t.kind === "busybox" ? ["busybox", ""] : t.kind === "debian" ? ["debian", t.release] : ["tarball", t.path];
}

export interface CreateOptions {
  /** Take over an existing container of this name that pulumi-virt did not create (its rootfs is kept). */
  adopt?: boolean;
  /** The creating resource's token, written into the host's register (ownership by identity, not by name). */
  ownerToken?: string;
  /** Resuming a create of a resource from a release before tokens: an empty registration is its own. */
  legacy?: boolean;
  /**
   * The resource's stable key (its stack and name): a registration with this key is this resource's own create
   * that the engine never recorded (the CLI was killed), which is resumed although its token was lost.
   */
  ownerKey?: string;
}

/** Runs a script that ends with READ_SCRIPT for `name`; returns its parsed state. */
async function scriptThenRead(remote: Remote, script: string, name: string, args: string[], opts: { step: string; stdin?: string; timeoutMs?: number }) {
  const r = await remote.script(script, [name, ...args], opts);
  const { facts, containers } = parseReadOutput(r.stdout);
  const raw = containers.get(name);
  if (!raw) throw new Error(`${opts.step}: no state came back from ${remote.label}`);
  const stopped = /^stopped\t(\S+)$/m.exec(r.stdout)?.[1] as StopResult | undefined;
  return { facts, raw, observed: toObserved(raw, facts), stopped };
}

/** The container whose registration holds this token (e.g. one renamed aside during a replacement), if any. */
export async function findContainerByOwner(remote: Remote, token: string): Promise<string | undefined> {
  if (!/^[0-9a-f]{16,64}$/.test(token)) throw new Error("invalid owner token");
  const name = (await remote.script(FIND_OWNED_SCRIPT, [token], { step: "find a container by its owner" })).stdout.trim();
  return name ? (validateName(name), name) : undefined;
}

/** The container's registration on the host holds another resource's token; nothing was changed. */
export class ContainerOwnedElsewhereError extends Error {
  constructor(readonly container: string, detail: string) {
    super(detail);
    this.name = "ContainerOwnedElsewhereError";
  }
}

function ownedElsewhere(name: string) {
  return (e: Error & { code?: unknown }): never => {
    if (e.name === "RemoteCommandError" && e.code === 6) throw new ContainerOwnedElsewhereError(name, e.message);
    throw e;
  };
}

/**
 * Writes the resource's token into the container's registration: when it is empty (registered by a release
 * before tokens) or already this token, or, with force (adopt), over another resource's token.
 */
export async function claimContainer(remote: Remote, name: string, token: string, opts: { force?: boolean; ownerKey?: string } = {}): Promise<void> {
  validateName(name);
  if (!/^[0-9a-f]{16,64}$/.test(token)) throw new Error(`invalid owner token for container ${name}`);
  if (opts.ownerKey !== undefined && !/^[0-9a-f]{16,64}$/.test(opts.ownerKey)) throw new Error(`invalid owner key for container ${name}`);
  await remote.script(CLAIM_SCRIPT, [name, token, opts.force ? "1" : "0", opts.ownerKey ?? ""], { step: `claim container ${name}` }).catch(ownedElsewhere(name));
}

/** The container exists on the host and is not pulumi-virt's (not in the host's register); nothing was changed. */
export class ContainerExistsError extends Error {
  constructor(readonly container: string, detail: string) {
    super(detail);
    this.name = "ContainerExistsError";
  }
}

/**
 * Creates, configures and (if spec.running) starts a container: two round trips (register + create-if-needed +
 * read, configure + start + read). Each step checks whether it is already done, so re-running after
 * an interruption at any point completes without duplicates. A container of that name that pulumi-virt did not
 * create is left alone (ContainerExistsError) unless opts.adopt.
 */
export async function createContainer(remote: Remote, spec: ContainerSpec, opts: CreateOptions = {}): Promise<ContainerObserved> {
  validateSpec(spec);
  if (opts.ownerToken !== undefined && !/^[0-9a-f]{16,64}$/.test(opts.ownerToken)) throw new Error(`invalid owner token for container ${spec.name}`);
  if (opts.ownerKey !== undefined && !/^[0-9a-f]{16,64}$/.test(opts.ownerKey)) throw new Error(`invalid owner key for container ${spec.name}`);
  const step = `create container ${spec.name}`;
  const [kind, arg] = templateArgs(spec);
  const created = await scriptThenRead(remote, CREATE_THEN_READ, spec.name, [kind, arg, spec.disk?.fstype ?? "", String(spec.disk?.sizeMiB ?? ""), opts.adopt ? "1" : "0", opts.ownerToken ?? "", opts.legacy ? "1" : "0", opts.ownerKey ?? ""], {
    step,
    timeoutMs: CREATE_TIMEOUT_MS,
    // The host key travels on stdin, never in argv (visible in the host's process list).
    stdin: spec.ssh ? sshKeysInput(spec.ssh) : undefined,
  }).catch((e: Error & { code?: unknown }) => {
    if (e.name === "RemoteCommandError" && e.code === 3) throw new ContainerExistsError(spec.name, e.message);
    return ownedElsewhere(spec.name)(e);
  });
  const { facts, raw } = created;
  if (!raw.exists) throw new Error(`${step}: lxc-create reported success but ${facts.lxcPath}/${spec.name}/config is missing`);
  const ops: string[] = [];
  if (spec.network && spec.running) ops.push("bridge", spec.network.bridge);
  const config = mergeConfig(raw.configText, spec, facts);
  if (config !== raw.configText.replace(/\n*$/, "\n")) {
    ops.push("config", configPath(facts.lxcPath, spec.name));
    // An adopted container that already runs gets its limits now, not at its next start.
    if (created.observed?.running) {
      const all: LiveChange = { memoryMiB: spec.memoryMiB, swapMiB: spec.swapMiB ?? null, cpus: spec.cpus ?? null, cpuQuotaPercent: spec.cpuQuotaPercent ?? null, cpuShares: spec.cpuShares ?? null };
      for (const [k, v] of liveCgroupWrites(all, raw.cg, facts.cgroupVersion, facts.hostCpus)) ops.push("cg", k, v);
    }
  }
  if (spec.running && !created.observed?.running) ops.push("start");
  const observed = ops.length ? (await scriptThenRead(remote, APPLY_THEN_READ, spec.name, ops, { step, stdin: config })).observed : created.observed;
  if (!observed) throw new Error(`${step}: container vanished after create`);
  return observed;
}

const configPath = (lxcPath: string, name: string) => `${lxcPath}/${name}/config`;

const PUBLIC_KEY_LINE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$/;
const OPENSSH_PRIVATE_KEY = /^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----\n?$/;

/**
 * create.sh's stdin: the host key's public line, the authorized key line (may be empty), then the private key.
 * Empty when there are no keys to install. Checked here, so the script only ever writes key-shaped lines.
 */
export function sshKeysInput(ssh: ContainerSpec["ssh"]): string {
  if (!ssh) return "";
  const pub = ssh.hostPublicKey.trim();
  const priv = ssh.hostPrivateKey.replace(/\r\n/g, "\n").trim() + "\n";
  const login = ssh.authorizedKey?.trim() ?? "";
  if (!/^ssh-ed25519 /.test(pub) || !PUBLIC_KEY_LINE.test(pub)) throw new Error("the container's SSH host key must be an ed25519 public key line");
  if (!OPENSSH_PRIVATE_KEY.test(priv)) throw new Error("the container's SSH host key must be an OpenSSH private key");
  if (login && !PUBLIC_KEY_LINE.test(login)) throw new Error("the container's authorized key must be an OpenSSH public key line");
  return `${pub}\n${login}\n${priv}`;
}

/** The live cgroup writes (file, value), in a safe order, that move a running container to `next`. */
export function liveCgroupWrites(
  change: LiveChange,
  live: Record<string, string>,
  v: CgroupVersion,
  hostCpus: string,
): [string, string][] {
  const w: [string, string][] = [];
  const cur = limitsFromCgroup(live, v);
  const memChanged = change.memoryMiB !== undefined || change.swapMiB !== undefined;
  const mem = change.memoryMiB ?? cur.memoryMiB;
  const swap = change.swapMiB === null ? undefined : change.swapMiB ?? cur.swapMiB;
  if (v === 1) {
    if (memChanged) {
      const hasMemsw = live["memory.memsw.limit_in_bytes"] !== undefined;
      // memsw must stay >= memory at every step: lift it, set memory, then set memsw.
      if (hasMemsw) w.push(["memory.memsw.limit_in_bytes", "-1"]);
      w.push(["memory.limit_in_bytes", mem === undefined ? "-1" : `${mem * MiB}`]);
      if (hasMemsw && mem !== undefined && swap !== undefined) w.push(["memory.memsw.limit_in_bytes", `${(mem + swap) * MiB}`]);
    }
    if (change.cpus !== undefined) w.push(["cpuset.cpus", change.cpus === null ? hostCpus : firstCpus(hostCpus, change.cpus)]);
    if (change.cpuQuotaPercent !== undefined) {
      w.push(["cpu.cfs_period_us", `${CPU_PERIOD_US}`]);
      w.push(["cpu.cfs_quota_us", change.cpuQuotaPercent === null ? "-1" : `${(change.cpuQuotaPercent * CPU_PERIOD_US) / 100}`]);
    }
    if (change.cpuShares !== undefined) w.push(["cpu.shares", `${change.cpuShares ?? 1024}`]);
  } else {
    if (change.memoryMiB !== undefined) w.push(["memory.max", `${change.memoryMiB * MiB}`]);
    if (change.swapMiB !== undefined) w.push(["memory.swap.max", change.swapMiB === null ? "max" : `${change.swapMiB * MiB}`]);
    if (change.cpus !== undefined) w.push(["cpuset.cpus", change.cpus === null ? hostCpus : firstCpus(hostCpus, change.cpus)]);
    if (change.cpuQuotaPercent !== undefined) {
      w.push(["cpu.max", change.cpuQuotaPercent === null ? `max ${CPU_PERIOD_US}` : `${(change.cpuQuotaPercent * CPU_PERIOD_US) / 100} ${CPU_PERIOD_US}`]);
    }
    if (change.cpuShares !== undefined) w.push(["cpu.weight", `${change.cpuShares === null ? 100 : sharesToWeight(change.cpuShares)}`]);
  }
  return w;
}

/** The persisted limits after `change`: the config's limits with the change laid over. */
export function persistedLimits(configLimits: Limits, change: LiveChange): Limits {
  const next: Limits = { ...configLimits };
  for (const k of ["memoryMiB", "swapMiB", "cpus", "cpuQuotaPercent", "cpuShares"] as const) {
    const v = change[k];
    if (v === null) delete next[k];
    else if (v !== undefined) next[k] = v;
  }
  return next;
}

export interface ApplyLiveOptions {
  /** Graceful stop timeout when change.running is false. Default 30. */
  stopTimeoutSec?: number;
}

/**
 * Applies limits, disk grow, autostart and running state without restarting the container, and
 * persists them in its config. Two round trips (read; apply + stop/start + read). Returns the state after.
 */
export async function applyLive(remote: Remote, name: string, change: LiveChange, opts: ApplyLiveOptions = {}): Promise<ContainerObserved> {
  validateName(name);
  const step = `apply live change to container ${name}`;
  for (const k of ["memoryMiB", "swapMiB", "cpus", "cpuQuotaPercent", "cpuShares", "diskSizeMiB"] as const) {
    const v = change[k];
    if (v !== undefined && v !== null && (!Number.isInteger(v) || v < 0)) throw new Error(`${step}: ${k} must be a whole number >= 0; got ${v}`);
  }
  const { facts, containers } = await readRaw(remote, [name]);
  const raw = containers.get(name)!;
  const obs = toObserved(raw, facts);
  if (!obs) throw new Error(`${step}: container ${name} does not exist on ${remote.label}`);
  const ops: string[] = [];
  if (obs.running) for (const [k, v] of liveCgroupWrites(change, raw.cg, facts.cgroupVersion, facts.hostCpus)) ops.push("cg", k, v);
  if (change.diskSizeMiB !== undefined && change.diskSizeMiB !== obs.diskSizeMiB) {
    if (!obs.loopImage || obs.diskSizeMiB === undefined) throw new Error(`${step}: the container has a directory rootfs; a disk size needs a replace with disk set`);
    if (change.diskSizeMiB < obs.diskSizeMiB) throw new Error(`${step}: disk ${obs.diskSizeMiB} MiB -> ${change.diskSizeMiB} MiB is a shrink; that needs a replace (data is lost)`);
    if (obs.running && obs.fstype !== "xfs" && obs.fstype !== "btrfs") {
      throw new Error(`${step}: ${obs.fstype ?? "this"} filesystem grows only offline here; restart the container to grow it`);
    }
    ops.push("grow", obs.loopImage, String(change.diskSizeMiB), obs.fstype ?? "", obs.running ? "online" : "offline");
  }
  const limits = persistedLimits(limitsFromCgroup(cgroupValuesFromConfig(raw.configText, facts.cgroupVersion), facts.cgroupVersion), change);
  const autostart = change.autostart ?? obs.autostart;
  const entries: [string, string][] = [["lxc.start.auto", autostart ? "1" : "0"], ...limitEntries(limits, facts.cgroupVersion, facts.hostCpus)];
  const config = replaceLimitSettings(raw.configText, entries);
  if (config !== raw.configText) ops.push("config", configPath(facts.lxcPath, name));
  if (change.running === true && !obs.running) ops.push("start");
  if (change.running === false && obs.running) ops.push("stop", String(stopTimeout(opts.stopTimeoutSec ?? 30)));
  if (!ops.length) return obs;
  const after = await scriptThenRead(remote, APPLY_THEN_READ, name, ops, { step, stdin: config, timeoutMs: ((opts.stopTimeoutSec ?? 30) + 120) * 1000 });
  if (!after.observed) throw new Error(`${step}: container ${name} vanished`);
  return after.observed;
}

function stopTimeout(t: number): number {
  if (!Number.isInteger(t) || t < 0) throw new Error(`stop timeout must be whole seconds >= 0; got ${t}`);
  return t;
}

export type StopResult = "graceful" | "killed" | "already-stopped";

/** Asks init to halt; kills the container after timeoutSec. */
export async function stopContainer(remote: Remote, name: string, timeoutSec: number): Promise<StopResult> {
  validateName(name);
  stopTimeout(timeoutSec);
  const r = await remote.script(STOP_SCRIPT, [name, String(timeoutSec)], { step: `stop container ${name}`, timeoutMs: (timeoutSec + 60) * 1000 });
  return r.stdout.trim() as StopResult;
}

export async function startContainer(remote: Remote, name: string): Promise<void> {
  validateName(name);
  await remote.script(APPLY_SCRIPT, [name, "start"], { step: `start container ${name}` });
}

/**
 * Rewrites the whole config from spec, stops, grows the disk offline if spec asks for more, and starts
 * again (if spec.running). For changes that need a restart (network, environment, mounts, ext4 grow).
 * Two round trips (read; stop + config + grow + start + read). Returns how it stopped.
 */
export async function restartContainer(remote: Remote, spec: ContainerSpec, opts: { stopTimeoutSec?: number } = {}): Promise<StopResult> {
  validateSpec(spec);
  const step = `restart container ${spec.name}`;
  const { facts, containers } = await readRaw(remote, [spec.name]);
  const raw = containers.get(spec.name)!;
  const obs = toObserved(raw, facts);
  if (!obs) throw new Error(`${step}: container ${spec.name} does not exist on ${remote.label}`);
  if (spec.disk && obs.diskSizeMiB !== undefined && spec.disk.sizeMiB < obs.diskSizeMiB) {
    throw new Error(`${step}: disk ${obs.diskSizeMiB} MiB -> ${spec.disk.sizeMiB} MiB is a shrink; that needs a replace (data is lost)`);
  }
  const timeout = stopTimeout(opts.stopTimeoutSec ?? 30);
  // The bridge is checked before stopping, so a typo does not leave the container down.
  const ops: string[] = spec.network && spec.running ? ["bridge", spec.network.bridge] : [];
  ops.push("stop", String(timeout), "config", configPath(facts.lxcPath, spec.name));
  if (spec.disk && obs.loopImage && obs.diskSizeMiB !== undefined && spec.disk.sizeMiB > obs.diskSizeMiB) {
    ops.push("grow", obs.loopImage, String(spec.disk.sizeMiB), obs.fstype ?? spec.disk.fstype, "offline");
  }
  if (spec.running) ops.push("start");
  const after = await scriptThenRead(remote, APPLY_THEN_READ, spec.name, ops, { step, stdin: mergeConfig(raw.configText, spec, facts), timeoutMs: (timeout + 120) * 1000 });
  return after.stopped ?? "already-stopped";
}

/** Renames a STOPPED container (directory, image path, hostname). Idempotent. */
export async function renameContainer(remote: Remote, from: string, to: string): Promise<"renamed" | "already-renamed"> {
  validateName(from);
  validateName(to);
  const r = await remote.script(RENAME_SCRIPT, [from, to], { step: `rename container ${from} to ${to}` });
  return r.stdout.trim() as "renamed" | "already-renamed";
}

/** Takes the container's name out of the host's register (after a create that left nothing behind). */
export async function unregisterContainer(remote: Remote, name: string): Promise<void> {
  validateName(name);
  await remote.script(UNREGISTER_SCRIPT, [REGISTER_DIR, name], { step: `unregister container ${name}` });
}

export interface DestroyReport {
  result: "destroyed" | "absent";
  /** How a running container stopped first (absent: nothing to stop). */
  stopped?: StopResult;
}

/**
 * Stops and destroys the container in one round trip (owner checked on the host first), detaches its loop devices
 * and removes its image and registration. The stop is a kill unless stopTimeoutSec > 0 asks for a graceful one
 * bounded by it: nothing of the container survives, so a shutdown only matters to what runs inside.
 */
export async function destroyContainerReport(remote: Remote, name: string, opts: { ownerToken?: string; stopTimeoutSec?: number } = {}): Promise<DestroyReport> {
  validateName(name);
  const grace = stopTimeout(opts.stopTimeoutSec ?? 0);
  const r = await remote
    .script(DESTROY_SCRIPT, [name, opts.ownerToken ?? "", String(grace)], { step: `destroy container ${name}`, timeoutMs: (grace + 120) * 1000 })
    .catch(ownedElsewhere(name));
  const [result, stopped] = r.stdout.trim().split(/\s+/);
  return { result: result as DestroyReport["result"], ...(stopped ? { stopped: stopped as StopResult } : {}) };
}

/** destroyContainerReport without the report. */
export async function destroyContainer(remote: Remote, name: string, opts: { ownerToken?: string; stopTimeoutSec?: number } = {}): Promise<"destroyed" | "absent"> {
  return (await destroyContainerReport(remote, name, opts)).result;
}
