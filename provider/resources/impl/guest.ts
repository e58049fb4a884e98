// Guest: a VM, full virtualization (KVM/QEMU via libvirt) or paravirtualized (Xen PV via xl).
// Plans every change at check time (visible in preview) and applies exactly that plan on update.
import { randomUUID } from "node:crypto";
import { guestArgsSchema, GuestArgs } from "../../models/guest";
import type { HypervisorRef } from "../../models/hypervisor";
import { guestRules } from "../../plan/rules";
import { describePlan, Plan, planChanges, PlanValue, sameValue } from "../../plan/planner";
import type { CapabilityTable, PropertyCapability } from "../../plan/types";
import type * as Kvm from "../../drivers/kvm";
import type * as Xen from "../../drivers/xen";
import { recordPlan, diffFromPlan, isDeleteFirst } from "./planned";
import { forRefresh, hasUnknowns, hypervisorRefFailures, isUnknown, nowIso, ownedElsewhereMessage, ownerTokenOf, parseArgs, partialCreate, remoteFor, stepError } from "./common";

type Props = Record<string, any>;

/** What a Guest's same-name replacement does first, as preview shows it. */
export const DELETE_FIRST = "delete-first: the old guest is destroyed before the new one is built (same name, disk files and data disks), so a failed build leaves no guest";
const NON_ARGS = ["hypervisor", "plannedChanges", "plannedAction", "observed", "lastApplied", "connection", "emulated", "ownerToken"];

const kvm = (): typeof Kvm => require("../../drivers/kvm");
const xen = (): typeof Xen => require("../../drivers/xen");

const INPUT_NAME: Record<string, string> = {
  memoryMiB: "memory", maxMemoryMiB: "maxMemory", baseImage: "rootDisk", rootDiskSizeMiB: "rootDisk", rootDiskMode: "rootDisk",
  hostIdentity: "hypervisor", emulated: "hypervisor",
};
export function displayNameOf(key: string): string {
  const m = /^dataDisk(SizeMiB|Bus|Present):(.*)$/.exec(key);
  if (m) return m[1] === "SizeMiB" ? `dataDisks[${m[2]}].size` : m[1] === "Bus" ? `dataDisks[${m[2]}].bus` : `dataDisks[${m[2]}]`;
  return ({ memoryMiB: "memory", maxMemoryMiB: "maxMemory", baseImage: "rootDisk.baseImage", rootDiskSizeMiB: "rootDisk.size", rootDiskMode: "rootDisk.mode", hostIdentity: "hypervisor (host)", emulated: "hypervisor (emulated)" } as Record<string, string>)[key] ?? key;
}
export function inputNameOf(key: string): string {
  if (key.startsWith("dataDisk")) return "dataDisks";
  return INPUT_NAME[key] ?? key;
}

const GLUE_CAPS: CapabilityTable = {
  virtualization: { change: { action: "replace", reason: "the virtualization form is fixed: a new guest is built" } },
  hostIdentity: { change: { action: "replace", reason: "the guest moves to another host: a new guest is created there and the old one destroyed" } },
  rootDiskMode: { change: { action: "replace", reason: "switching between an overlay and a full copy rebuilds the root disk" } },
  cloudInit: { change: { action: "replace", reason: "cloud-init data is consumed at first boot only: a new guest is built" } },
  dataDiskBus: { change: { action: "restart", reason: "a disk's bus is fixed while the guest runs" } },
  dataDiskPresent: {
    grow: { action: "restart", reason: "data disks are attached at boot" },
    shrink: { action: "restart", reason: "data disks are detached at boot (the disk file is kept unless deleteOnDestroy)" },
  },
};

