// KVM/QEMU guests through libvirt, driven with `virsh` over a Remote.
// Pure parts (capabilities, paths, domain XML) are separate from the I/O functions below them,
// so the planner and unit tests can use them without a host.
import { createHash } from "node:crypto";
import { XMLBuilder, XMLParser } from "fast-xml-parser";
import type { CapabilityTable } from "../../plan/types";
import { Remote, RemoteCommandError } from "../../ssh/types";

const VIRSH = ["virsh", "-c", "qemu:///system"];
const MiB = 1024 * 1024;
/** XML namespace of the driver's own bookkeeping inside <metadata>. */
const META_NS = "https://github.com/pulumi-virt/kvm/1";
/**
 * Namespace of the owning resource's token inside <metadata>: an element of its own, so `virsh metadata` can set it
 * on an existing domain (a claim) without rewriting the driver's bookkeeping.
 */
const OWNER_NS = "https://github.com/pulumi-virt/kvm/owner/1";
const OWNER_TOKEN_RE = /^[0-9a-f]{16,64}$/;

// ---------------------------------------------------------------------------------------------
// Capabilities: what each change costs a running guest. Data, read by the planner and the docs.

export const kvmCapabilities: CapabilityTable = {
  memoryMiB: {
    label: "memory (MiB)",
    grow: { action: "live", mechanism: "virtio balloon" },
    shrink: { action: "live", mechanism: "virtio balloon" },
    liveUpTo: "maxMemoryMiB",
    beyondLimit: { action: "restart", reason: "above maxMemory fixed at boot" },
  },
  maxMemoryMiB: { label: "maximum memory (MiB)", change: { action: "restart", reason: "the memory ceiling is fixed when QEMU starts" } },
  vcpus: {
    label: "vCPUs",
    grow: { action: "live", mechanism: "vCPU hotplug (ACPI)" },
    // Live unplug timed out under TCG and a later reset crashed QEMU (LAB-NOTES).
    shrink: { action: "restart", reason: "vCPU unplug is unreliable; the guest restarts with fewer vCPUs" },
    liveUpTo: "maxVcpus",
    beyondLimit: { action: "restart", reason: "above maxVcpus fixed at boot" },
  },
  maxVcpus: { label: "maximum vCPUs", change: { action: "restart", reason: "the vCPU ceiling is fixed when QEMU starts" } },
  rootDiskSizeMiB: {
    label: "root disk (MiB)",
    grow: { action: "live", mechanism: "blockresize" },
    shrink: { action: "replace", reason: "disks cannot shrink; a new root disk is made from the base image", destroysData: true },
  },
  dataDiskSizeMiB: {
    label: "data disk (MiB)",
    grow: { action: "live", mechanism: "blockresize" },
    shrink: { action: "replace", reason: "disks cannot shrink; the data disk would be recreated empty", destroysData: true },
  },
  dataDisks: { label: "data disks (added/removed/bus)", change: { action: "restart", reason: "data disks are attached when the guest starts" } },
  boot: { label: "boot (kernel/initrd/cmdline/firmware)", change: { action: "restart", reason: "boot settings are read when QEMU starts" } },
  baseImage: { label: "base image", change: { action: "replace", reason: "the root disk is rebuilt from the new base image", destroysData: true } },
  rootDiskMode: { label: "root disk mode", change: { action: "replace", reason: "the root disk is rebuilt", destroysData: true } },
  network: { label: "network bridge", change: { action: "restart", reason: "the NIC is redefined" } },
  mac: { label: "MAC address", change: { action: "restart", reason: "the NIC is redefined" } },
  autostart: { label: "autostart", change: { action: "live", mechanism: "virsh autostart" } },
  running: { label: "running", change: { action: "live", mechanism: "virsh start / shutdown" } },
  shutdownTimeoutSec: { label: "shutdown timeout (s)", change: { action: "live", mechanism: "provider setting only" } },
  // libvirt renames only inactive domains.
  name: { label: "name", change: { action: "restart", reason: "libvirt renames only a stopped domain" } },
  emulated: { label: "emulated (TCG)", change: { action: "restart", reason: "the accelerator is chosen when QEMU starts" } },
  cloudInit: { label: "cloud-init", change: { action: "replace", reason: "cloud-init applies its seed on first boot only", destroysData: true } },
  storageDir: { label: "storage directory", change: { action: "replace", reason: "disks live under the storage directory", destroysData: true } },
};

