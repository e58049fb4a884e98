// The LXC backend of the driver contract: Containers on an lxc Hypervisor, on top of this folder's functions.
import type { ContainerState, GuestNicAddresses } from "../../models/state";
import { loginKeyOf, pinnedHostKey } from "../../ssh/keys";
import type { HostFacts } from "../../models/host";
import type { PlanView } from "../../plan/types";
import { capabilitiesFor, CONTAINER_KEYS, ContainerKey } from "./capabilities";
import type { Remote } from "../../ssh/types";
import { randomBytes } from "node:crypto";
import type { ConnectionArgs } from "../../ssh/connection";
import { ChangeContext, CreateLeftover, HostDriver, MachineDriver, MachineExistsError, MachineOwnedElsewhereError, Owner, RenameResult, ReplacedMachine, problemsOf, StopOutcome } from "../contract";
import { validateSpec } from "./config";
import {
  applyLive,
  claimContainer,
  createContainer,
  findContainerByOwner,
  startContainer,
  destroyContainer,
  readContainer,
  renameContainer,
  restartContainer,
  stopContainer,
  StopResult,
  unregisterContainer,
  verifyLxc,
} from "./driver";
import { hostChanged, prefetchContainers, readContainerCoalesced } from "./batched-read";
import type { ContainerObserved, ContainerSpec, LiveChange } from "./types";
import { installLxc, LXC_PACKAGES, prepareLxcHost } from "./install";
import { lxcSnapshots } from "./snapshot";

/** The LXC driver's ownership refusal, in the contract's words. */
function owned<T>(p: Promise<T>): Promise<T> {
  return p.catch((e: Error) => {
    throw e.name === "ContainerOwnedElsewhereError" ? new MachineOwnedElsewhereError(e.message) : e;
  });
}

/** One hop as a @pulumi/command-style connection: its pinned host key, credentials, and the rest of its chain. */
export function hopOf(c: ConnectionArgs): Record<string, unknown> {
  const hop: Record<string, unknown> = { host: c.host, port: c.port, user: c.user };
  // @pulumi/command's connection has no field for "unpinned": a hop without a pinned key simply has no hostKey.
  if (c.hostKey) hop.hostKey = c.hostKey;
  if (c.privateKey) hop.privateKey = c.privateKey;
  if (c.privateKeyPassword !== undefined) hop.privateKeyPassword = c.privateKeyPassword;
  if (c.password !== undefined) hop.password = c.password;
  if (c.agentSocket) hop.agentSocketPath = c.agentSocket;
  // @pulumi/command takes one proxy hop; the rest of the host's chain is kept (pulumi-virt's Host accepts it).
  if (c.proxy) hop.proxy = hopOf(c.proxy);
  return hop;
}

/** The container's NIC and the addresses it has (running: read in its network namespace; stopped: none). */
export function containerAddresses(s: ContainerState, o: ContainerObserved | undefined): GuestNicAddresses[] {
  const ips = o?.running ? o.ips ?? (o.address ? [o.address.split("/")[0]] : []) : [];
  const mac = o?.hwaddr ?? s.network?.hwaddr?.toLowerCase() ?? "";
  const bridge = o?.bridge ?? s.network?.bridge ?? s.hypervisor.bridge ?? "";
  const v6 = (a: string) => a.includes(":");
  return [{ mac, bridge, ipv4: ips.filter((a) => !v6(a)).sort(), ipv6: ips.filter(v6).sort() }];
}

/**
 * A connection shaped like @pulumi/command's remote.Connection, reaching the container through its host with the
 * host's whole connection (pinned key, credentials, proxy chain): to its static address, or else to the first
 * address it has (DHCP). Its hostKey is the key pulumi-virt generated and installed into the rootfs at create. An
 * address the container got by DHCP has a connection only with that pin (never trust on first use); a container
 * from before pinned keys (or an adopted one) with a static address keeps its unpinned connection, without hostKey
 * (@pulumi/command rejects unknown fields such as insecureSkipHostKeyCheck, so it cannot say more than that).
 * The Container class declares this output secret (it holds the host's credentials).
 */