/** Driver table plus glue rows, with per-disk keys expanded. */
export function capabilitiesFor(form: "full" | "para", view: Record<string, PlanValue>): CapabilityTable {
  const base: CapabilityTable = form === "full" ? kvm().kvmCapabilities : xen().xenCapabilities;
  const diskRow: PropertyCapability | undefined = (base as any).dataDiskSizeMiB ?? (base as any).diskSizeMiB ?? (base as any).rootDiskSizeMiB;
  const table: Record<string, PropertyCapability> = {
    ...GLUE_CAPS,
    ...base,
    // A new base image is an explicit request to re-image: a replacement shown in preview, not gated by allowDataLoss.
    // Data disks are kept (unless deleteOnDestroy).
    baseImage: { change: { action: "replace", reason: "the root disk is rebuilt from the new base image (data disks are kept)" } },
  };
  for (const k of Object.keys(view)) {
    if (k.startsWith("dataDiskSizeMiB:") && diskRow) table[k] = diskRow;
    if (k.startsWith("dataDiskBus:")) table[k] = GLUE_CAPS.dataDiskBus;
    if (k.startsWith("dataDiskPresent:")) table[k] = GLUE_CAPS.dataDiskPresent;
  }
  if (!table.rootDiskSizeMiB && diskRow) table.rootDiskSizeMiB = diskRow;
  return table;
}

/** Plan keys whose values can carry secrets (cloud-init user-data holds passwords and keys). */
export const SECRET_KEYS = ["cloudInit"];

export function planView(p: Props): Record<string, PlanValue> {
  const hv = p.hypervisor as HypervisorRef | undefined;
  const v: Record<string, PlanValue> = {
    name: p.name,
    virtualization: p.virtualization,
    vcpus: p.vcpus,
    maxVcpus: p.maxVcpus ?? p.vcpus,
    memoryMiB: p.memory,
    maxMemoryMiB: p.maxMemory ?? p.memory,
    boot: p.boot,
    baseImage: p.rootDisk?.baseImage,
    rootDiskSizeMiB: p.rootDisk?.size,
    rootDiskMode: p.rootDisk ? p.rootDisk.mode ?? "overlay" : undefined,
    network: p.network,
    cloudInit: p.cloudInit,
    autostart: p.autostart,
    running: p.running,
    emulated: hv && !isUnknown(hv) ? hv.emulated : undefined,
    hostIdentity: hv && !isUnknown(hv) ? `${hv.kind}/${hv.host.facts.machineId}/${hv.host.facts.hostname}` : undefined,
  };
  for (const d of (p.dataDisks ?? []) as GuestArgs["dataDisks"]) {
    v[`dataDiskPresent:${d.name}`] = 1;
    v[`dataDiskSizeMiB:${d.name}`] = d.size;
    v[`dataDiskBus:${d.name}`] = d.bus;
  }
  return v;
}

export function planFor(olds: Props | undefined, news: Props): Plan {
  if (!olds) return { overall: "none", properties: [], failures: [] };
  const oldView = planView(olds);
  const newView = planView(news);
  // Data disks that appear or disappear compare as present 1 / absent 0.
  if (oldView) {
    for (const k of Object.keys({ ...oldView, ...newView })) {
      if (k.startsWith("dataDiskPresent:")) { oldView[k] = oldView[k] ?? 0; newView[k] = newView[k] ?? 0; }
      if ((k.startsWith("dataDiskSizeMiB:") || k.startsWith("dataDiskBus:")) && (oldView[k] === undefined || newView[k] === undefined)) {
        delete oldView[k]; delete newView[k];
      }
    }
  }
  const caps = capabilitiesFor((news.virtualization ?? olds?.virtualization) as "full" | "para", { ...oldView, ...newView });
  const names = Object.fromEntries(Object.keys({ ...oldView, ...newView }).map((k) => [k, displayNameOf(k)]));
  const plan = planChanges(oldView, newView, caps, { allowRestart: !!news.allowRestart, allowDataLoss: !!news.allowDataLoss, names, secret: SECRET_KEYS });
  plan.failures = plan.failures.map((f) => ({ ...f, property: inputNameOf(f.property) }));
  // A guest keeps its name, disk files and data disks across a replacement on the same host, so the new one cannot
  // be built beside the old one: the preview says the old guest goes first.
  const replaces = plan.properties.filter((p) => p.action === "replace").map((p) => inputNameOf(p.property));
  if (isDeleteFirst(replaces, olds, news)) {
    for (const p of plan.properties) if (p.action === "replace") p.reason += `; ${DELETE_FIRST}`;
  }
  return plan;
}