// ---------------------------------------------------------------------------------------------
// Desired configuration.

export type DiskBus = "virtio" | "scsi" | "sata";

export type BootSpec =
  | { kind: "kernel"; kernel: string; initrd?: string; cmdline?: string }
  | { kind: "firmware"; firmware: "bios" | "uefi" };

export interface DataDiskSpec {
  /** File-name safe: [A-Za-z0-9_-]. */
  name: string;
  sizeMiB: number;
  bus: DiskBus;
  deleteOnDestroy?: boolean;
}

export interface DomainSpec {
  name: string;
  vcpus: number;
  maxVcpus: number;
  memoryMiB: number;
  maxMemoryMiB: number;
  /** true: QEMU software emulation (TCG, domain type 'qemu'); false: hardware KVM. */
  emulated: boolean;
  boot: BootSpec;
  rootDisk: { baseImage: string; sizeMiB?: number; mode: "overlay" | "copy" };
  dataDisks: DataDiskSpec[];
  network?: { bridge: string; mac?: string };
  cloudInit?: { userData: string; metaData?: string; networkConfig?: string };
  running: boolean;
  autostart: boolean;
  shutdownTimeoutSec: number;
  /** Host directory holding one sub-directory per guest, e.g. /var/lib/libvirt/images/pulumi-virt. */
  storageDir: string;
  /** The owning resource's token, kept in the domain's <metadata> (ownership by identity, not by name). */
  ownerToken?: string;
}

/** Where a guest's files live on the host. */
export interface DomainPaths {
  dir: string;
  rootDisk: string;
  dataDisks: Record<string, string>;
  seedIso?: string;
  consoleLog: string;
  definition: string;
}

export function domainPaths(spec: Pick<DomainSpec, "name" | "storageDir" | "dataDisks" | "cloudInit">): DomainPaths {
  const dir = `${spec.storageDir.replace(/\/+$/, "")}/${spec.name}`;
  const dataDisks: Record<string, string> = {};
  for (const d of spec.dataDisks) dataDisks[d.name] = `${dir}/data-${d.name}.qcow2`;
  return {
    dir,
    rootDisk: `${dir}/root.qcow2`,
    dataDisks,
    // Inside a 0700 directory of its own (cloud-init data holds passwords and keys): see SEED_SCRIPT.
    seedIso: spec.cloudInit ? `${dir}/cidata/seed.iso` : undefined,
    consoleLog: `${dir}/console.log`,
    definition: `${dir}/domain.xml`,
  };
}

/** The serial console log (written by virtlogd, appended across boots). */
export function consoleLogPath(spec: Pick<DomainSpec, "name" | "storageDir">): string {
  return domainPaths({ ...spec, dataDisks: [] }).consoleLog;
}

/** A locally administered QEMU-range MAC derived from the name, so redefinitions keep it. */
export function stableMac(name: string): string {
  const h = createHash("sha256").update(name).digest();
  return ["52", "54", "00", ...[h[0], h[1], h[2]].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

export class InvalidDomainSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidDomainSpecError";
  }
}

/** Names become file names and virsh arguments: no slash, no control characters, no leading dash or dot. */
export function validateGuestName(name: string): void {
  if (!name || name.length > 64 || /[/\x00-\x1f\x7f]/.test(name) || /^[-.]/.test(name)) {
    throw new InvalidDomainSpecError(
      `guest name ${JSON.stringify(name)} is not usable: use 1-64 characters, no '/', no control characters, not starting with '-' or '.'`,
    );
  }
  // virsh resolves --domain as an ID, then a UUID, then a name: such a name could address another domain.
  if (/^[0-9]+$/.test(name) || (/^[0-9a-fA-F-]+$/.test(name) && name.replace(/-/g, "").length === 32)) {
    throw new InvalidDomainSpecError(`guest name ${JSON.stringify(name)} is not usable: virsh would read it as a domain ID or UUID`);
  }
}

