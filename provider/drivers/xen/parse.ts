// Parsers of xl and probe output: pure, so unit tests feed them recorded text.
import { addressesByMac } from "../kvm/network";
import type { KernelPvProbe, XenDomainObserved, XenDomainState, XenHostFacts } from "./types";

/** Flags column of `xl list`: r b p s c d. */
export function parseStateFlags(flags: string): XenDomainState {
  if (flags.includes("d")) return "dying";
  if (flags.includes("c")) return "crashed";
  if (flags.includes("s")) return "shutdown";
  if (flags.includes("p")) return "paused";
  if (flags.includes("r")) return "running";
  return "blocked";
}

/** `xl uptime` prints "[D day(s), ]H:MM:SS". */
export function parseUptime(text: string): number | undefined {
  const m = /(?:(\d+)\s+days?,\s*)?(\d+):(\d{2}):(\d{2})\s*$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1] ?? 0) * 86400 + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

function sections(out: string): Map<string, string> {
  const map = new Map<string, string>();
  let cur = "";
  for (const line of out.split("\n")) {
    const m = /^@@([a-z]+)$/.exec(line);
    if (m) {
      cur = m[1];
      map.set(cur, "");
    } else if (cur) map.set(cur, map.get(cur) + line + "\n");
  }
  return map;
}

/** Parse the output of READ_SCRIPT. Exported for unit tests. */
export function parseReadOutput(name: string, out: string): XenDomainObserved {
  const s = sections(out);
  const configText = s.get("config");
  const base: XenDomainObserved = { name, exists: false, state: "absent", configPresent: configText !== undefined };
  if (configText !== undefined) base.configText = configText;
  const owner = s.get("owner")?.trim();
  if (owner) base.ownerToken = owner;
  if (s.has("absent")) return base;
  const err = s.get("error");
  if (err !== undefined) throw new Error(`xl cannot read domain ${name}: ${err.trim()}`);
  // xl list NAME: header line, then "name id mem vcpus state time". xl's stderr is captured too (for the error
  // case), so libxl warnings may surround the row: take the line that starts with the domain's name.
  const listText = s.get("list") ?? "";
  const row = listText.split("\n").find((l) => l.trim().split(/\s+/)[0] === name) ?? "";
  const cols = row.trim().split(/\s+/);
  if (cols.length < 6) throw new Error(`unexpected \`xl list ${name}\` output: ${JSON.stringify(listText.trim().slice(-600))}`);
  const obs: XenDomainObserved = {
    ...base,
    exists: true,
    domid: Number(cols[1]),
    actualMemoryMiB: Number(cols[2]),
    vcpus: Number(cols[3]),
    state: parseStateFlags(cols[4]),
  };
  const long = s.get("long");
  if (long && long.trim()) {
    const arr = JSON.parse(long) as { domid: number; config?: { b_info?: Record<string, unknown> } }[];
    const b = arr[0]?.config?.b_info ?? {};
    if (typeof b.target_memkb === "number") obs.memoryMiB = Math.round(b.target_memkb / 1024);
    if (typeof b.max_memkb === "number") obs.maxMemoryMiB = Math.round(b.max_memkb / 1024);
    if (typeof b.max_vcpus === "number") obs.maxVcpus = b.max_vcpus;
    if (typeof b.kernel === "string") obs.kernel = b.kernel;
    if (typeof b.ramdisk === "string") obs.ramdisk = b.ramdisk;
    if (typeof b.cmdline === "string") obs.extra = b.cmdline;
    const pv = (b["type.pv"] ?? {}) as Record<string, unknown>;
    if (typeof pv.bootloader === "string") obs.bootloader = pv.bootloader;
  }
  const up = parseUptime((s.get("uptime") ?? "").trim().split("\n").pop() ?? "");
  if (up !== undefined) obs.uptimeSec = up;
  if (s.has("vifs")) {
    const macs = parseNetworkList(s.get("vifs") ?? "");
    const seen = addressesByMac(s.get("leases") ?? "", s.get("neigh") ?? "", "", macs);
    obs.interfaces = macs.map((mac) => ({ mac, addresses: [...(seen.get(mac) ?? [])].sort() }));
  }
  return obs;
}

/** MACs of `xl network-list` rows (Idx BE Mac-Addr handle state evt-ch tx/rx-ring-ref BE-path), lower case. */
export function parseNetworkList(text: string): string[] {
  const macs: string[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 3 && /^\d+$/.test(f[0]) && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(f[2])) macs.push(f[2].toLowerCase());
  }
  return macs;
}

export function parseVerifyOutput(out: string): XenHostFacts {
  const s = sections(out);
  const capsText = (s.get("caps") ?? "").trim();
  const controlD = capsText.split(/[\s,]+/).includes("control_d");
  const info = new Map<string, string>();
  for (const line of (s.get("info") ?? "").split("\n")) {
    const m = /^([a-z_]+)\s*:\s*(.*)$/.exec(line);
    if (m) info.set(m[1], m[2].trim());
  }
  const infoOk = (s.get("rc") ?? "").trim() === "0" && info.has("xen_major");
  const facts: XenHostFacts = { dom0: controlD && infoOk, virtCaps: (info.get("virt_caps") ?? "").split(/\s+/).filter(Boolean) };
  if (info.has("xen_major")) facts.xenVersion = `${info.get("xen_major")}.${info.get("xen_minor")}${info.get("xen_extra") ?? ""}`;
  const num = (k: string) => (info.has(k) && /^\d+$/.test(info.get(k)!) ? Number(info.get(k)) : undefined);
  facts.freeMemoryMiB = num("free_memory");
  facts.totalMemoryMiB = num("total_memory");
  facts.nrCpus = num("nr_cpus");
  if (!facts.dom0) {
    facts.problem = s.has("noxl")
      ? "xl is not installed (Debian: apt-get install xen-utils-4.17) and this is not a Xen dom0"
      : !controlD
        ? "not running as Xen dom0 (/proc/xen/capabilities lacks control_d): boot the host into the Xen hypervisor"
        : `xl info failed: ${(s.get("info") ?? "").trim().split("\n").slice(-2).join(" ")} (is xenstored running?)`;
  }
  return facts;
}

export function parseKernelProbe(path: string, out: string): KernelPvProbe {
  const kv = new Map<string, string>();
  for (const line of out.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const format = (kv.get("format") ?? "unknown") as KernelPvProbe["format"];
  const compression = kv.get("compression");
  const base = { format, ...(compression ? { compression } : {}) };
  if (format === "missing") return { ...base, capable: false, reason: `${path} does not exist or is not readable` };
  if (format === "unknown") return { ...base, capable: false, reason: `${path} is neither a Linux bzImage nor an ELF kernel` };
  if (kv.has("missing"))
    throw new Error(`cannot inspect ${path}: its payload is ${compression}-compressed and '${kv.get("missing")}' is not installed on the host`);
  if (compression?.startsWith("unknown")) return { ...base, capable: false, reason: `${path}: unrecognised payload compression (${compression})` };
  if (kv.has("error")) throw new Error(`cannot inspect ${path} on the host: ${kv.get("error")}; nothing was changed (try again)`);
  if (kv.get("elf") !== "yes") return { ...base, capable: false, reason: `${path}: the payload does not decompress to an ELF kernel` };
  const notes = Number(kv.get("notes") ?? "0");
  return notes > 0
    ? { ...base, capable: true, reason: `${path} has a Xen PV entry point (ELF note "Xen", XEN_ELFNOTE_ENTRY)` }
    : { ...base, capable: false, reason: `${path} has no Xen PV entry note: it was built without CONFIG_XEN_PV` };
}
