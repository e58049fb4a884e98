// Pure parsing of READ_SCRIPT output into observed container state. Live cgroup values win over
// the config when the container runs, so manual drift on the host shows up.
import { CPU_PERIOD_US, MANAGED_BEGIN, TEMPLATE_MARK, parseConfig, parseCpuList, weightToShares } from "./config";
import { CgroupVersion, ContainerObserved, HostFacts } from "./types";

const MiB = 1024 * 1024;
/** cgroup v1 reports "no limit" as a huge page-aligned number. */
const UNLIMITED_BYTES = 2 ** 60;

export interface RawContainer {
  name: string;
  exists: boolean;
  dir: boolean;
  creating: boolean;
  created: boolean;
  configText: string;
  state?: string;
  pid?: number;
  ips: string[];
  image?: string;
  imageBytes?: number;
  loop?: string;
  fstype?: string;
  cg: Record<string, string>;
  fs?: { blocks: number; blockSize: number; type: string };
  hwaddr?: string;
  /** The token in the host's register for this name ("" = registered before tokens; undefined = not registered). */
  owner?: string;
}

export interface ReadOutput {
  facts: HostFacts;
  containers: Map<string, RawContainer>;
}

export function parseReadOutput(stdout: string): ReadOutput {
  const facts: HostFacts = { lxcPath: "/var/lib/lxc", cgroupVersion: 1, hostCpus: "0" };
  const containers = new Map<string, RawContainer>();
  let cur: RawContainer | undefined;
  const cfg: string[] = [];
  const flush = () => {
    if (cur) cur.configText = cfg.length ? cfg.join("\n") + "\n" : "";
    cfg.length = 0;
  };
  for (const line of stdout.split("\n")) {
    if (!line) continue;
    const tab = line.indexOf("\t");
    const tag = tab < 0 ? line : line.slice(0, tab);
    const rest = tab < 0 ? "" : line.slice(tab + 1);
    if (tag === "@host") {
      const [k, v = ""] = rest.split("\t");
      if (k === "lxcpath") facts.lxcPath = v;
      else if (k === "cgroup") facts.cgroupVersion = (v === "2" ? 2 : 1) as CgroupVersion;
      else if (k === "cpus") facts.hostCpus = v;
      continue;
    }
    if (tag === "@ct") {
      flush();
      cur = { name: rest, exists: false, dir: false, creating: false, created: false, configText: "", ips: [], cg: {} };
      containers.set(rest, cur);
      continue;
    }
    if (!cur) continue;
    switch (tag) {
      case "exists": cur.exists = true; break;
      case "dir": cur.dir = true; break;
      case "creating": cur.creating = true; break;
      case "created": cur.created = true; break;
      case "cfg": cfg.push(rest); break;
      case "state": cur.state = rest; break;
      case "pid": if (/^\d+$/.test(rest)) cur.pid = Number(rest); break;
      case "ip": if (rest) cur.ips.push(rest); break;
      case "image": cur.image = rest; break;
      case "imagebytes": if (/^\d+$/.test(rest)) cur.imageBytes = Number(rest); break;
      case "loop": cur.loop = rest; break;
      case "fstype": if (rest) cur.fstype = rest; break;
      case "hwaddr": if (rest) cur.hwaddr = rest.toLowerCase(); break;
      case "owner": cur.owner = rest.trim(); break;
      case "cg": {
        const [k, v = ""] = rest.split("\t");
        cur.cg[k] = v;
        break;
      }
      case "fs": {
        const [b, s, t] = rest.split(" ");
        if (b && s && t) cur.fs = { blocks: Number(b), blockSize: Number(s), type: t };
        break;
      }
    }
  }
  flush();
  return { facts, containers };
}

/** "268435456", "256M", "max", "-1" -> bytes or undefined (unlimited). */
export function parseBytes(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(-?\d+)\s*([KkMmGgTt]?)\s*$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]) * { "": 1, k: 1024, m: MiB, g: 1024 * MiB, t: MiB * MiB }[m[2].toLowerCase() as "" | "k" | "m" | "g" | "t"];
  return n < 0 || n >= UNLIMITED_BYTES ? undefined : n;
}

const toMiB = (b: number | undefined) => (b === undefined ? undefined : Math.floor(b / MiB));
const countCpus = (list: string | undefined) => {
  if (!list || !list.trim()) return undefined;
  try {
    return parseCpuList(list).length;
  } catch {
    return undefined;
  }
};

interface LimitValues {
  memoryMiB?: number;
  swapMiB?: number;
  cpus?: number;
  cpuQuotaPercent?: number;
  cpuShares?: number;
}