export function validateDomainSpec(spec: DomainSpec): void {
  validateGuestName(spec.name);
  if (spec.ownerToken !== undefined && !OWNER_TOKEN_RE.test(spec.ownerToken)) throw new InvalidDomainSpecError("ownerToken must be 16-64 lowercase hex digits");
  const posInt = (v: number, what: string) => {
    if (!Number.isInteger(v) || v <= 0) throw new InvalidDomainSpecError(`${what} must be a positive integer, got ${v}`);
  };
  posInt(spec.vcpus, "vcpus");
  posInt(spec.maxVcpus, "maxVcpus");
  posInt(spec.memoryMiB, "memoryMiB");
  posInt(spec.maxMemoryMiB, "maxMemoryMiB");
  if (spec.vcpus > spec.maxVcpus) throw new InvalidDomainSpecError(`vcpus (${spec.vcpus}) exceeds maxVcpus (${spec.maxVcpus}); raise maxVcpus`);
  if (spec.memoryMiB > spec.maxMemoryMiB)
    throw new InvalidDomainSpecError(`memoryMiB (${spec.memoryMiB}) exceeds maxMemoryMiB (${spec.maxMemoryMiB}); raise maxMemoryMiB`);
  if (spec.rootDisk.sizeMiB !== undefined) posInt(spec.rootDisk.sizeMiB, "rootDisk.sizeMiB");
  if (!spec.rootDisk.baseImage.startsWith("/")) throw new InvalidDomainSpecError("rootDisk.baseImage must be an absolute path on the host");
  if (!spec.storageDir.startsWith("/")) throw new InvalidDomainSpecError("storageDir must be an absolute path on the host");
  const seen = new Set<string>();
  for (const d of spec.dataDisks) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(d.name)) throw new InvalidDomainSpecError(`data disk name ${JSON.stringify(d.name)}: use 1-32 of [A-Za-z0-9_-]`);
    if (seen.has(d.name)) throw new InvalidDomainSpecError(`data disk name ${d.name} is used twice`);
    seen.add(d.name);
    posInt(d.sizeMiB, `data disk ${d.name} sizeMiB`);
  }
  if (spec.network?.mac && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(spec.network.mac))
    throw new InvalidDomainSpecError(`network.mac ${spec.network.mac} is not a MAC address like 52:54:00:12:34:56`);
  if (!Number.isFinite(spec.shutdownTimeoutSec) || spec.shutdownTimeoutSec < 0) throw new InvalidDomainSpecError("shutdownTimeoutSec must be >= 0");
}

/** Guest-visible device names: virtio disks vda.., scsi and sata share the sd.. namespace. Root is vda. */
export function diskTargets(dataDisks: DataDiskSpec[]): Record<string, string> {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  let vd = 1;
  let sd = 0;
  const out: Record<string, string> = {};
  for (const d of dataDisks) out[d.name] = d.bus === "virtio" ? `vd${letters[vd++]}` : `sd${letters[sd++]}`;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Domain XML.

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@_", format: true, suppressEmptyNode: true });
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (tag) => ["disk", "interface", "dataDisk", "domain"].includes(tag),
});

