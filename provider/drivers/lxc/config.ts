// Pure parts of the LXC driver: spec validation, cgroup value conversion and rendering of the
// container config. The config keeps the template's lines and adds one managed block at the end,
// so restarts keep every limit and a re-render replaces exactly what we own.
import { XFS_MIN_MIB } from "../../models/common";
import { CgroupVersion, ContainerSpec, HostFacts } from "./types";

export const MANAGED_BEGIN = "# BEGIN pulumi-virt (managed; edits inside this block are overwritten)";
export const MANAGED_END = "# END pulumi-virt";
export const TEMPLATE_MARK = "# pulumi-virt.template =";
export const CPU_PERIOD_US = 100000;
const MiB = 1024 * 1024;

const NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
const PATH = /^\/[A-Za-z0-9._+@/-]*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const BRIDGE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const ENV_VALUE = /^[\x20-\x7e]*$/;

export function validateName(name: string): void {
  if (!NAME.test(name)) {
    throw new Error(`invalid container name ${JSON.stringify(name)}: use 1-63 letters, digits and '-', starting with a letter or digit`);
  }
}

function positiveInt(what: string, v: number | undefined, min = 1): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new Error(`${what} must be a whole number >= ${min}; got ${v}`);
}

function validPath(what: string, p: string): void {
  if (!PATH.test(p) || p.split("/").includes("..")) {
    throw new Error(`${what} ${JSON.stringify(p)} must be an absolute path of letters, digits and . _ + @ / - without '..'`);
  }
}

/** Rejects anything that could break out of a config line or a command argument. Runs before any I/O. */
export function validateSpec(spec: ContainerSpec): void {
  validateName(spec.name);
  const t = spec.template;
  if (t.kind === "debian" && !/^[a-z]{2,20}$/.test(t.release)) throw new Error(`invalid Debian release ${JSON.stringify(t.release)} (e.g. "bookworm")`);
  if (t.kind === "tarball") validPath("tarball path", t.path);
  positiveInt("memoryMiB", spec.memoryMiB, 16);
  positiveInt("swapMiB", spec.swapMiB, 0);
  positiveInt("cpus", spec.cpus);
  positiveInt("cpuQuotaPercent", spec.cpuQuotaPercent);
  positiveInt("cpuShares", spec.cpuShares, 2);
  if (spec.disk) {
    positiveInt("disk.sizeMiB", spec.disk.sizeMiB, 16);
    if (!["xfs", "btrfs", "ext4"].includes(spec.disk.fstype)) throw new Error(`disk.fstype must be xfs, btrfs or ext4; got ${spec.disk.fstype}`);
    if (spec.disk.fstype === "xfs" && spec.disk.sizeMiB < XFS_MIN_MIB) throw new Error(`an xfs disk needs at least ${XFS_MIN_MIB} MiB; got ${spec.disk.sizeMiB}`);
  }
  const n = spec.network;
  if (n) {
    if (!BRIDGE.test(n.bridge)) throw new Error(`invalid bridge name ${JSON.stringify(n.bridge)}`);
    if (n.address !== undefined) {
      const [a, p, ...rest] = n.address.split("/");
      if (rest.length || !IPV4.test(a ?? "") || !/^(3[0-2]|[12]?\d)$/.test(p ?? "")) throw new Error(`network.address ${JSON.stringify(n.address)} must look like "10.0.0.5/24"`);
    }
    if (n.gateway !== undefined && !IPV4.test(n.gateway)) throw new Error(`network.gateway ${JSON.stringify(n.gateway)} must be an IPv4 address`);
    if (n.hwaddr !== undefined && !MAC.test(n.hwaddr)) throw new Error(`network.hwaddr ${JSON.stringify(n.hwaddr)} must look like "52:54:00:12:34:56"`);
  }
  for (const [k, v] of Object.entries(spec.environment ?? {})) {
    if (!ENV_KEY.test(k)) throw new Error(`environment name ${JSON.stringify(k)}: letters, digits and _, not starting with a digit`);
    if (!ENV_VALUE.test(v)) throw new Error(`environment value of ${k} must be printable ASCII without newlines`);
  }
  for (const m of spec.mounts ?? []) {
    validPath("mount hostPath", m.hostPath);
    validPath("mount containerPath", m.containerPath);
    if (m.containerPath === "/") throw new Error("a mount cannot replace the container's /");
  }
}

