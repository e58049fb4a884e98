// The KVM backend of the driver contract: full-virtualization Guests on a kvm Hypervisor (libvirt + QEMU).
import { defaultNicMac } from "../../models/guest";
import type { GuestNicAddresses, GuestState } from "../../models/state";
import { loginKeyOf, pinnedHostKey } from "../../ssh/keys";
import { hopOf } from "../lxc/machine";
import { networkConfig, nicAddresses, vendorData } from "./network";
import type { Remote } from "../../ssh/types";
import { HostDriver, MachineDriver, MachineExistsError, MachineOwnedElsewhereError, problemsOf, StopOutcome } from "../contract";
import { alignGuestViews, GuestKey, guestDisplayName, guestInputName, guestSizes, guestView } from "../guest-view";
import { kvmCapabilities } from "./capabilities";
import { applyLive, claimGuest, createGuest, destroyGuest, readGuest, renameGuest, restartWithDefinition, shutdownGuest, startGuest } from "./guest";
import { verifyKvm } from "./host";
import { installKvm, KVM_PACKAGES, prepareKvmHost } from "./install";
import { attachDataDisk, detachDataDisk } from "./hotplug";
import { cloneMachineId, domainPaths } from "./paths";
import type { DomainSpec, GuestObserved, LiveChange, NicSpec, StopOutcome as KvmStop } from "./types";
import { validateDomainSpec } from "./validate";
import { kvmSnapshots } from "./snapshot";
import { kvmImportedArgs } from "./import";

/** The guest's NICs with their MACs (given, or derived from the name and position). */
export function nicsOf(s: GuestState): NicSpec[] | undefined {
  return s.nics?.map((n, i) => ({ bridge: n.bridge, mac: n.mac ?? defaultNicMac(s.name, i), addresses: n.addresses, gateway4: n.gateway4, gateway6: n.gateway6, dhcp4: n.dhcp4 }));
}

/** The guest boots with a NoCloud seed pulumi-virt writes: the user's cloud-init, the NICs' config, the host key. */
function seedOf(s: GuestState, nics: NicSpec[] | undefined, machineId?: string): DomainSpec["cloudInit"] {
  if (!s.cloudInit && !nics && !s.sshHostKey) return undefined;
  const login = loginKeyOf(s.hypervisor.host.connection);
  return {
    userData: s.cloudInit?.userData ?? "#cloud-config\n",
    metaData: s.cloudInit?.metaData,
    networkConfig: s.cloudInit?.networkConfig ?? (nics ? networkConfig(nics) : undefined),
    vendorData: s.sshHostKey || machineId ? vendorData(s.sshHostKey, s.sshHostKey && login ? [login] : [], { machineId }) : undefined,
  };
}

/** The spec of a guest; ownerToken goes into the domain's <metadata>, kept by every redefinition. */
export function kvmSpec(s: GuestState, ownerToken?: string): DomainSpec {
  const nics = nicsOf(s);
  const hv = s.hypervisor;
  const boot: DomainSpec["boot"] = "kernel" in s.boot
    ? { kind: "kernel", kernel: s.boot.kernel, initrd: s.boot.initrd, cmdline: s.boot.cmdline }
    : "firmware" in s.boot ? { kind: "firmware", firmware: s.boot.firmware } : { kind: "firmware", firmware: "bios" };
  const root = s.rootDisk ?? { baseImage: "", size: undefined, mode: "overlay" as const };
  const machineId = "cloneFrom" in root && ownerToken ? cloneMachineId(ownerToken) : undefined;
  return {
    name: s.name,
    ...guestSizes(s),
    emulated: hv.emulated,
    boot,
    rootDisk: { baseImage: "baseImage" in root ? root.baseImage : "", sizeMiB: root.size, mode: root.mode, ...("cloneFrom" in root ? { cloneFrom: root.cloneFrom } : {}) },
    dataDisks: s.dataDisks.map((d) => ({ name: d.name, sizeMiB: d.size, bus: d.bus, deleteOnDestroy: d.deleteOnDestroy })),
    network: { bridge: s.network?.bridge ?? hv.bridge, mac: s.network?.mac },
    nics,
    // A clone booted by firmware gets its machine ID through cloud-init; one booted from a kernel, on its cmdline.
    cloudInit: seedOf(s, nics, boot.kind === "firmware" ? machineId : undefined),
    running: s.running,
    autostart: s.autostart,
    shutdownTimeoutSec: s.shutdownTimeoutSec,
    storageDir: hv.storageDir,
    ownerToken,
    machineId,
  };
}

/** The KVM driver's ownership refusal, in the contract's words. */
function owned<T>(p: Promise<T>): Promise<T> {
  return p.catch((e: Error) => {
    throw e.name === "GuestOwnedElsewhereError" ? new MachineOwnedElsewhereError(e.message) : e;
  });
}