/** `uuid` must be given when redefining an existing domain: libvirt refuses a second domain of the same name. */
export function buildDomainXml(spec: DomainSpec, paths: DomainPaths = domainPaths(spec), opts: { uuid?: string } = {}): string {
  validateDomainSpec(spec);
  const targets = diskTargets(spec.dataDisks);
  const os: Record<string, unknown> = { type: { "@_arch": "x86_64", "#text": "hvm" } };
  if (spec.boot.kind === "kernel") {
    os.kernel = spec.boot.kernel;
    if (spec.boot.initrd) os.initrd = spec.boot.initrd;
    if (spec.boot.cmdline) os.cmdline = spec.boot.cmdline;
  } else {
    if (spec.boot.firmware === "uefi") os["@_firmware"] = "efi";
    os.boot = { "@_dev": "hd" };
  }

  const disks: Record<string, unknown>[] = [
    {
      "@_type": "file",
      "@_device": "disk",
      driver: { "@_name": "qemu", "@_type": "qcow2" },
      source: { "@_file": paths.rootDisk },
      target: { "@_dev": "vda", "@_bus": "virtio" },
    },
  ];
  for (const d of spec.dataDisks) {
    disks.push({
      "@_type": "file",
      "@_device": "disk",
      driver: { "@_name": "qemu", "@_type": "qcow2" },
      source: { "@_file": paths.dataDisks[d.name] },
      target: { "@_dev": targets[d.name], "@_bus": d.bus },
      serial: `pv-${d.name}`,
    });
  }
  if (spec.cloudInit && paths.seedIso) {
    disks.push({
      "@_type": "file",
      "@_device": "cdrom",
      driver: { "@_name": "qemu", "@_type": "raw" },
      source: { "@_file": paths.seedIso },
      target: { "@_dev": "hdc", "@_bus": "ide" },
      readonly: "",
    });
  }

  const devices: Record<string, unknown> = { disk: disks };
  if (spec.dataDisks.some((d) => d.bus === "scsi")) devices.controller = { "@_type": "scsi", "@_model": "virtio-scsi" };
  if (spec.network) {
    devices.interface = {
      "@_type": "bridge",
      mac: { "@_address": (spec.network.mac ?? stableMac(spec.name)).toLowerCase() },
      source: { "@_bridge": spec.network.bridge },
      model: { "@_type": "virtio" },
    };
  }
  // A pty serial whose output virtlogd also writes to a file: tests and operators read the console there.
  devices.serial = { "@_type": "pty", log: { "@_file": paths.consoleLog, "@_append": "on" }, target: { "@_port": "0" } };
  devices.console = { "@_type": "pty", target: { "@_type": "serial", "@_port": "0" } };
  devices.memballoon = { "@_model": "virtio" };

  const meta = {
    "pv:guest": {
      "@_xmlns:pv": META_NS,
      "pv:dir": paths.dir,
      "pv:rootDisk": paths.rootDisk,
      "pv:baseImage": spec.rootDisk.baseImage,
      "pv:rootMode": spec.rootDisk.mode,
      "pv:consoleLog": paths.consoleLog,
      ...(paths.seedIso ? { "pv:seedIso": paths.seedIso } : {}),
      ...(spec.dataDisks.length
        ? { "pv:dataDisk": spec.dataDisks.map((d) => ({ "@_name": d.name, "@_target": targets[d.name], "#text": paths.dataDisks[d.name] })) }
        : {}),
    },
    ...(spec.ownerToken ? { "pvo:owner": { "@_xmlns:pvo": OWNER_NS, "#text": spec.ownerToken } } : {}),
  };

  const domain: Record<string, unknown> = {
    "@_type": spec.emulated ? "qemu" : "kvm",
    name: spec.name,
    ...(opts.uuid ? { uuid: opts.uuid } : {}),
    metadata: meta,
    memory: { "@_unit": "KiB", "#text": String(spec.maxMemoryMiB * 1024) },
    currentMemory: { "@_unit": "KiB", "#text": String(spec.memoryMiB * 1024) },
    vcpu: { "@_placement": "static", "@_current": String(spec.vcpus), "#text": String(spec.maxVcpus) },
    os,
    // Without ACPI, vCPU hotplug silently does nothing and shutdown cannot be requested.
    features: { acpi: "", apic: "" },
    ...(spec.emulated ? {} : { cpu: { "@_mode": "host-passthrough" } }),
    clock: { "@_offset": "utc" },
    on_poweroff: "destroy",
    on_reboot: "restart",
    on_crash: "destroy",
    devices,
  };
  // suppressEmptyNode turns "" into <acpi/>; keep the text nodes as strings so it applies.
  return builder.build({ domain });
}

// ---------------------------------------------------------------------------------------------
// Observed state.

export type GuestState = "running" | "shutoff" | "paused" | "shutdown" | "crashed" | "pmsuspended" | "other";

export interface ObservedDisk {
  target: string;
  path: string;
  sizeMiB: number;
  device: string;
}

export interface GuestObserved {
  exists: boolean;
  name: string;
  state?: GuestState;
  qemuPid?: number;
  uuid?: string;
  vcpus?: number;
  maxVcpus?: number;
  /**
   * Memory the guest has now, as libvirt reports it (dominfo "Used memory": the balloon's actual
   * size). Right after start it equals the maximum until the guest's balloon driver reaches the target.
   */
  memoryMiB?: number;
  /** Memory in the persistent definition (what the guest gets at its next start). */
  configuredMemoryMiB?: number;
  /** vCPUs in the persistent definition. */
  configuredVcpus?: number;
  maxMemoryMiB?: number;
  disks?: ObservedDisk[];
  mac?: string;
  bridge?: string;
  autostart?: boolean;
  emulated?: boolean;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  firmware?: string;
  /** The driver's bookkeeping written at define time. */
  rootDiskPath?: string;
  baseImage?: string;
  storageGuestDir?: string;
  consoleLog?: string;
  seedIso?: string;
  dataDiskPaths?: Record<string, string>;
  /** The owning resource's token from <metadata> (absent: defined by a release before tokens, or not ours). */
  ownerToken?: string;
}