export function kvmSpecOf(p: Props): Kvm.DomainSpec {
  const hv = p.hypervisor as HypervisorRef;
  const g = p as GuestArgs;
  const boot: Kvm.DomainSpec["boot"] = "kernel" in g.boot
    ? { kind: "kernel", kernel: g.boot.kernel, initrd: g.boot.initrd, cmdline: g.boot.cmdline }
    : { kind: "firmware", firmware: (g.boot as { firmware: "bios" | "uefi" }).firmware };
  return {
    name: g.name,
    vcpus: g.vcpus,
    maxVcpus: g.maxVcpus ?? g.vcpus,
    memoryMiB: g.memory,
    maxMemoryMiB: g.maxMemory ?? g.memory,
    emulated: hv.emulated,
    boot,
    rootDisk: { baseImage: g.rootDisk!.baseImage, sizeMiB: g.rootDisk!.size, mode: g.rootDisk!.mode },
    dataDisks: g.dataDisks.map((d) => ({ name: d.name, sizeMiB: d.size, bus: d.bus, deleteOnDestroy: d.deleteOnDestroy })),
    network: { bridge: g.network?.bridge ?? hv.bridge, mac: g.network?.mac },
    cloudInit: g.cloudInit,
    running: g.running,
    autostart: g.autostart,
    shutdownTimeoutSec: g.shutdownTimeoutSec,
    storageDir: hv.storageDir,
    ownerToken: typeof p.ownerToken === "string" ? p.ownerToken : undefined,
  } as Kvm.DomainSpec;
}

export function xenSpecOf(p: Props): Xen.XenDomainSpec {
  const hv = p.hypervisor as HypervisorRef;
  const g = p as GuestArgs;
  const boot: Xen.XenDomainSpec["boot"] = "kernel" in g.boot
    ? { kind: "kernel", kernel: g.boot.kernel, ramdisk: g.boot.initrd, extra: g.boot.cmdline }
    : { kind: "bootloader", bootloader: "pygrub" };
  const disks: Xen.XenDomainSpec["disks"] = [];
  if (g.rootDisk) disks.push({ path: `${hv.storageDir}/${g.name}-root.img`, vdev: "xvda", sizeMiB: g.rootDisk.size, format: g.rootDisk.baseImage.endsWith(".qcow2") ? "qcow2" : "raw" });
  g.dataDisks.forEach((d, i) => disks.push({ path: `${hv.storageDir}/${g.name}-${d.name}.img`, vdev: `xvd${String.fromCharCode(98 + i)}`, sizeMiB: d.size, format: "raw" }));
  return {
    name: g.name,
    vcpus: g.vcpus,
    maxVcpus: g.maxVcpus ?? g.vcpus,
    memoryMiB: g.memory,
    maxMemoryMiB: g.maxMemory ?? g.memory,
    boot,
    disks,
    network: g.network ? { bridge: g.network.bridge ?? hv.bridge, mac: g.network.mac } : undefined,
    running: g.running,
    shutdownTimeoutSec: g.shutdownTimeoutSec,
    configDir: "/etc/xen/pulumi-virt",
  } as Xen.XenDomainSpec;
}

/** A PV guest's root disk starts as a sparse copy of its base image (resumable: a finished copy is kept). */
async function seedPvRootDisk(p: Props): Promise<void> {
  const g = p as GuestArgs;
  if (!g.rootDisk) return;
  const hv = p.hypervisor as HypervisorRef;
  const root = xenSpecOf(p).disks[0];
  await xen().seedRootDisk(remoteFor(hv.host), g.name, g.rootDisk.baseImage, root.path, g.rootDisk.size);
}

/**
 * A PV guest's kernel must carry Xen's PV entry point (ELF note). It is inspected on the host (one read-only
 * round trip) before a create, or before a restart that changes the kernel, so nothing is changed when it would
 * not boot. Not at check: an unchanged program's preview sends no SSH command.
 */
async function preflightPvKernel(olds: Props | undefined, news: Props): Promise<void> {
  const boot = news.boot as { kernel?: string };
  if (news.virtualization !== "para" || !boot?.kernel) return;
  if (olds && (olds.boot as { kernel?: string })?.kernel === boot.kernel) return;
  const hv = news.hypervisor as HypervisorRef;
  const probe = await xen().kernelIsXenPvCapable(remoteFor(hv.host), boot.kernel);
  if (!probe.capable) {
    throw new Error(`guest "${news.name}": boot.kernel ${boot.kernel} cannot boot as a Xen PV guest: ${probe.reason}. A paravirtualized guest needs a kernel modified for Xen (CONFIG_XEN_PV); nothing was changed.`);
  }
}

