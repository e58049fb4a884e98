// The Xen backend of the driver contract: paravirtualized Guests on a xen Hypervisor (the xl toolstack).
import { defaultNicMac } from "../../models/guest";
import type { GuestNicAddresses, GuestState } from "../../models/state";
import { loginKeyOf, pinnedHostKey } from "../../ssh/keys";
import { guestConnection } from "../kvm/machine";
import { networkConfig, nicAddresses, vendorData } from "../kvm/network";
import type { Remote } from "../../ssh/types";
import { ChangeContext, HostDriver, MachineDriver, MachineExistsError, MachineOwnedElsewhereError, Owner, problemsOf, StopOutcome } from "../contract";
import { alignGuestViews, GuestKey, guestDisplayName, guestInputName, guestSizes, guestView } from "../guest-view";
import { xenCapabilities } from "./capabilities";
import { applyLive, claimDomain, createDomain, destroyDomain, moveImages, readDomain, restartWithConfig, seedRootDisk, shutdownDomain, writeConfig } from "./domain";
import { attachNic, detachNic } from "./nics";
import { kernelIsXenPvCapable, verifyXen } from "./host";
import { installXen, prepareXenHost, XEN_PACKAGES } from "./install";
import { attachDisk, detachDisk, growDisk } from "./disks";
import { DEFAULT_CONFIG_DIR, hotplugScriptPath, ownerPath } from "./paths";
import type { XenDomainObserved, XenDomainSpec, XenLiveChange, XenNic } from "./types";
import { validateXenSpec } from "./validate";

const rootDiskImage = (s: GuestState) => `${s.hypervisor.storageDir}/${s.name}-root.img`;
const dataDiskImage = (s: GuestState, disk: string) => `${s.hypervisor.storageDir}/${s.name}-${disk}.img`;
const seedImage = (s: GuestState) => `${s.hypervisor.storageDir}/${s.name}-seed.iso`;

/** The guest's vifs with their MACs (given, or derived from the name and position) and static configuration. */
export function xenNicsOf(s: GuestState): XenNic[] | undefined {
  return s.nics?.map((n, i) => ({ bridge: n.bridge, mac: n.mac ?? defaultNicMac(s.name, i), addresses: n.addresses, gateway4: n.gateway4, gateway6: n.gateway6, dhcp4: n.dhcp4 }));
}

/**
 * The NoCloud seed of a guest whose image reads one (imageCloudInit): the SSH host key pulumi-virt generated (so the
 * connection is pinned), the host connection's key for the login user, the NICs' network-config. It is the disk after
 * the data disks, read-only.
 */
function xenSeedOf(s: GuestState, nics: XenNic[] | undefined): XenDomainSpec["seed"] {
  if (!s.sshHostKey) return undefined;
  const login = loginKeyOf(s.hypervisor.host.connection);
  return {
    path: seedImage(s),
    vdev: `xvd${String.fromCharCode(98 + s.dataDisks.length)}`,
    userData: "#cloud-config\n",
    metaData: `instance-id: ${s.name}\nlocal-hostname: ${s.name}\n`,
    networkConfig: nics ? networkConfig(nics) : undefined,
    vendorData: vendorData(s.sshHostKey, login ? [login] : []),
  };
}

/** Images that follow a rename: the root disk, the data disks the guest keeps, and the seed. */
function imageMovesOf(olds: GuestState, news: GuestState): [string, string][] {
  const moves: [string, string][] = [];
  if (olds.rootDisk && news.rootDisk) moves.push([rootDiskImage(olds), rootDiskImage(news)]);
  for (const d of news.dataDisks) if (olds.dataDisks.some((o) => o.name === d.name)) moves.push([dataDiskImage(olds, d.name), dataDiskImage(news, d.name)]);
  if (olds.sshHostKey && news.sshHostKey) moves.push([seedImage(olds), seedImage(news)]);
  return moves.filter(([a, b]) => a !== b);
}

const isRunning = (o: XenDomainObserved | undefined) => o?.state === "running" || o?.state === "blocked" || o?.state === "paused";