// One round trip: every query in one script, sections framed by @@ lines.
const READ_SCRIPT = `
n="$1"; c=qemu:///system
if ! info=$(virsh -c "$c" dominfo --domain "$n" 2>&1); then
  case "$info" in *"ailed to get domain"*|*"omain not found"*|*"no domain with matching name"*) echo "@@absent"; exit 0;; esac
  printf '%s\\n' "$info" >&2; exit 1
fi
printf '@@dominfo\\n%s\\n' "$info"
echo "@@xml"; virsh -c "$c" dumpxml --domain "$n" || exit 1
echo "@@inactive"; virsh -c "$c" dumpxml --inactive --domain "$n" | grep -m1 '<currentMemory'
echo "@@vcpucount"; virsh -c "$c" vcpucount --domain "$n" 2>/dev/null
echo "@@blk"; virsh -c "$c" domblkinfo --domain "$n" --all 2>/dev/null
echo "@@pid"; cat "/run/libvirt/qemu/$n.pid" 2>/dev/null; echo
echo "@@end"
`;

function sections(out: string): Record<string, string> {
  const res: Record<string, string> = {};
  let cur = "";
  for (const line of out.split("\n")) {
    const m = /^@@(\w+)$/.exec(line);
    if (m) {
      cur = m[1];
      res[cur] = "";
    } else if (cur) res[cur] += line + "\n";
  }
  return res;
}

function keyValues(text: string): Record<string, string> {
  const kv: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) kv[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return kv;
}