export async function check(olds: Props, news: Props) {
  const { value, failures } = parseArgs(guestArgsSchema, news, NON_ARGS);
  if (!value) return { inputs: news, failures };
  const hv = news.hypervisor as HypervisorRef | undefined;
  const inputs: Props = { ...news, ...value };
  if (!hv || isUnknown(hv) || hasUnknowns(news)) return { inputs, failures: [] };
  const refFailures = hypervisorRefFailures(hv);
  if (refFailures.length) return { inputs, failures: refFailures };
  const out = [...guestRules(value.virtualization, hv)];
  // Emulation is visible in the guest's own inputs, so every preview of a TCG guest says so.
  inputs.emulated = value.virtualization === "full" ? hv.emulated : false;
  const hasOld = olds && olds.name !== undefined;
  const plan = planFor(hasOld ? olds : undefined, inputs);
  out.push(...plan.failures);
  recordPlan(inputs, plan, !!hasOld);
  return { inputs, failures: out };
}

export async function diff(_id: string, olds: Props, news: Props) {
  return diffFromPlan(planFor(olds, news), olds, news, inputNameOf, ["shutdownTimeoutSec"]);
}

/**
 * Right after QEMU starts, libvirt reports the maximum as the balloon size until the guest's balloon driver
 * inflates to the target. Waiting for it keeps a refresh right after `up` from reporting false drift.
 */
async function settleBalloon(p: Props, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let o = await observe(p);
  while (p.virtualization === "full" && exists(o) && o.state === "running" && o.memoryMiB !== p.memory && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    o = await observe(p);
  }
  return o;
}

/** refresh: the read may wait a little to share a round trip with the host's other refresh reads. */
async function observe(p: Props, refresh = false): Promise<any> {
  const hv = p.hypervisor as HypervisorRef;
  const remote = refresh ? forRefresh(remoteFor(hv.host)) : remoteFor(hv.host);
  return p.virtualization === "full" ? kvm().readGuest(remote, p.name) : xen().readDomain(remote, p.name);
}

function exists(o: any): boolean {
  return !!o && o.exists !== false;
}

/** Refuses a guest whose owner token (on the host) is another resource's; none is from before tokens. */
function assertOwned(id: string, props: Props, o: any, action: string): void {
  if (props.adopt || !o?.ownerToken || o.ownerToken === ownerTokenOf(id)) return;
  throw new Error(ownedElsewhereMessage(`guest "${props.name}"`, (props.hypervisor as HypervisorRef).host, action));
}

/**
 * Writes this resource's token to the guest on the host (see README: a guest from before tokens is claimed on its
 * next update; adopt takes one over from another owner). `current` is the guest as just read.
 */
async function claim(id: string, props: Props, name: string, current: any): Promise<void> {
  const hv = props.hypervisor as HypervisorRef;
  const remote = remoteFor(hv.host);
  const token = ownerTokenOf(id);
  if (current?.ownerToken === token) return;
  assertOwned(id, props, current, "changed");
  if (props.virtualization === "full") {
    if (exists(current)) await kvm().claimGuest(remote, name, token, { force: !!props.adopt });
  } else {
    await xen().claimDomain(remote, name, xenSpecOf(props).configDir, token, { force: !!props.adopt, current: current?.ownerToken ?? "" });
  }
}