/** Addresses per NIC from a read: what dom0 sees for each vif's MAC, plus the static ones while the guest runs. */
export function xenGuestAddresses(s: GuestState, o: XenDomainObserved | undefined): GuestNicAddresses[] {
  // The single-NIC form's MAC is xl's choice when not given: the domain's first vif.
  const single = s.network ? [{ bridge: s.network.bridge ?? s.hypervisor.bridge ?? "", mac: s.network.mac ?? o?.interfaces?.[0]?.mac ?? "" }] : [];
  const nics = (xenNicsOf(s) ?? single).filter((n) => n.mac);
  const seen = new Map((o?.interfaces ?? []).map((i) => [i.mac, new Set(i.addresses)]));
  const running = isRunning(o);
  // Static addresses only reach the guest through its seed.
  return nicAddresses(nics, seen, running && !!s.sshHostKey).map((a, i) => ({ mac: a.mac, bridge: nics[i].bridge, ipv4: running ? a.ipv4 : [], ipv6: running ? a.ipv6 : [] }));
}
const presentKey = (d: GuestState["dataDisks"][number]) => `${d.bus === "sata" ? "dataDiskSataPresent" : "dataDiskPresent"}:${d.name}`;

export function xenSpec(s: GuestState): XenDomainSpec {
  const hv = s.hypervisor;
  const nics = xenNicsOf(s);
  const boot: XenDomainSpec["boot"] = "kernel" in s.boot
    ? { kind: "kernel", kernel: s.boot.kernel, ramdisk: s.boot.initrd, extra: s.boot.cmdline }
    : { kind: "bootloader", bootloader: "pygrub" };
  // Raw images behind the driver's hotplug script (a qcow2 base image is converted when the root disk is seeded).
  const script = hotplugScriptPath(DEFAULT_CONFIG_DIR);
  const disks: XenDomainSpec["disks"] = [];
  if (s.rootDisk) disks.push({ path: rootDiskImage(s), vdev: "xvda", sizeMiB: s.rootDisk.size, format: "raw", script });
  s.dataDisks.forEach((d, i) => disks.push({ path: dataDiskImage(s, d.name), vdev: `xvd${String.fromCharCode(98 + i)}`, sizeMiB: d.size, format: "raw", script }));
  return {
    name: s.name,
    ...guestSizes(s),
    boot,
    disks,
    network: s.network ? { bridge: s.network.bridge ?? hv.bridge, mac: s.network.mac } : undefined,
    nics,
    seed: xenSeedOf(s, nics),
    running: s.running,
    shutdownTimeoutSec: s.shutdownTimeoutSec,
    configDir: DEFAULT_CONFIG_DIR,
  };
}

const exists = (o: XenDomainObserved | undefined): o is XenDomainObserved => !!o && o.exists !== false;

async function read(remote: Remote, s: GuestState): Promise<XenDomainObserved | undefined> {
  const o = await readDomain(remote, s.name);
  return exists(o) ? o : undefined;
}

/**
 * A PV guest's kernel must carry Xen's PV entry point (ELF note). It is inspected on the host (one read-only round
 * trip) before a create, or before a restart that changes the kernel, so nothing is changed when it would not boot.
 * Not at check: an unchanged program's preview sends no SSH command.
 */
async function preflightKernel(remote: Remote, olds: GuestState | undefined, news: GuestState): Promise<void> {
  const kernel = "kernel" in news.boot ? news.boot.kernel : undefined;
  if (!kernel) return;
  if (olds && "kernel" in olds.boot && olds.boot.kernel === kernel) return;
  const probe = await kernelIsXenPvCapable(remote, kernel);
  if (!probe.capable) {
    throw new Error(`boot.kernel ${kernel} cannot boot as a Xen PV guest: ${probe.reason}. A paravirtualized guest needs a kernel modified for Xen (CONFIG_XEN_PV); nothing was changed.`);
  }
}

async function seedRoot(remote: Remote, s: GuestState): Promise<void> {
  if (!s.rootDisk) return;
  // cloneFrom is refused at check for a para guest.
  if (!("baseImage" in s.rootDisk)) throw new Error(`guest ${s.name}: rootDisk.cloneFrom is for kvm guests`);
  await seedRootDisk(remote, s.name, s.rootDisk.baseImage, xenSpec(s).disks[0].path, s.rootDisk.size);
}

/** The Xen driver's ownership refusal, in the contract's words. */
function owned<T>(p: Promise<T>): Promise<T> {
  return p.catch((e: Error) => {
    throw e.name === "DomainOwnedElsewhereError" ? new MachineOwnedElsewhereError(e.message) : e;
  });
}

/** Refuses a domain whose owner file holds another resource's token; none is from before tokens. */
function assertOwned(o: XenDomainObserved | undefined, owner: Owner, name: string): void {
  if (owner.adopt || !o?.ownerToken || o.ownerToken === owner.token) return;
  throw new MachineOwnedElsewhereError(`Xen domain ${name} belongs to another pulumi-virt resource`);
}