/** Limits from cgroup file values (live) keyed like the cgroup files. */
export function limitsFromCgroup(cg: Record<string, string>, v: CgroupVersion): LimitValues {
  const out: LimitValues = {};
  if (v === 1) {
    const mem = parseBytes(cg["memory.limit_in_bytes"]);
    const memsw = parseBytes(cg["memory.memsw.limit_in_bytes"]);
    out.memoryMiB = toMiB(mem);
    if (mem !== undefined && memsw !== undefined) out.swapMiB = toMiB(memsw - mem);
    out.cpus = countCpus(cg["cpuset.cpus"]);
    const q = Number(cg["cpu.cfs_quota_us"] ?? "-1");
    const p = Number(cg["cpu.cfs_period_us"] ?? CPU_PERIOD_US) || CPU_PERIOD_US;
    if (q > 0) out.cpuQuotaPercent = Math.round((q * 100) / p);
    if (cg["cpu.shares"] !== undefined && /^\d+$/.test(cg["cpu.shares"])) out.cpuShares = Number(cg["cpu.shares"]);
  } else {
    out.memoryMiB = toMiB(parseBytes(cg["memory.max"]));
    out.swapMiB = toMiB(parseBytes(cg["memory.swap.max"]));
    out.cpus = countCpus(cg["cpuset.cpus"] || cg["cpuset.cpus.effective"]);
    const [q, p] = (cg["cpu.max"] ?? "max").split(" ");
    if (q && q !== "max") out.cpuQuotaPercent = Math.round((Number(q) * 100) / (Number(p) || CPU_PERIOD_US));
    if (cg["cpu.weight"] !== undefined && /^\d+$/.test(cg["cpu.weight"])) out.cpuShares = weightToShares(Number(cg["cpu.weight"]));
  }
  return out;
}

/** Config entries "lxc.cgroup.X"/"lxc.cgroup2.X" as cgroup file values (last one wins, like LXC). */
export function cgroupValuesFromConfig(configText: string, v: CgroupVersion): Record<string, string> {
  const prefix = v === 1 ? "lxc.cgroup." : "lxc.cgroup2.";
  const cg: Record<string, string> = {};
  for (const [k, val] of parseConfig(configText)) if (k.startsWith(prefix)) cg[k.slice(prefix.length)] = val;
  if (v === 2 && cg["cpuset.cpus"] === undefined) delete cg["cpuset.cpus.effective"];
  return cg;
}

function lastValue(entries: [string, string][], key: string): string | undefined {
  let v: string | undefined;
  for (const [k, val] of entries) if (k === key) v = val;
  return v;
}

function templateFromConfig(configText: string): string | undefined {
  for (const line of configText.split("\n")) {
    if (line.startsWith(TEMPLATE_MARK)) return line.slice(TEMPLATE_MARK.length).trim();
  }
  const m = /^# Template used to create this container: .*\/lxc-([a-z0-9_-]+)\s*$/m.exec(configText);
  if (!m) return undefined;
  const r = /^# Parameters passed to the template:.*(?:-r|--release)[ =](\S+)/m.exec(configText);
  return m[1] === "debian" && r ? `debian:${r[1]}` : m[1];
}

export function toObserved(raw: RawContainer, facts: HostFacts): ContainerObserved | undefined {
  if (!raw.exists) return undefined;
  const entries = parseConfig(raw.configText);
  // FROZEN/STOPPING containers still have an init: they count as running (lxc-start would refuse them).
  const running = raw.pid !== undefined && raw.state !== undefined && raw.state !== "STOPPED";
  const live = running && Object.keys(raw.cg).length > 0;
  const limits = limitsFromCgroup(live ? raw.cg : cgroupValuesFromConfig(raw.configText, facts.cgroupVersion), facts.cgroupVersion);
  const cfgAddress = lastValue(entries, "lxc.net.0.ipv4.address")?.split(/\s+/)[0]; // "A/P [broadcast]"
  const liveIp = raw.ips[0];
  let address = cfgAddress;
  if (running && liveIp && cfgAddress?.split("/")[0] !== liveIp) address = cfgAddress ? `${liveIp}/${cfgAddress.split("/")[1]}` : liveIp;
  const fstype = raw.fs ? (raw.fs.type === "ext2/ext3" ? "ext4" : raw.fs.type) : raw.fstype;
  const o: ContainerObserved = {
    name: raw.name,
    running,
    state: raw.state,
    initPid: running ? raw.pid : undefined,
    ...limits,
    diskSizeMiB: toMiB(raw.imageBytes),
    fsSizeMiB: raw.fs && raw.image ? Math.floor((raw.fs.blocks * raw.fs.blockSize) / MiB) : undefined,
    fstype: raw.image ? fstype : undefined,
    loopImage: raw.image,
    loopDevice: raw.loop,
    autostart: lastValue(entries, "lxc.start.auto") === "1",
    address,
    ips: running ? raw.ips.filter((a) => !/^fe80:/i.test(a)) : undefined,
    hwaddr: (running ? raw.hwaddr : undefined) ?? lastValue(entries, "lxc.net.0.hwaddr")?.toLowerCase(),
    bridge: lastValue(entries, "lxc.net.0.link"),
    template: templateFromConfig(raw.configText),
    ownerToken: raw.owner,
  };
  for (const k of Object.keys(o) as (keyof ContainerObserved)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Whether a config was already written by us (the managed block is present). */
export function hasManagedBlock(configText: string): boolean {
  return configText.split("\n").includes(MANAGED_BEGIN);
}