/** "0-2,5" -> [0,1,2,5] */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(",")) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`unparsable CPU list ${JSON.stringify(list)}`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

/** [0,1,2,5] -> "0-2,5" */
export function formatCpuList(cpus: number[]): string {
  const s = [...new Set(cpus)].sort((x, y) => x - y);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** The first n CPUs the host offers, as a cpuset list. */
export function firstCpus(hostCpus: string, n: number): string {
  const all = parseCpuList(hostCpus);
  if (n > all.length) throw new Error(`cpus = ${n} but the host offers only ${all.length} CPUs (${hostCpus}); lower cpus or use cpuQuotaPercent`);
  return formatCpuList(all.slice(0, n));
}

/** cgroup v1 cpu.shares -> v2 cpu.weight (the kernel's / systemd's conversion). */
export function sharesToWeight(shares: number): number {
  return Math.min(10000, Math.max(1, 1 + Math.floor(((shares - 2) * 9999) / 262142)));
}

/** cgroup v2 cpu.weight -> nearest cpu.shares (inverse of sharesToWeight up to rounding). */
export function weightToShares(weight: number): number {
  return Math.max(2, 2 + Math.ceil(((weight - 1) * 262142) / 9999));
}

export interface Limits {
  memoryMiB?: number;
  swapMiB?: number;
  cpus?: number;
  cpuQuotaPercent?: number;
  cpuShares?: number;
}

/** Config keys and values of the resource limits, for this host's cgroup version. */
export function limitEntries(l: Limits, v: CgroupVersion, hostCpus: string): [string, string][] {
  const e: [string, string][] = [];
  if (v === 1) {
    if (l.memoryMiB !== undefined) e.push(["lxc.cgroup.memory.limit_in_bytes", `${l.memoryMiB * MiB}`]);
    if (l.memoryMiB !== undefined && l.swapMiB !== undefined) e.push(["lxc.cgroup.memory.memsw.limit_in_bytes", `${(l.memoryMiB + l.swapMiB) * MiB}`]);
    if (l.cpus !== undefined) e.push(["lxc.cgroup.cpuset.cpus", firstCpus(hostCpus, l.cpus)]);
    if (l.cpuQuotaPercent !== undefined) {
      e.push(["lxc.cgroup.cpu.cfs_period_us", `${CPU_PERIOD_US}`]);
      e.push(["lxc.cgroup.cpu.cfs_quota_us", `${(l.cpuQuotaPercent * CPU_PERIOD_US) / 100}`]);
    }
    if (l.cpuShares !== undefined) e.push(["lxc.cgroup.cpu.shares", `${l.cpuShares}`]);
  } else {
    if (l.memoryMiB !== undefined) e.push(["lxc.cgroup2.memory.max", `${l.memoryMiB * MiB}`]);
    if (l.swapMiB !== undefined) e.push(["lxc.cgroup2.memory.swap.max", `${l.swapMiB * MiB}`]);
    if (l.cpus !== undefined) e.push(["lxc.cgroup2.cpuset.cpus", firstCpus(hostCpus, l.cpus)]);
    if (l.cpuQuotaPercent !== undefined) e.push(["lxc.cgroup2.cpu.max", `${(l.cpuQuotaPercent * CPU_PERIOD_US) / 100} ${CPU_PERIOD_US}`]);
    if (l.cpuShares !== undefined) e.push(["lxc.cgroup2.cpu.weight", `${sharesToWeight(l.cpuShares)}`]);
  }
  return e;
}

export function templateLabel(spec: ContainerSpec): string {
  const t = spec.template;
  return t.kind === "busybox" ? "busybox" : t.kind === "debian" ? `debian:${t.release}` : `tarball:${t.path}`;
}

/** "10.0.1.5/24" -> "10.0.1.255" */
export function broadcastOf(cidr: string): string {
  const [ip, p] = cidr.split("/");
  const n = ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  const host = 2 ** (32 - Number(p)) - 1;
  const b = n - (n % (host + 1)) + host;
  return [24, 16, 8, 0].map((s) => Math.floor(b / 2 ** s) % 256).join(".");
}

/** The managed block: limits, autostart, network, environment, mounts. */
export function renderManagedBlock(spec: ContainerSpec, facts: HostFacts): string[] {
  const lines = [MANAGED_BEGIN, `${TEMPLATE_MARK} ${templateLabel(spec)}`];
  const kv = (k: string, v: string) => lines.push(`${k} = ${v}`);
  kv("lxc.start.auto", spec.autostart ? "1" : "0");
  for (const [k, v] of limitEntries(spec, facts.cgroupVersion, facts.hostCpus)) kv(k, v);
  const n = spec.network;
  if (n) {
    kv("lxc.net.0.type", "veth");
    kv("lxc.net.0.link", n.bridge);
    kv("lxc.net.0.flags", "up");
    if (n.hwaddr) kv("lxc.net.0.hwaddr", n.hwaddr.toLowerCase());
    // With no broadcast given, LXC sets 0.0.0.255 on the interface.
    if (n.address) kv("lxc.net.0.ipv4.address", `${n.address} ${broadcastOf(n.address)}`);
    if (n.gateway) kv("lxc.net.0.ipv4.gateway", n.gateway);
  }
  for (const [k, v] of Object.entries(spec.environment ?? {}).sort(([a], [b]) => a.localeCompare(b))) kv("lxc.environment", `${k}=${v}`);
  for (const m of spec.mounts ?? []) {
    // Relative target: LXC resolves it inside the rootfs; create=dir makes the mount point.
    kv("lxc.mount.entry", `${m.hostPath} ${m.containerPath.replace(/^\/+/, "")} none bind,create=dir${m.readOnly ? ",ro" : ""} 0 0`);
  }
  lines.push(MANAGED_END);
  return lines;
}

/** Key of a config line ("lxc.net.0.link"), or undefined for comments and blanks. */
export function configKey(line: string): string | undefined {
  const t = line.trim();
  if (!t || t.startsWith("#")) return undefined;
  const i = t.indexOf("=");
  return i < 0 ? undefined : t.slice(0, i).trim();
}

const OWNED_PREFIXES = [
  "lxc.cgroup.memory.",
  "lxc.cgroup.cpu.",
  "lxc.cgroup.cpuset.",
  "lxc.cgroup2.memory.",
  "lxc.cgroup2.cpu.",
  "lxc.cgroup2.cpuset.",
];
const OWNED_KEYS = new Set(["lxc.start.auto", "lxc.environment"]);

function ownedKey(key: string, ownsNetwork: boolean): boolean {
  return OWNED_KEYS.has(key) || OWNED_PREFIXES.some((p) => key.startsWith(p)) || (ownsNetwork && key.startsWith("lxc.net."));
}

/** The template's config with our keys removed and the managed block appended. Idempotent. */
export function mergeConfig(existing: string, spec: ContainerSpec, facts: HostFacts): string {
  const kept: string[] = [];
  let inBlock = false;
  for (const line of existing.split("\n")) {
    if (line === MANAGED_BEGIN) inBlock = true;
    else if (line === MANAGED_END) inBlock = false;
    else if (!inBlock) {
      const key = configKey(line);
      if (key === undefined || !ownedKey(key, spec.network !== undefined)) kept.push(line);
    }
  }
  while (kept.length && kept[kept.length - 1].trim() === "") kept.pop();
  return [...kept, "", ...renderManagedBlock(spec, facts), ""].join("\n");
}

/**
 * Replaces every limit and autostart setting (wherever it is) with `entries`, inside the managed block.
 * Used for live changes, which persist what they set without needing the whole spec.
 */
export function replaceLimitSettings(existing: string, entries: [string, string][]): string {
  const out: string[] = [];
  let sawEnd = false;
  for (const line of existing.split("\n")) {
    const key = configKey(line);
    if (key !== undefined && ownedKey(key, false) && key !== "lxc.environment") continue;
    if (line === MANAGED_END) {
      for (const [k, v] of entries) out.push(`${k} = ${v}`);
      sawEnd = true;
    }
    out.push(line);
  }
  if (!sawEnd) {
    while (out.length && out[out.length - 1].trim() === "") out.pop();
    out.push("", MANAGED_BEGIN, ...entries.map(([k, v]) => `${k} = ${v}`), MANAGED_END, "");
  }
  return out.join("\n");
}

/** The config's key/value pairs in order (multi-valued keys repeat). */
export function parseConfig(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of text.split("\n")) {
    const key = configKey(line);
    if (key !== undefined) out.push([key, line.slice(line.indexOf("=") + 1).trim()]);
  }
  return out;
}
