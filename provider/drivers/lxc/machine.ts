// The LXC backend of the driver contract: Containers on an lxc Hypervisor, on top of this folder's functions.
import type { ContainerState } from "../../models/state";
import type { PlanView } from "../../plan/types";
import { capabilitiesFor, CONTAINER_KEYS, ContainerKey } from "./capabilities";
import type { Remote } from "../../ssh/types";
import { ChangeContext, CreateLeftover, HostDriver, MachineDriver, MachineExistsError, RenameResult, SpecProblem, StopOutcome } from "../contract";
import { validateSpec } from "./config";
import {
  applyLive,
  createContainer,
  destroyContainer,
  readContainer,
  renameContainer,
  restartContainer,
  stopContainer,
  StopResult,
  unregisterContainer,
  verifyLxc,
} from "./driver";
import { hostChanged, readContainerCoalesced } from "./read-batch";
import type { ContainerObserved, ContainerSpec, LiveChange } from "./types";

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
    running: s.running,
    autostart: s.autostart,
  };
}

const STOP_OUTCOME: Record<StopResult, StopOutcome> = { graceful: "graceful", killed: "destroyed", "already-stopped": "already-off" };

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
  return p;
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
  specProblems(s): SpecProblem[] {
    try {
      validateSpec(containerSpec(s));
      return [];
    } catch (e) {
      return [{ property: "(spec)", reason: (e as Error).message }];
    }
  },

  async create(remote, s, opts) {
    try {
      // The driver registers the name on the host, creates (or resumes an interrupted create of ours), configures,
      // starts and reads back. A container of that name that is not ours is refused before anything changes.
      const observed = await createContainer(remote, containerSpec(s), { adopt: opts.adopt });
      return { outcome: opts.adopt ? "adopted" : "created", observed };
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
  async destroy(remote, s) {
    await stopContainer(remote, s.name, s.stopTimeoutSec).catch(() => undefined);
    return destroyContainer(remote, s.name);
  },
  withObserved,
  outputs(s) {
    // A connection shaped like @pulumi/command's remote.Connection, reaching the container through its host.
    const address = s.network?.address?.split("/")[0];
    if (!address) return { connection: undefined };
    const c = s.hypervisor.host.connection;
    return { connection: { host: address, port: 22, user: "root", privateKey: c.privateKey, proxy: { host: c.host, port: c.port, user: c.user, privateKey: c.privateKey } } };
  },
};

export const lxcHostDriver: HostDriver = {
  kind: "lxc",
  packages: ["lxc", "lxc-templates", "busybox-static", "xfsprogs", "btrfs-progs", "rsync", "debootstrap"],
  async verify(remote) {
    const v = await verifyLxc(remote);
    return { version: v.version, details: { ...v } };
  },
  // Containers live under LXC's own path.
  async prepare() {},
  async install(remote) {
    await remote.exec(["apt-get", "install", "-y", "--no-install-recommends", ...this.packages], { sudo: true, step: "install lxc packages", timeoutMs: 900_000 });
  },
};