function normalizeState(s: string): GuestState {
  const map: Record<string, GuestState> = {
    running: "running",
    "shut off": "shutoff",
    paused: "paused",
    "in shutdown": "shutdown",
    crashed: "crashed",
    pmsuspended: "pmsuspended",
  };
  return map[s] ?? "other";
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const text = (v: unknown): string | undefined =>
  v === undefined || v === null ? undefined : typeof v === "object" ? (v as Record<string, unknown>)["#text"] as string | undefined : String(v);

function configuredMemoryMiB(line: string): number | undefined {
  const m = /<currentMemory unit='(\w+)'>(\d+)</.exec(line);
  if (!m) return undefined;
  const unit: Record<string, number> = { KiB: 1 / 1024, MiB: 1, GiB: 1024, b: 1 / MiB, bytes: 1 / MiB };
  return Math.round(Number(m[2]) * (unit[m[1]] ?? 1 / 1024));
}

export function parseReadOutput(name: string, out: string): GuestObserved {
  const s = sections(out);
  if ("absent" in s) return { exists: false, name };
  const info = keyValues(s.dominfo ?? "");
  const xml = parser.parse(s.xml ?? "");
  const dom = asArray(xml.domain)[0] ?? {};
  const os = dom.os ?? {};
  const devices = dom.devices ?? {};

  const vc: Record<string, number> = {};
  for (const line of (s.vcpucount ?? "").split("\n")) {
    const m = /^\s*(maximum|current)\s+(config|live)\s+(\d+)/.exec(line);
    if (m) vc[`${m[1]} ${m[2]}`] = Number(m[3]);
  }
  const sizes: Record<string, number> = {};
  for (const line of (s.blk ?? "").split("\n")) {
    const m = /^\s*(\S+)\s+(\d+)\s+\d+\s+\d+\s*$/.exec(line);
    if (m) sizes[m[1]] = Number(m[2]);
  }
  const disks: ObservedDisk[] = asArray<Record<string, any>>(devices.disk).map((d) => {
    const target = d.target?.["@_dev"] ?? "";
    return {
      target,
      device: d["@_device"] ?? "disk",
      path: d.source?.["@_file"] ?? d.source?.["@_dev"] ?? "",
      sizeMiB: sizes[target] !== undefined ? Math.round(sizes[target] / MiB) : 0,
    };
  });
  const nic = asArray<Record<string, any>>(devices.interface)[0];
  const meta = dom.metadata?.["pv:guest"];
  const dataDiskPaths: Record<string, string> = {};
  for (const d of asArray<Record<string, any>>(meta?.["pv:dataDisk"])) dataDiskPaths[d["@_name"]] = text(d) ?? "";
  const kib = (v: string | undefined) => (v ? Math.round(Number(v.replace(/\s*KiB$/, "")) / 1024) : undefined);
  const pid = Number((s.pid ?? "").trim());
  const state = normalizeState(info["State"] ?? "");

  return {
    exists: true,
    name,
    state,
    qemuPid: state !== "shutoff" && pid > 0 ? pid : undefined,
    uuid: info["UUID"],
    vcpus: vc["current live"] ?? vc["current config"],
    maxVcpus: vc["maximum live"] ?? vc["maximum config"],
    memoryMiB: kib(info["Used memory"]),
    configuredMemoryMiB: configuredMemoryMiB(s.inactive ?? ""),
    configuredVcpus: vc["current config"],
    maxMemoryMiB: kib(info["Max memory"]),
    disks,
    mac: nic?.mac?.["@_address"],
    bridge: nic?.source?.["@_bridge"],
    autostart: info["Autostart"] === "enable",
    emulated: dom["@_type"] === "qemu",
    kernel: text(os.kernel),
    initrd: text(os.initrd),
    cmdline: text(os.cmdline),
    firmware: os["@_firmware"] ?? (os.loader ? "custom" : os.kernel ? undefined : "bios"),
    rootDiskPath: text(meta?.["pv:rootDisk"]),
    baseImage: text(meta?.["pv:baseImage"]),
    storageGuestDir: text(meta?.["pv:dir"]),
    consoleLog: text(meta?.["pv:consoleLog"]),
    seedIso: text(meta?.["pv:seedIso"]),
    dataDiskPaths,
    ownerToken: text(dom.metadata?.["pvo:owner"])?.trim() || undefined,
  };
}

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

// ---------------------------------------------------------------------------------------------
// Changes.

const virsh = (remote: Remote, args: string[], step: string, okCodes?: number[]) =>
  remote.exec([...VIRSH, ...args], { step, okCodes });

export interface LiveChange {
  memoryMiB?: number;
  vcpus?: number;
  disks?: { target: string; sizeMiB: number }[];
  autostart?: boolean;
}

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
    const disk = cur.disks?.find((x) => x.target === d.target);
    if (!disk) throw new Error(`guest ${name} has no disk ${d.target}`);
    if (d.sizeMiB < disk.sizeMiB) throw new Error(`guest ${name}: disk ${d.target} cannot shrink from ${disk.sizeMiB} to ${d.sizeMiB} MiB`);
    if (d.sizeMiB === disk.sizeMiB) continue;
    // blockresize grows the image file itself, so the change persists without --config.
    if (running) await virsh(remote, ["blockresize", "--domain", name, "--path", d.target, "--size", `${d.sizeMiB * MiB}B`], `grow ${d.target} of ${name}`);
    else await remote.exec(["qemu-img", "resize", "-q", disk.path, `${d.sizeMiB}M`], { step: `grow ${d.target} of ${name}` });
  }
  if (change.autostart !== undefined && change.autostart !== cur.autostart) {
    await virsh(remote, ["autostart", "--domain", name, ...(change.autostart ? [] : ["--disable"])], `autostart of ${name}`);
  }
}

export type StopOutcome = "acpi" | "destroyed" | "already-off";

// Polls in one remote script so a long timeout costs one round trip.
const SHUTDOWN_SCRIPT = `
n="$1"; t="$2"; c=qemu:///system
st=$(virsh -c "$c" domstate --domain "$n") || exit 1
[ "$st" = "shut off" ] && { echo already-off; exit 0; }
virsh -c "$c" shutdown --domain "$n" --mode acpi >/dev/null 2>&1
i=0
while [ "$i" -lt "$t" ]; do
  sleep 1; i=$((i+1))
  st=$(virsh -c "$c" domstate --domain "$n" 2>/dev/null)
  [ "$st" = "shut off" ] && { echo acpi; exit 0; }
done
virsh -c "$c" destroy --domain "$n" >/dev/null 2>&1
st=$(virsh -c "$c" domstate --domain "$n" 2>/dev/null)
[ "$st" = "shut off" ] && { echo destroyed; exit 0; }
echo "guest $n is still '$st' after destroy" >&2; exit 1
`;