export function connectionOf(s: ContainerState, addresses: GuestNicAddresses[] = []): Record<string, unknown> | undefined {
  const fixed = s.network?.address?.split("/")[0];
  const found = addresses.flatMap((a) => a.ipv4)[0] ?? addresses.flatMap((a) => a.ipv6)[0];
  const address = fixed ?? (s.sshHostKey ? found : undefined);
  if (!address) return undefined;
  const c = s.hypervisor.host.connection;
  const own: Record<string, unknown> = { host: address, port: 22, user: "root" };
  if (s.sshHostKey) own.hostKey = s.sshHostKey.publicKey;
  if (c.privateKey) own.privateKey = c.privateKey;
  if (c.privateKeyPassword !== undefined) own.privateKeyPassword = c.privateKeyPassword;
  return { ...own, proxy: hopOf(c) };
}

/** The SSH keys a new rootfs gets: the pinned host key, and the host connection's key for root's login. */
function sshOf(s: ContainerState): ContainerSpec["ssh"] {
  if (!s.sshHostKey) return undefined;
  const login = loginKeyOf(s.hypervisor.host.connection);
  return { hostPrivateKey: s.sshHostKey.privateKey, hostPublicKey: s.sshHostKey.publicKey, authorizedKey: login };
}

/** A temporary name derived from the container's (still a valid container name: at most 63 characters). */
function asideName(name: string, role: "new" | "old", suffix: string): string {
  return `${name.slice(0, 48)}-pv${role}-${suffix}`;
}

/** Undoes a switch that failed half-way: the new container goes back aside (and away), the old one back in place. */
async function putBack(remote: Remote, name: string, fresh: string, aside: string, ownerToken: string, start: boolean): Promise<void> {
  const atName = await readContainer(remote, name);
  if (atName?.ownerToken === ownerToken) {
    await stopContainer(remote, name, 0);
    await renameContainer(remote, name, fresh);
  }
  if (await readContainer(remote, aside)) await renameContainer(remote, aside, name);
  if (start) await startContainer(remote, name);
  await destroyContainer(remote, fresh, { ownerToken });
}

/**
 * A replacement with the same name on the same host, without a moment with no container if it fails: the new
 * container is built under a temporary name (stopped: it has the old one's address), then the old one is stopped
 * and renamed aside, the new one renamed into place and started. The engine then deletes the old resource, whose
 * container is found aside by its owner token. If the build fails, the old container was not touched; if the switch
 * fails, the old one is put back and started again.
 */
async function replaceBeside(remote: Remote, s: ContainerState, old: ReplacedMachine, owner: Owner): Promise<ContainerObserved | undefined> {
  const name = s.name;
  const suffix = randomBytes(3).toString("hex");
  const fresh = asideName(name, "new", suffix);
  const aside = asideName(name, "old", suffix);
  const what = `container "${name}" on ${s.hypervisor.host.facts.hostname ? `host "${s.hypervisor.host.facts.hostname}"` : "the host"}`;
  try {
    const cur = await readContainer(remote, name);
    // Nothing of the old one is left: an ordinary create.
    if (!cur) return await createContainer(remote, containerSpec(s), { adopt: owner.adopt, ownerToken: owner.token, ownerKey: owner.key });
    // The old container must be the old resource's: its token goes into the registration (a state from before
    // tokens claims it here), so that its delete finds it once it is renamed aside.
    await owned(claimContainer(remote, name, old.token, { force: owner.adopt }));
    try {
      await createContainer(remote, { ...containerSpec(s), name: fresh, running: false }, { ownerToken: owner.token, ownerKey: owner.key });
    } catch (e) {
      await destroyContainer(remote, fresh, { ownerToken: owner.token }).catch(() => undefined);
      throw new Error(
        `${what}: the replacement could not be built (${(e as Error).message}). The old container was not touched and keeps ` +
        `running as before; nothing was changed. Fix the cause and run up again.`,
      );
    }
    let phase = "stop the old container";
    try {
      await stopContainer(remote, name, old.stopTimeoutSec);
      phase = "rename the old container aside";
      await renameContainer(remote, name, aside);
      phase = "rename the new container into place";
      await renameContainer(remote, fresh, name);
      if (s.running !== false) {
        phase = "start the new container";
        await startContainer(remote, name);
      }
    } catch (e) {
      const restored = await putBack(remote, name, fresh, aside, owner.token, old.wasRunning).then(
        () => "the old container was put back" + (old.wasRunning ? " and started again" : ""),
        (u: Error) => `putting the old container back failed too (${u.message}); it is "${aside}" if it is not "${name}"`,
      );
      throw new Error(`${what}: the replacement was built but could not ${phase} (${(e as Error).message}); ${restored}.`);
    }
  } finally {
    hostChanged(remote);
  }
  return readContainerCoalesced(remote, name);
}

