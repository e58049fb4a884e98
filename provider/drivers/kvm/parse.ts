// Parsers of virsh output: pure, so unit tests feed them recorded text.
import { XMLParser } from "fast-xml-parser";
import { addressesByMac } from "./network";
import type { GuestObserved, GuestState, ObservedDisk, QemuImageInfo } from "./types";

const MiB = 1024 * 1024;

export const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (tag) => ["disk", "interface", "dataDisk", "domain"].includes(tag),
});

export function sections(out: string): Record<string, string> {
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

export const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** An element as fast-xml-parser returns it: attributes ("@_name"), child elements, text ("#text"). */
export type XmlElement = { readonly [key: string]: unknown };

/** The child element `name` (the first, when repeated). */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  const v = el?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first && typeof first === "object" ? (first as XmlElement) : undefined;
}

/** Every child element `name`. */
export function children(el: XmlElement | undefined, name: string): XmlElement[] {
  return asArray(el?.[name]).filter((v): v is XmlElement => !!v && typeof v === "object");
}

export function attr(el: XmlElement | undefined, name: string): string | undefined {
  const v = el?.[`@_${name}`];
  return typeof v === "string" ? v : undefined;
}
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
  const xml: XmlElement = xmlParser.parse(s.xml ?? "");
  const dom = child(xml, "domain");
  const os = child(dom, "os");
  const devices = child(dom, "devices");

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
  const disks: ObservedDisk[] = children(devices, "disk").map((d) => {
    const target = attr(child(d, "target"), "dev") ?? "";
    const bus = attr(child(d, "target"), "bus");
    const backingFile = attr(child(child(d, "backingStore"), "source"), "file");
    return {
      target,
      device: attr(d, "device") ?? "disk",
      path: attr(child(d, "source"), "file") ?? attr(child(d, "source"), "dev") ?? "",
      sizeMiB: sizes[target] !== undefined ? Math.round(sizes[target] / MiB) : 0,
      ...(bus ? { bus } : {}),
      ...(backingFile ? { backingFile } : {}),
    };
  });
  const nic = child(devices, "interface");
  const nics = children(devices, "interface").map((i) => ({ mac: (attr(child(i, "mac"), "address") ?? "").toLowerCase(), bridge: attr(child(i, "source"), "bridge") ?? "" }));
  const seen = addressesByMac(s.leases ?? "", s.neigh ?? "", s.domifaddr ?? "", nics.map((n) => n.mac), /^\d+$/.test((s.now ?? "").trim()) ? Number(s.now!.trim()) : undefined);
  const meta = child(child(dom, "metadata"), "pv:guest");
  const dataDiskPaths: Record<string, string> = {};
  for (const d of children(meta, "pv:dataDisk")) dataDiskPaths[attr(d, "name") ?? ""] = text(d) ?? "";
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
    mac: attr(child(nic, "mac"), "address"),
    bridge: attr(child(nic, "source"), "bridge"),
    interfaces: nics.map((n) => ({ ...n, addresses: [...(seen.get(n.mac) ?? [])].sort() })),
    autostart: info["Autostart"] === "enable",
    emulated: attr(dom, "type") === "qemu",
    kernel: text(os?.kernel),
    initrd: text(os?.initrd),
    cmdline: text(os?.cmdline),
    firmware: attr(os, "firmware") ?? (os?.loader ? "custom" : os?.kernel ? undefined : "bios"),
    rootDiskPath: text(meta?.["pv:rootDisk"]),
    baseImage: text(meta?.["pv:baseImage"]),
    storageGuestDir: text(meta?.["pv:dir"]),
    consoleLog: text(meta?.["pv:consoleLog"]),
    seedIso: text(meta?.["pv:seedIso"]),
    dataDiskPaths,
    ownerToken: text(child(dom, "metadata")?.["pvo:owner"])?.trim() || undefined,
  };
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
  const o = v as { format?: unknown; "virtual-size"?: unknown; "full-backing-filename"?: unknown; "backing-filename"?: unknown; "backing-filename-format"?: unknown };
  if (!o || typeof o !== "object" || typeof o.format !== "string" || !/^[a-z0-9]+$/.test(o.format) || typeof o["virtual-size"] !== "number" || !Number.isSafeInteger(o["virtual-size"])) {
    throw new Error(`qemu-img info of ${what} has no format or virtual-size`);
  }
  const backing = o["full-backing-filename"] ?? o["backing-filename"];
  const backingFormat = o["backing-filename-format"];
  return {
    format: o.format,
    virtualSize: o["virtual-size"],
    ...(typeof backing === "string" && backing.startsWith("/") ? { backingFile: backing } : {}),
    ...(typeof backing === "string" && backing.startsWith("/") && typeof backingFormat === "string" && /^[a-z0-9]+$/.test(backingFormat) ? { backingFormat } : {}),
  };
}