/** Asks the guest to power off (ACPI), waits up to timeoutSec, then pulls the plug. */
export async function shutdownGuest(remote: Remote, name: string, timeoutSec: number): Promise<StopOutcome> {
  validateGuestName(name);
  const t = Math.max(0, Math.floor(timeoutSec));
  const r = await remote.script(SHUTDOWN_SCRIPT, [name, String(t)], { step: `shut down ${name}`, timeoutMs: (t + 60) * 1000 });
  return r.stdout.trim() as StopOutcome;
}

/** What the driver needs of `qemu-img info --output=json`: the image's own format and virtual size. */
export interface QemuImageInfo {
  format: string;
  virtualSize: number;
}

/**
 * Parses `qemu-img info --output=json` as JSON: the top-level object is the image itself, whatever the key order
 * (QEMU 8 and later print "children" with their own "format" and "virtual-size" before the image's).
 */
export function parseQemuImgInfo(json: string, what: string): QemuImageInfo {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new Error(`qemu-img info of ${what} did not print JSON`);
  }
  const o = v as { format?: unknown; "virtual-size"?: unknown };
  if (!o || typeof o !== "object" || typeof o.format !== "string" || !/^[a-z0-9]+$/.test(o.format) || typeof o["virtual-size"] !== "number" || !Number.isSafeInteger(o["virtual-size"])) {
    throw new Error(`qemu-img info of ${what} has no format or virtual-size`);
  }
  return { format: o.format, virtualSize: o["virtual-size"] };
}

async function qemuImgInfo(remote: Remote, path: string, step: string): Promise<QemuImageInfo> {
  const r = await remote.exec(["qemu-img", "info", "--output=json", "--", path], { step });
  return parseQemuImgInfo(r.stdout, path);
}

// Each step checks whether it is already done, so a create interrupted anywhere can be re-run.
// $6 and $7 are the base image's format and virtual size (bytes), read by qemuImgInfo.
const ROOT_DISK_SCRIPT = `
set -e
dir="$1"; root="$2"; base="$3"; mode="$4"; size="$5"; fmt="$6"; cur="$7"
mkdir -p "$dir"; chmod 0755 "$dir"
[ -e "$root" ] && exit 0
[ -r "$base" ] || { echo "base image $base not found or unreadable" >&2; exit 2; }
tmp="$root.partial"
rm -f "$tmp"
if [ "$mode" = overlay ]; then
  qemu-img create -q -f qcow2 -F "$fmt" -b "$base" "$tmp"
else
  qemu-img convert -q -f "$fmt" -O qcow2 "$base" "$tmp"
fi
# An overlay or a converted copy has the base image's virtual size.
if [ -n "$size" ]; then
  want=$((size * 1048576))
  [ "$want" -lt "$cur" ] && { echo "rootDisk.sizeMiB $size is smaller than the base image ($cur bytes)" >&2; rm -f "$tmp"; exit 2; }
  [ "$want" -gt "$cur" ] && qemu-img resize -q "$tmp" "$want"
fi
mv "$tmp" "$root"
`;

const DATA_DISK_SCRIPT = `
set -e
path="$1"; size="$2"
[ -e "$path" ] && exit 0
qemu-img create -q -f qcow2 "$path.partial" "\${size}M"
mv "$path.partial" "$path"
`;

// $1 the ISO, $2 the directory holding user-data, meta-data and network-config (inside the ISO's directory).
// The user data is secret: the ISO is 0600 in a 0700 directory, both owned by the user QEMU runs as (it opens the
// ISO; libvirt's default qemu user cannot read a root-only file), and the source files are removed once packed.
const SEED_SCRIPT = `
set -e
iso="$1"; src="$2"; dir=$(dirname -- "$iso")
quser=$(sed -n 's/^[[:space:]]*user[[:space:]]*=[[:space:]]*"\\([^"]*\\)".*/\\1/p' /etc/libvirt/qemu.conf 2>/dev/null | tail -n 1)
[ -n "$quser" ] || { if id -u libvirt-qemu >/dev/null 2>&1; then quser=libvirt-qemu; else quser=root; fi; }
umask 077
for tool in genisoimage mkisofs xorrisofs; do
  if command -v "$tool" >/dev/null; then
    "$tool" -quiet -output "$iso.partial" -volid cidata -joliet -rock "$src"
    chmod 0600 "$iso.partial"; chown "$quser" "$iso.partial" "$dir"; chmod 0700 "$dir"
    mv -f -- "$iso.partial" "$iso"; rm -rf -- "$src"
    exit 0
  fi
done
echo "no ISO tool on this host: install genisoimage (apt-get install genisoimage)" >&2; exit 2
`;