const INPUT_NAME: Partial<Record<ContainerKey, string>> = {
  memoryMiB: "memory", swapMiB: "swap", diskSizeMiB: "disk", diskFstype: "disk", diskBacking: "disk", hostIdentity: "hypervisor",
};
const DISPLAY_NAME: Partial<Record<ContainerKey, string>> = {
  memoryMiB: "memory", swapMiB: "swap", diskSizeMiB: "disk.size", diskFstype: "disk.fstype", diskBacking: "disk", hostIdentity: "hypervisor (host)",
};
const isKey = (k: string): k is ContainerKey => (CONTAINER_KEYS as readonly string[]).includes(k);

export function containerView(s: ContainerState): PlanView<ContainerKey> {
  const hv = s.hypervisor;
  return {
    name: s.name,
    template: s.template,
    osFamily: s.osFamily,
    memoryMiB: s.memory,
    swapMiB: s.swap,
    cpus: s.cpus,
    cpuQuotaPercent: s.cpuQuotaPercent,
    cpuShares: s.cpuShares,
    diskBacking: s.disk ? "loop" : "dir",
    diskSizeMiB: s.disk?.size,
    diskFstype: s.disk?.fstype,
    network: s.network,
    environment: s.environment,
    autostart: s.autostart,
    running: s.running,
    hostIdentity: hv?.host?.facts ? `${hv.host.facts.machineId}/${hv.host.facts.hostname}` : undefined,
  };
}

export function containerSpec(s: ContainerState): ContainerSpec {
  const template: ContainerSpec["template"] =
    s.template === "busybox" ? { kind: "busybox" }
      : s.template.startsWith("debian:") ? { kind: "debian", release: s.template.slice("debian:".length) }
        : { kind: "tarball", path: s.template };
  return {
    name: s.name,
    template,
    cpus: s.cpus,
    cpuQuotaPercent: s.cpuQuotaPercent,
    cpuShares: s.cpuShares,
    memoryMiB: s.memory,
    swapMiB: s.swap,
    disk: s.disk ? { sizeMiB: s.disk.size, fstype: s.disk.fstype } : undefined,
    network: { bridge: s.network?.bridge ?? s.hypervisor.bridge, address: s.network?.address, gateway: s.network?.gateway, hwaddr: s.network?.hwaddr },
    environment: s.environment,
    ssh: sshOf(s),
    running: s.running,
    autostart: s.autostart,
  };
}

const STOP_OUTCOME: Record<StopResult, StopOutcome> = { graceful: "graceful", killed: "destroyed", "already-stopped": "already-off" };