export async function create(inputs: Props) {
  const hv = inputs.hypervisor as HypervisorRef;
  const remote = remoteFor(hv.host);
  const name = inputs.name as string;
  const id = `${inputs.virtualization === "full" ? "kvm" : "xen"}-${randomUUID()}`;
  const ownerToken = ownerTokenOf(id);
  const existing = await observe(inputs).catch((e: Error) => { throw stepError(`guest "${name}"`, hv.host, "look for an existing guest", e); });
  if (exists(existing) && !inputs.adopt) {
    throw new Error(
      `guest "${name}" already exists on host "${hv.host.facts.hostname}". Set adopt: true to take it over, or choose another name.`,
    );
  }
  // A Xen domain that is shut down is not listed, but its owner file says whose it is.
  if (!exists(existing)) assertOwned(id, inputs, existing, "created");
  await preflightPvKernel(undefined, inputs);
  try {
    if (inputs.virtualization === "full") {
      await kvm().createGuest(remote, kvmSpecOf({ ...inputs, ownerToken }));
      // An adopted domain keeps its definition: the token is written into it.
      if (exists(existing)) await kvm().claimGuest(remote, name, ownerToken, { force: true });
    } else {
      // The owner file first: an interrupted create is recognisably this resource's.
      await xen().claimDomain(remote, name, xenSpecOf(inputs).configDir, ownerToken, { force: !!inputs.adopt, current: existing?.ownerToken ?? "" });
      await seedPvRootDisk(inputs);
      await xen().createDomain(remote, xenSpecOf(inputs));
    }
  } catch (e) {
    throw partialCreate(stepError(`guest "${name}"`, hv.host, "create", e), id, { ...inputs, observed: null, ownerToken });
  }
  const observed = await settleBalloon(inputs);
  return { id, outs: { ...inputs, observed, ownerToken, lastApplied: { at: nowIso(), action: inputs.plannedAction === "replace" ? "replace" : "create", changes: inputs.plannedAction === "replace" ? inputs.plannedChanges : {} } } };
}

async function finishCreate(id: string, inputs: Props): Promise<Props> {
  const hv = inputs.hypervisor as HypervisorRef;
  const remote = remoteFor(hv.host);
  const ownerToken = ownerTokenOf(id);
  const current = await observe(inputs);
  assertOwned(id, inputs, current, "changed");
  try {
    if (inputs.virtualization === "full") {
      await kvm().createGuest(remote, kvmSpecOf({ ...inputs, ownerToken }));
      await kvm().claimGuest(remote, inputs.name, ownerToken, { force: !!inputs.adopt });
    } else {
      await xen().claimDomain(remote, inputs.name, xenSpecOf(inputs).configDir, ownerToken, { force: !!inputs.adopt, current: current?.ownerToken ?? "" });
      await xen().createDomain(remote, xenSpecOf(inputs));
    }
  } catch (e) {
    throw stepError(`guest "${inputs.name}"`, hv.host, "finish the interrupted create", e);
  }
  return { ...inputs, observed: await observe(inputs), ownerToken, lastApplied: { at: nowIso(), action: "create", changes: {} } };
}

function withObserved(props: Props, o: any): Props {
  const p: Props = { ...props, observed: o };
  if (typeof o.memoryMiB === "number") p.memory = o.memoryMiB;
  if (typeof o.vcpus === "number") p.vcpus = o.vcpus;
  if (typeof o.maxMemoryMiB === "number" && props.maxMemory !== undefined) p.maxMemory = o.maxMemoryMiB;
  if (typeof o.maxVcpus === "number" && props.maxVcpus !== undefined) p.maxVcpus = o.maxVcpus;
  if (typeof o.state === "string") p.running = o.state === "running" || o.state === "blocked" || o.state === "paused";
  return p;
}

export async function read(id: string, props: Props) {
  const o = await observe(props, true);
  if (!exists(o)) return { id: undefined as unknown as string, props: undefined as unknown as Props };
  assertOwned(id, props, o, "read as this resource's");
  const props2 = withObserved(props, o);
  const { observed: _o, lastApplied: _l, ownerToken: _t, ...inputs } = props2;
  return { id, props: props2, inputs };
}