/** Refuses a guest whose token (in its metadata) is another resource's; none is from before tokens. */
function assertOwned(o: GuestObserved | undefined, token: string, adopt: boolean, name: string): void {
  if (adopt || !o?.ownerToken || o.ownerToken === token) return;
  throw new MachineOwnedElsewhereError(`guest ${name} belongs to another pulumi-virt resource`);
}

/** Addresses per NIC from a read: what the host sees for each MAC, plus the static ones while the guest runs. */
export function guestAddresses(s: GuestState, o: GuestObserved | undefined): GuestNicAddresses[] {
  const nics = nicsOf(s) ?? [{ bridge: s.network?.bridge ?? s.hypervisor.bridge ?? "", mac: (s.network?.mac ?? o?.mac ?? defaultNicMac(s.name, 0)) }];
  const seen = new Map((o?.interfaces ?? []).map((i) => [i.mac, new Set(i.addresses)]));
  const running = o?.state === "running";
  return nicAddresses(nics, seen, running).map((a, i) => ({ mac: a.mac, bridge: nics[i].bridge, ipv4: running ? a.ipv4 : [], ipv6: running ? a.ipv6 : [] }));
}

/**
 * A @pulumi/command-style connection into the guest: its first address, the login user with the host connection's
 * key (authorized through cloud-init), the host key pulumi-virt generated and injected (pinned), and the host as
 * proxy. No connection without an address, or without a known host key unless the program accepted an unpinned one.
 */
export function guestConnection(s: GuestState, addresses: GuestNicAddresses[]): Record<string, unknown> | undefined {
  if (!s.sshHostKey && !s.allowUnpinnedConnection) return undefined;
  const address = addresses.flatMap((a) => a.ipv4)[0] ?? addresses.flatMap((a) => a.ipv6)[0];
  if (!address) return undefined;
  const c = s.hypervisor.host.connection;
  const own: Record<string, unknown> = { host: address, port: 22, user: s.loginUser ?? "root" };
  if (s.sshHostKey) own.hostKey = s.sshHostKey.publicKey;
  if (c.privateKey) own.privateKey = c.privateKey;
  if (c.privateKeyPassword !== undefined) own.privateKeyPassword = c.privateKeyPassword;
  return { ...own, proxy: hopOf(c) };
}

const STOP: Record<KvmStop, StopOutcome> = { acpi: "graceful", destroyed: "destroyed", "already-off": "already-off" };

const exists = (o: GuestObserved | undefined): o is GuestObserved => !!o && o.exists !== false;

async function read(remote: Remote, s: GuestState): Promise<GuestObserved | undefined> {
  const o = await readGuest(remote, s.name);
  return exists(o) ? o : undefined;
}

/** The RAM a running guest uses right after QEMU starts is its maximum until the balloon driver inflates. */
const BALLOON_SETTLE_MS = 30_000;