/** A container's args from what the host reports (`pulumi import`): what preview then compares the program with. */
function importedArgs(o: ContainerObserved, facts: HostFacts): Record<string, unknown> {
  // The kernel's defaults mean "no limit set": all the host's CPUs, the default CPU weight.
  const cpus = o.cpus !== undefined && o.cpus < facts.cpus ? o.cpus : undefined;
  const cpuShares = o.cpuShares !== undefined && o.cpuShares !== (facts.cgroupVersion === 1 ? 1024 : 100) ? o.cpuShares : undefined;
  const template = o.template?.startsWith("tarball:") ? o.template.slice("tarball:".length) : o.template;
  return {
    name: o.name,
    ...(template ? { template } : {}),
    ...(o.memoryMiB !== undefined ? { memory: o.memoryMiB } : {}),
    ...(o.swapMiB !== undefined ? { swap: o.swapMiB } : {}),
    ...(cpus !== undefined ? { cpus } : {}),
    ...(o.cpuQuotaPercent !== undefined ? { cpuQuotaPercent: o.cpuQuotaPercent } : {}),
    ...(cpuShares !== undefined ? { cpuShares } : {}),
    ...(o.diskSizeMiB !== undefined && o.fstype ? { disk: { size: o.diskSizeMiB, fstype: o.fstype } } : {}),
    running: o.running,
    autostart: o.autostart,
  };
}

function withObserved(s: ContainerState, o: ContainerObserved): ContainerState {
  const p: ContainerState = { ...s, observed: o };
  if (o.memoryMiB !== undefined) p.memory = o.memoryMiB;
  if (o.swapMiB !== undefined && s.swap !== undefined) p.swap = o.swapMiB;
  if (o.cpus !== undefined && s.cpus !== undefined) p.cpus = o.cpus;
  if (o.cpuQuotaPercent !== undefined && s.cpuQuotaPercent !== undefined) p.cpuQuotaPercent = o.cpuQuotaPercent;
  if (o.cpuShares !== undefined && s.cpuShares !== undefined) p.cpuShares = o.cpuShares;
  if (o.diskSizeMiB !== undefined && s.disk) p.disk = { ...s.disk, size: o.diskSizeMiB };
  p.running = o.running;
  p.autostart = o.autostart;
  return { ...p, ...containerOutputs(p) };
}

/** The derived outputs: addresses from the last read, the connection to them. */
function containerOutputs(s: ContainerState): Partial<ContainerState> {
  const addresses = containerAddresses(s, s.observed as ContainerObserved | undefined);
  return { addresses, connection: connectionOf(s, addresses) };
}