/** Grows disk images of a stopped domain to their new sizes (never shrinks), when a restart carries the size change. */
async function growDisksOffline(remote: Remote, spec: XenDomainSpec, changed: ReadonlySet<string>, s: GuestState): Promise<void> {
  const grow = new Set<string>();
  if (changed.has("rootDiskSizeMiB") && spec.disks[0]?.vdev === "xvda") grow.add("xvda");
  s.dataDisks.forEach((d, i) => changed.has(`dataDiskSizeMiB:${d.name}`) && grow.add(`xvd${String.fromCharCode(98 + i)}`));
  for (const d of spec.disks) {
    if (!grow.has(d.vdev) || d.sizeMiB === undefined) continue;
    const argv = d.format === "qcow2" ? ["qemu-img", "resize", "-q", d.path, `${d.sizeMiB}M`] : ["truncate", "-s", `>${d.sizeMiB}M`, "--", d.path];
    await remote.exec(argv, { step: `grow disk ${d.vdev} of ${spec.name}` });
  }
}

const isDiskKey = (k: string) => k === "rootDiskSizeMiB" || k.startsWith("dataDisk");

/**
 * Disk changes of a domain without restarting it: removed disks unplugged, added ones plugged in, grown images re-read
 * by their loop devices. A domain that is not running only gets its images grown and its config rewritten (missing
 * images are made when it starts).
 */
async function applyDiskChanges(remote: Remote, olds: GuestState, news: GuestState, changed: ReadonlySet<string>): Promise<void> {
  const spec = xenSpec(news);
  const running = exists(await readDomain(remote, news.name));
  if (running) {
    for (const d of olds.dataDisks) if (changed.has(presentKey(d))) await detachDisk(remote, news.name, dataDiskImage(olds, d.name));
    for (const d of news.dataDisks) if (changed.has(presentKey(d))) await attachDisk(remote, news.name, dataDiskImage(news, d.name), d.size, spec.configDir);
  }
  if (changed.has("rootDiskSizeMiB") && news.rootDisk?.size) await growDisk(remote, rootDiskImage(news), news.rootDisk.size);
  for (const d of news.dataDisks) if (changed.has(`dataDiskSizeMiB:${d.name}`)) await growDisk(remote, dataDiskImage(news, d.name), d.size);
  await writeConfig(remote, spec);
}

async function restart(remote: Remote, { olds, news, changed, owner }: ChangeContext<GuestState>): Promise<StopOutcome | undefined> {
  await preflightKernel(remote, olds, news);
  const spec = xenSpec(news);
  const sizes = [...changed].some((k) => k === "rootDiskSizeMiB" || k.startsWith("dataDiskSizeMiB:"));
  let first: StopOutcome | undefined;
  if (sizes) {
    first = await shutdownDomain(remote, news.name, spec.shutdownTimeoutSec);
    await growDisksOffline(remote, spec, changed, news);
  }
  const { stopped } = await restartWithConfig(remote, spec);
  if (changed.has("name")) {
    // The owner's token moves to the new name.
    await claimDomain(remote, news.name, spec.configDir, owner.token, { force: true });
    await remote.exec(["rm", "-f", ownerPath(spec.configDir, olds.name)], { step: `remove the owner file of ${olds.name}` });
  }
  return first ?? stopped;
}