export const kvmMachineDriver: MachineDriver<GuestState, GuestKey, GuestObserved> = {
  kind: "kvm",
  resource: "Guest",
  form: "full",
  idPrefix: "kvm",
  view: guestView,
  alignViews: alignGuestViews,
  capabilities: () => kvmCapabilities,
  displayName: guestDisplayName,
  inputName: guestInputName,
  specProblems: (s) => problemsOf(() => validateDomainSpec(kvmSpec(s))),

  async create(remote, s, { owner, resume }) {
    const existing = await read(remote, s);
    if (existing && !owner.adopt && !resume) throw new MachineExistsError(`guest "${s.name}" already exists`);
    if (resume) assertOwned(existing, owner.token, owner.adopt, s.name);
    await createGuest(remote, kvmSpec(s, owner.token));
    // An adopted (or resumed) domain keeps its definition: the token is written into it.
    if (existing || resume) await owned(claimGuest(remote, s.name, owner.token, { force: !resume || owner.adopt }));
    return { outcome: resume ? "resumed" : existing ? "adopted" : "created", observed: await this.readSettled(remote, s) };
  },
  ownerOf: (o) => o.ownerToken,
  async claim(remote, s, owner) {
    const cur = await read(remote, s);
    if (!cur || cur.ownerToken === owner.token) return;
    assertOwned(cur, owner.token, owner.adopt, s.name);
    await owned(claimGuest(remote, s.name, owner.token, { force: owner.adopt }));
  },
  // The create is idempotent: whatever was left, a later `up` finishes it.
  afterFailedCreate: async () => "resumable",
  read: (remote, s) => read(remote, s),
  async readSettled(remote, s) {
    // Right after QEMU starts, libvirt reports the maximum as the balloon size until the guest's balloon driver
    // inflates to the target. Waiting keeps a refresh right after `up` from reporting false drift.
    const deadline = Date.now() + BALLOON_SETTLE_MS;
    let o = await read(remote, s);
    while (o && o.state === "running" && o.memoryMiB !== s.memory && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      o = await read(remote, s);
    }
    return o;
  },
  secretKeys: ["cloudInit"],
  sameNameReplacement: "delete-first",
  async applyLive(remote, { olds, news, changed, owner }) {
    const spec = kvmSpec(news, owner.token);
    const live: LiveChange = {};
    if (changed.has("memoryMiB")) live.memoryMiB = spec.memoryMiB;
    if (changed.has("vcpus")) live.vcpus = spec.vcpus;
    if (changed.has("autostart")) live.autostart = spec.autostart;
    const paths = domainPaths(spec);
    // Removals first: they free device names the additions may take.
    for (const d of olds.dataDisks) if (changed.has(`dataDiskPresent:${d.name}`)) await detachDataDisk(remote, news.name, paths.dir, d.name);
    for (const d of spec.dataDisks) if (changed.has(`dataDiskPresent:${d.name}`)) await attachDataDisk(remote, news.name, paths.dir, d);
    const disks: NonNullable<LiveChange["disks"]> = [];
    if (changed.has("rootDiskSizeMiB") && spec.rootDisk.sizeMiB) disks.push({ target: "vda", sizeMiB: spec.rootDisk.sizeMiB });
    for (const d of spec.dataDisks) if (changed.has(`dataDiskSizeMiB:${d.name}`)) disks.push({ target: d.name, path: paths.dataDisks[d.name], sizeMiB: d.sizeMiB });
    if (disks.length) live.disks = disks;
    const nics = nicsOf(news) ?? [];
    const plugged = [...changed].filter((k) => k.startsWith("nicPresent:")).map((k) => k.slice("nicPresent:".length));
    const attach = nics.filter((n) => plugged.includes(n.mac));
    const detach = plugged.filter((m) => !nics.some((n) => n.mac === m));
    if (attach.length) live.attachNics = attach;
    if (detach.length) live.detachNics = detach;
    if (Object.keys(live).length) await applyLive(remote, news.name, live);
    if (!changed.has("running")) return undefined;
    if (spec.running) {
      await startGuest(remote, news.name);
      return undefined;
    }
    return STOP[await shutdownGuest(remote, news.name, spec.shutdownTimeoutSec)];
  },
  // renameGuest stops, renames and redefines with the whole new spec, so it also applies the other restart changes.
  async rename(remote, { olds, news, owner }) {
    return { stopped: STOP[(await renameGuest(remote, olds.name, kvmSpec(news, owner.token))).stopped], restarted: true };
  },
  async restart(remote, { news, owner }) {
    return STOP[(await restartWithDefinition(remote, kvmSpec(news, owner.token))).stopped];
  },
  async destroy(remote, s, owner) {
    assertOwned(await read(remote, s).catch(() => undefined), owner.token, false, s.name);
    const doomed = s.dataDisks.filter((d) => d.deleteOnDestroy).map((d) => d.name);
    return destroyGuest(remote, s.name, { deleteDataDisks: doomed, storageDir: s.hypervisor.storageDir });
  },
  withObserved(s, o) {
    const p: GuestState = { ...s, observed: o };
    if (typeof o.memoryMiB === "number") p.memory = o.memoryMiB;
    if (typeof o.vcpus === "number") p.vcpus = o.vcpus;
    if (typeof o.maxMemoryMiB === "number" && s.maxMemory !== undefined) p.maxMemory = o.maxMemoryMiB;
    if (typeof o.maxVcpus === "number" && s.maxVcpus !== undefined) p.maxVcpus = o.maxVcpus;
    if (typeof o.state === "string") p.running = o.state === "running" || o.state === "paused";
    return { ...p, ...this.outputs(p) };
  },
  // A guest whose image has cloud-init gets a host key made here at create and kept in state (secret), so its
  // connection is pinned to a key pulumi-virt knows.
  prepare: (s, olds) => pinnedHostKey(olds, s.imageCloudInit !== false),
  outputs(s) {
    const addresses = guestAddresses(s, exists(s.observed as GuestObserved | undefined) ? (s.observed as GuestObserved) : undefined);
    return { addresses, connection: guestConnection(s, addresses) };
  },
  snapshots: kvmSnapshots,
  importedArgs: (o, _facts, hv) => kvmImportedArgs(o, hv),
};

export const kvmHostDriver: HostDriver = {
  kind: "kvm",
  packages: KVM_PACKAGES,
  async verify(remote) {
    const v = await verifyKvm(remote);
    return { version: v.libvirtVersion, details: { ...v } };
  },
  prepare: prepareKvmHost,
  install: installKvm,
};