async function ensureDisks(remote: Remote, spec: DomainSpec, paths: DomainPaths): Promise<void> {
  const base = await qemuImgInfo(remote, spec.rootDisk.baseImage, `read base image of ${spec.name}`).catch((e: Error) => {
    throw new Error(`base image ${spec.rootDisk.baseImage} of ${spec.name} not found or unreadable: ${e.message}`);
  });
  await remote.script(
    ROOT_DISK_SCRIPT,
    [paths.dir, paths.rootDisk, spec.rootDisk.baseImage, spec.rootDisk.mode, spec.rootDisk.sizeMiB ? String(spec.rootDisk.sizeMiB) : "", base.format, String(base.virtualSize)],
    { step: `root disk of ${spec.name}` },
  );
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

const REMOVE_FILES_SCRIPT = `
dir="$1"; shift
for f in "$@"; do rm -f -- "$f" "$f.partial"; done
rm -rf -- "$dir/seed" "$dir/cidata"
rm -f -- "$dir/domain.xml"
rmdir -- "$dir" 2>/dev/null
exit 0
`;

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
    for (const d of opts.deleteDataDisks) if (cur.dataDiskPaths?.[d]) files.push(cur.dataDiskPaths[d]);
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
    await remote.script('set -e; [ -e "$2" ] && { echo "$2 already exists" >&2; exit 2; }; mv -- "$1" "$2"', [cur.storageGuestDir, paths.dir], {
      step: `move files of ${oldName}`,
    });
  }
  await virsh(remote, ["domrename", "--domain", oldName, "--new-name", newSpec.name], `rename ${oldName}`);
  await defineDomain(remote, newSpec, paths, cur.uuid);
  await applyRunState(remote, newSpec, await readGuest(remote, newSpec.name));
  return { stopped, observed: await readGuest(remote, newSpec.name) };
}

// ---------------------------------------------------------------------------------------------
// Host facts.

export interface KvmHostFacts {
  libvirtVersion: string;
  qemuVersion: string;
  /** /dev/kvm exists (it may still be unusable, e.g. a nested PVM without VT-x). */
  kvmDevice: boolean;
  hardwareVirt: "vmx" | "svm" | "none";
  /** Domain types libvirt offers for x86_64 guests ("qemu" = TCG emulation, "kvm" = hardware). */
  domainTypes: string[];
}

const VERIFY_SCRIPT = `
c=qemu:///system
echo "@@version"; virsh -c "$c" version || exit 1
echo "@@kvm"; [ -e /dev/kvm ] && echo yes || echo no
echo "@@flags"; grep -owE 'vmx|svm' /proc/cpuinfo | sort -u
echo "@@caps"; virsh -c "$c" capabilities
echo "@@end"
`;

export async function verifyKvm(remote: Remote): Promise<KvmHostFacts> {
  let out: string;
  try {
    out = (await remote.script(VERIFY_SCRIPT, [], { step: "check libvirt/QEMU", coalesce: true })).stdout;
  } catch (e) {
    if (e instanceof RemoteCommandError)
      throw new Error(
        `libvirt is not usable on ${remote.label}: ${e.stderrTail || e.message}. Install libvirt-daemon-system, libvirt-clients and qemu-system-x86, and start libvirtd.`,
      );
    throw e;
  }
  const s = sections(out);
  const ver = s.version ?? "";
  const flags = (s.flags ?? "").split("\n").map((x) => x.trim());
  const caps = parser.parse(s.caps ?? "");
  const types = new Set<string>();
  for (const g of asArray<Record<string, any>>(caps.capabilities?.guest)) {
    if (g.arch?.["@_name"] !== "x86_64") continue;
    for (const d of asArray<Record<string, any>>(g.arch?.domain)) if (d["@_type"]) types.add(d["@_type"]);
  }
  return {
    libvirtVersion: /Using library: libvirt ([\d.]+)/.exec(ver)?.[1] ?? "unknown",
    qemuVersion: /Running hypervisor: QEMU ([\d.]+)/.exec(ver)?.[1] ?? "unknown",
    kvmDevice: (s.kvm ?? "").trim() === "yes",
    hardwareVirt: flags.includes("vmx") ? "vmx" : flags.includes("svm") ? "svm" : "none",
    domainTypes: [...types].sort(),
  };
}