export const xenMachineDriver: MachineDriver<GuestState, GuestKey, XenDomainObserved> = {
  kind: "xen",
  resource: "Guest",
  form: "para",
  idPrefix: "xen",
  view: guestView,
  alignViews: alignGuestViews,
  capabilities: () => xenCapabilities,
  displayName: guestDisplayName,
  inputName: guestInputName,
  secretKeys: ["cloudInit"],
  sameNameReplacement: "delete-first",
  specProblems: (s) => problemsOf(() => validateXenSpec(xenSpec(s))),

  async create(remote, s, { owner, resume }) {
    // A Xen domain that is shut down is not listed, but its owner file says whose it is.
    const existing = await readDomain(remote, s.name);
    if (!resume) {
      if (exists(existing) && !owner.adopt) throw new MachineExistsError(`guest "${s.name}" already exists`);
      if (!exists(existing)) assertOwned(existing, owner, s.name);
      await preflightKernel(remote, undefined, s);
    } else {
      assertOwned(existing, owner, s.name);
    }
    // The owner file first: an interrupted create is recognisably this resource's.
    await owned(claimDomain(remote, s.name, xenSpec(s).configDir, owner.token, { force: owner.adopt, current: existing.ownerToken ?? "" }));
    await seedRoot(remote, s);
    const { outcome, observed } = await createDomain(remote, xenSpec(s));
    return { outcome: resume ? "resumed" : outcome === "adopted" ? "adopted" : "created", observed: exists(observed) ? observed : undefined };
  },
  ownerOf: (o) => o.ownerToken,
  async claim(remote, s, owner) {
    const cur = await readDomain(remote, s.name);
    if (cur.ownerToken === owner.token) return;
    assertOwned(cur, owner, s.name);
    await owned(claimDomain(remote, s.name, xenSpec(s).configDir, owner.token, { force: owner.adopt, current: cur.ownerToken ?? "" }));
  },
  afterFailedCreate: async () => "resumable",
  read: (remote, s) => read(remote, s),
  readSettled: (remote, s) => read(remote, s),
  async applyLive(remote, { olds, news, changed }) {
    const spec = xenSpec(news);
    const live: XenLiveChange = {};
    if (changed.has("memoryMiB")) live.memoryMiB = spec.memoryMiB;
    if (changed.has("vcpus")) live.vcpus = spec.vcpus;
    if (changed.has("name")) {
      live.name = news.name;
      live.imageMoves = imageMovesOf(olds, news);
    }
    if (changed.has("running")) {
      // Writes the config, stops the domain, and builds it again only when it should run.
      const { stopped } = await restartWithConfig(remote, spec);
      return spec.running ? undefined : stopped;
    }
    const disks = [...changed].some(isDiskKey);
    if (Object.keys(live).length || !disks) await applyLive(remote, changed.has("name") ? olds.name : news.name, spec, live);
    if (disks) await applyDiskChanges(remote, olds, news, changed);
    // vifs plugged in and out (the config written above keeps them); removals first.
    const plugged = [...changed].filter((k) => k.startsWith("nicPresent:")).map((k) => k.slice("nicPresent:".length));
    const nics = spec.nics ?? [];
    for (const mac of plugged) if (!nics.some((n) => n.mac === mac)) await detachNic(remote, news.name, mac);
    for (const n of nics) if (plugged.includes(n.mac)) await attachNic(remote, news.name, n.bridge, n.mac);
    return undefined;
  },
  async rename(remote, { olds, news }) {
    // The restart that follows builds the domain under its new name from the new config; its images follow the name.
    const stopped = await shutdownDomain(remote, olds.name, news.shutdownTimeoutSec);
    await moveImages(remote, olds.name, imageMovesOf(olds, news));
    return { stopped, restarted: false };
  },
  restart,
  async destroy(remote, s, owner) {
    assertOwned(await readDomain(remote, s.name).catch(() => undefined), { ...owner, adopt: false }, s.name);
    const r = await destroyDomain(remote, s.name);
    // The seed holds the guest's private host key and is made from state at every build: it goes with the guest.
    if (s.sshHostKey) await remote.exec(["rm", "-f", "--", seedImage(s)], { step: `remove the NoCloud seed of ${s.name}` });
    return r;
  },
  withObserved(s, o) {
    const p: GuestState = { ...s, observed: o };
    if (typeof o.memoryMiB === "number") p.memory = o.memoryMiB;
    if (typeof o.vcpus === "number") p.vcpus = o.vcpus;
    if (typeof o.maxMemoryMiB === "number" && s.maxMemory !== undefined) p.maxMemory = o.maxMemoryMiB;
    if (typeof o.maxVcpus === "number" && s.maxVcpus !== undefined) p.maxVcpus = o.maxVcpus;
    if (typeof o.state === "string") p.running = isRunning(o);
    return { ...p, ...this.outputs(p) };
  },
  // A guest whose image reads a NoCloud seed (imageCloudInit: true; PV images vary, so it is an opt-in) gets a host
  // key made here at create and kept in state (secret), so its connection is pinned to a key pulumi-virt knows.
  prepare: (s, olds) => pinnedHostKey(olds, s.imageCloudInit === true),
  outputs(s) {
    const o = s.observed as XenDomainObserved | undefined;
    const addresses = xenGuestAddresses(s, exists(o) ? o : undefined);
    return { addresses, connection: guestConnection(s, addresses) };
  },
};

export const xenHostDriver: HostDriver = {
  kind: "xen",
  packages: XEN_PACKAGES,
  async verify(remote) {
    const v = await verifyXen(remote);
    if (!v.dom0) throw new Error("not a Xen dom0 (xl info failed or /proc/xen/capabilities lacks control_d)");
    return { version: v.xenVersion ?? "unknown", details: { ...v } };
  },
  prepare: prepareXenHost,
  install: installXen,
};