export const lxcMachineDriver: MachineDriver<ContainerState, ContainerKey, ContainerObserved> = {
  kind: "lxc",
  resource: "Container",
  form: "lxc",
  idPrefix: "lxc",
  view: containerView,
  capabilities: (old) => capabilitiesFor(old?.disk?.fstype ?? "xfs"),
  referenceVariants: { "xfs": { disk: { size: 300, fstype: "xfs" } }, "btrfs": { disk: { size: 300, fstype: "btrfs" } }, "ext4": { disk: { size: 300, fstype: "ext4" } } },
  displayName: (k) => (isKey(k) ? DISPLAY_NAME[k] : undefined) ?? k,
  inputName: (k) => (isKey(k) ? INPUT_NAME[k] : undefined) ?? k,
  secretKeys: ["environment"],
  sameNameReplacement: "beside",
  specProblems: (s) => problemsOf(() => validateSpec(containerSpec(s))),

  async create(remote, s, opts) {
    try {
      // The driver registers the name on the host, creates (or resumes an interrupted create of ours), configures,
      // starts and reads back. A container of that name that is not ours is refused before anything changes.
      const observed = await owned(createContainer(remote, containerSpec(s), { adopt: opts.owner.adopt, ownerToken: opts.owner.token, legacy: opts.legacy, ownerKey: opts.owner.key }));
      return { outcome: opts.resume ? "resumed" : opts.owner.adopt ? "adopted" : "created", observed };
    } catch (e) {
      if ((e as Error).name === "ContainerExistsError") throw new MachineExistsError((e as Error).message);
      throw e;
    } finally {
      // The host changed: a refresh snapshot taken before this must not answer later reads.
      hostChanged(remote);
    }
  },
  async afterFailedCreate(remote, s): Promise<CreateLeftover> {
    // lxc-create cleans up after itself: when nothing is left, drop our registration too, so a later refresh that
    // forgets the resource does not orphan it. If the host cannot tell, keep it for the resume.
    const left = await readContainer(remote, s.name).catch(() => "unknown" as const);
    if (left !== undefined) return "resumable";
    await unregisterContainer(remote, s.name).catch(() => undefined);
    return "nothing";
  },
  replaceBeside,
  ownerOf: (o) => o.ownerToken,
  // Only the owner changes a container; a state from before owner tokens claims its container here.
  claim: (remote, s, owner) => owned(claimContainer(remote, s.name, owner.token, { force: owner.adopt, ownerKey: owner.key })),
  read: (remote, s, opts) => readContainerCoalesced(remote, s.name, { hostSnapshot: opts.refresh }),
  readSettled: (remote, s) => readContainerCoalesced(remote, s.name),
  async applyLive(remote: Remote, { news, changed }: ChangeContext<ContainerState>) {
    const spec = containerSpec(news);
    const live: LiveChange = {};
    // A limit the program no longer sets is removed (null), not left as it was (undefined).
    if (changed.has("memoryMiB")) live.memoryMiB = spec.memoryMiB;
    if (changed.has("swapMiB")) live.swapMiB = spec.swapMiB ?? null;
    if (changed.has("cpus")) live.cpus = spec.cpus ?? null;
    if (changed.has("cpuQuotaPercent")) live.cpuQuotaPercent = spec.cpuQuotaPercent ?? null;
    if (changed.has("cpuShares")) live.cpuShares = spec.cpuShares ?? null;
    if (changed.has("diskSizeMiB")) live.diskSizeMiB = spec.disk?.sizeMiB;
    if (changed.has("autostart")) live.autostart = spec.autostart;
    if (changed.has("running")) live.running = spec.running;
    await applyLive(remote, news.name, live);
    return undefined;
  },
  async rename(remote, { olds, news }): Promise<RenameResult> {
    const stopped = await stopContainer(remote, olds.name, news.stopTimeoutSec);
    await renameContainer(remote, olds.name, news.name);
    return { stopped: STOP_OUTCOME[stopped], restarted: false };
  },
  async restart(remote, { news }) {
    return STOP_OUTCOME[await restartContainer(remote, containerSpec(news), { stopTimeoutSec: news.stopTimeoutSec })];
  },
  async destroy(remote, s, owner) {
    // One round trip: the destroy script refuses a container another resource owns (nothing is stopped), then stops
    // and removes it. Nothing of the container survives, so the stop is a kill unless gracefulDestroy asks for a
    // shutdown, bounded by stopTimeoutSec.
    const opts = { ownerToken: owner.token, stopTimeoutSec: s.gracefulDestroy === true ? s.stopTimeoutSec : 0 };
    try {
      return await owned(destroyContainer(remote, s.name, opts));
    } catch (e) {
      if (!(e instanceof MachineOwnedElsewhereError)) throw e;
      // Replaced side by side: this resource's container was renamed aside, and its registration says which it is.
      // Looked for only when the host says the name is owned elsewhere, so an ordinary destroy stays one round trip.
      const aside = await findContainerByOwner(remote, owner.token).catch(() => undefined);
      if (!aside) throw e;
      return owned(destroyContainer(remote, aside, opts));
    }
  },
  withObserved,
  outputs: containerOutputs,
  // A new container gets an SSH host key made here, kept in state (secret) and installed into its rootfs, so its
  // connection is pinned to a key pulumi-virt knows. An adopted container's rootfs is the user's: no key goes in.
  prepare: (s, olds) => pinnedHostKey(olds, !s.adopt),
  importedArgs,
  snapshots: lxcSnapshots,
};

export const lxcHostDriver: HostDriver = {
  kind: "lxc",
  packages: LXC_PACKAGES,
  async verify(remote) {
    const v = await verifyLxc(remote);
    return { version: v.version, details: { ...v } };
  },
  prepare: prepareLxcHost,
  install: installLxc,
  prefetchForRefresh: prefetchContainers,
};