export async function update(id: string, olds: Props, news: Props) {
  // A create that failed part-way is in state with observed: null (partialCreate). The engine retries it as an
  // update, whose inputs usually equal the olds: finish the create (the drivers' creates are idempotent).
  if (olds.observed === null) return { outs: await finishCreate(id, news) };
  const hv = news.hypervisor as HypervisorRef;
  const remote = remoteFor(hv.host);
  const plan = planFor(olds, news);
  if (plan.failures.length) throw new Error(plan.failures.map((f) => `${f.property}: ${f.reason}`).join("\n"));
  const changed = new Set(plan.properties.map((p) => p.property));
  const name = news.name as string;
  const step = (s: string) => (e: unknown) => { throw stepError(`guest "${name}"`, hv.host, s, e); };
  // Only the owner changes a guest; a state from before tokens claims its guest here.
  const ownerToken = ownerTokenOf(id);
  await claim(id, { ...olds, adopt: news.adopt }, olds.name, await observe(olds));
  let how: unknown;
  if (news.virtualization === "full") {
    const spec = kvmSpecOf({ ...news, ownerToken });
    if (plan.overall === "restart") {
      // renameGuest stops, renames and redefines with the whole new spec, so it also applies the other restart changes.
      how = changed.has("name")
        ? (await kvm().renameGuest(remote, olds.name, spec).catch(step(`rename from "${olds.name}"`))).stopped
        : (await kvm().restartWithDefinition(remote, spec).catch(step("restart with the new definition"))).stopped;
    } else if (plan.overall === "live") {
      const live: Kvm.LiveChange = {};
      if (changed.has("memoryMiB")) live.memoryMiB = spec.memoryMiB;
      if (changed.has("vcpus")) live.vcpus = spec.vcpus;
      if (changed.has("autostart")) live.autostart = spec.autostart;
      const targets = kvm().diskTargets(spec.dataDisks);
      const disks: { target: string; sizeMiB: number }[] = [];
      if (changed.has("rootDiskSizeMiB") && spec.rootDisk.sizeMiB) disks.push({ target: "vda", sizeMiB: spec.rootDisk.sizeMiB });
      for (const d of spec.dataDisks) if (changed.has(`dataDiskSizeMiB:${d.name}`)) disks.push({ target: targets[d.name], sizeMiB: d.sizeMiB });
      if (disks.length) live.disks = disks;
      if (Object.keys(live).length) await kvm().applyLive(remote, name, live).catch(step("apply live changes"));
      if (changed.has("running")) {
        if (spec.running) await kvm().startGuest(remote, name).catch(step("start"));
        else how = await kvm().shutdownGuest(remote, name, spec.shutdownTimeoutSec).catch(step("shut down"));
      }
    }
  } else {
    const spec = xenSpecOf(news);
    if (plan.overall === "restart") {
      await preflightPvKernel(olds, news);
      if (changed.has("name")) await xen().shutdownDomain(remote, olds.name, spec.shutdownTimeoutSec).catch(step(`stop "${olds.name}" for rename`));
      how = await xen().restartWithConfig(remote, spec).catch(step("restart with the new configuration"));
      if (changed.has("name")) {
        // The owner's token moves to the new name.
        await xen().claimDomain(remote, name, spec.configDir, ownerToken, { force: true }).catch(step("record the owner under the new name"));
        await remote.exec(["rm", "-f", xen().ownerPath(spec.configDir, olds.name)], { step: `remove the owner file of ${olds.name}` }).catch(step("remove the old owner file"));
      }
    } else if (plan.overall === "live") {
      const live: Record<string, unknown> = {};
      if (changed.has("memoryMiB")) live.memoryMiB = spec.memoryMiB;
      if (changed.has("vcpus")) live.vcpus = spec.vcpus;
      if (changed.has("name")) live.name = name;
      await xen().applyLive(remote, changed.has("name") ? olds.name : name, spec, live as any).catch(step("apply live changes"));
    }
  }
  const observed = plan.overall === "restart" ? await settleBalloon(news) : await observe(news);
  return { outs: { ...news, observed, ownerToken, lastApplied: { at: nowIso(), action: plan.overall, changes: describePlan(plan), stoppedBy: how } } };
}

async function del(id: string, props: Props) {
  const hv = props.hypervisor as HypervisorRef;
  const remote = remoteFor(hv.host);
  assertOwned(id, { ...props, adopt: false }, await observe(props).catch(() => undefined), "stopped or destroyed");
  let r: string;
  try {
    if (props.virtualization === "full") {
      const doomed = ((props.dataDisks ?? []) as GuestArgs["dataDisks"]).filter((d) => d.deleteOnDestroy).map((d) => d.name);
      r = await kvm().destroyGuest(remote, props.name, { deleteDataDisks: doomed, storageDir: (props.hypervisor as HypervisorRef).storageDir });
    } else {
      r = await xen().destroyDomain(remote, props.name);
    }
  } catch (e) {
    throw stepError(`guest "${props.name}"`, hv.host, "destroy", e);
  }
  if (r === "absent") console.warn(`guest "${props.name}" on host "${hv.host.facts.hostname}" was already gone`);
}
export { del as delete };
