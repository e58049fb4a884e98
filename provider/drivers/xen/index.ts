// Xen paravirtualized (PV) guests driven with the `xl` toolstack over a Remote.
// Pure parts (capabilities, validation, xl config text, output parsing) come first so the planner
// and unit tests use them without a host; the I/O functions below them each cost one or two round trips.
import type { CapabilityTable } from "../../plan/types";
import { Remote, RemoteCommandError } from "../../ssh/types";

export const DEFAULT_CONFIG_DIR = "/etc/xen/pulumi-virt";
/** Where xenconsoled writes guest consoles when started with --log=guest (the lab dom0 does). */
export const CONSOLE_LOG_DIR = "/var/log/xen/console";
/** `xl create` builds the domain and (on busy TCG labs) may take minutes. */
const CREATE_TIMEOUT_MS = 15 * 60 * 1000;

// ---------------------------------------------------------------------------------------------
// Capabilities: what each change costs a running PV domain. Data, read by the planner and the docs.

export const xenCapabilities: CapabilityTable = {
  memoryMiB: {
    label: "memory (MiB)",
    grow: { action: "live", mechanism: "xl mem-set (balloon)" },
    shrink: { action: "live", mechanism: "xl mem-set (balloon)" },
    liveUpTo: "maxMemoryMiB",
    beyondLimit: { action: "restart", reason: "above maxmem, the reservation fixed when the domain is built" },
  },
  maxMemoryMiB: { label: "maximum memory (MiB)", change: { action: "restart", reason: "maxmem is fixed when the domain is built" } },
  vcpus: {
    label: "vCPUs",
    grow: { action: "live", mechanism: "xl vcpu-set" },
    // PV vCPUs are taken offline by the guest kernel through xenstore; no ACPI involved.
    shrink: { action: "live", mechanism: "xl vcpu-set" },
    liveUpTo: "maxVcpus",
    beyondLimit: { action: "restart", reason: "above maxvcpus, fixed when the domain is built" },
  },
  maxVcpus: { label: "maximum vCPUs", change: { action: "restart", reason: "maxvcpus is fixed when the domain is built" } },
  boot: { label: "boot (kernel/ramdisk/extra/bootloader)", change: { action: "restart", reason: "the PV kernel is loaded when the domain is built" } },
  diskSizeMiB: {
    label: "disk size (MiB)",
    // xl has no block-resize command; a new size reaches the guest when its disks are re-attached.
    grow: { action: "restart", reason: "xl cannot resize an attached disk; the guest sees the new size after a restart" },
    shrink: { action: "replace", reason: "disks cannot shrink; the disk would be recreated empty", destroysData: true },
  },
  disks: { label: "disks (added/removed/vdev/format)", change: { action: "restart", reason: "disks are attached when the domain is built" } },
  // Verified on Xen 4.17: `xl rename` on a running domain keeps its domid and uptime.
  name: { label: "name", change: { action: "live", mechanism: "xl rename" } },
  network: { label: "network (bridge/MAC)", change: { action: "restart", reason: "the vif is set up when the domain is built" } },
  running: { label: "running", change: { action: "live", mechanism: "xl create / xl shutdown" } },
  shutdownTimeoutSec: { label: "shutdown timeout (s)", change: { action: "live", mechanism: "provider setting only" } },
  configDir: { label: "config directory", change: { action: "live", mechanism: "the config file is rewritten" } },
};

// ---------------------------------------------------------------------------------------------
// Desired configuration.

export type XenBoot =
  | { kind: "kernel"; kernel: string; ramdisk?: string; extra?: string }
  | { kind: "bootloader"; bootloader: "pygrub" };

export interface XenDisk {
  /** Image file or block device in dom0. */
  path: string;
  /** Guest device name, e.g. "xvda". */
  vdev: string;
  /** When set and the file is missing, createDomain creates it with this size. */
  sizeMiB?: number;
  format?: "raw" | "qcow2";
}

export interface XenDomainSpec {
  name: string;
  vcpus: number;
  maxVcpus: number;
  memoryMiB: number;
  maxMemoryMiB: number;
  boot: XenBoot;
  disks: XenDisk[];
  network?: { bridge: string; mac?: string };
  running: boolean;
  shutdownTimeoutSec: number;
  /** Directory in dom0 for the domain's xl config file, e.g. /etc/xen/pulumi-virt. */
  configDir: string;
}

export class InvalidXenSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidXenSpecError";
  }
}

// xl treats an all-digit argument as a domid, so such names would address the wrong domain.
const NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const VDEV_RE = /^xvd[a-z]{1,2}$/;
const BRIDGE_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
// Paths go inside "..." in the config and, for disks, inside a comma-separated disk spec.
const PATH_RE = /^\/[A-Za-z0-9_.+@/-]*$/;

export function validateDomainName(name: string): void {
  if (typeof name !== "string" || !NAME_RE.test(name) || name === "Domain-0")
    throw new InvalidXenSpecError(
      `invalid Xen domain name ${JSON.stringify(name)}: use 1-64 characters [A-Za-z0-9_.-] starting with a letter (not "Domain-0")`,
    );
}

function validatePath(what: string, p: string): void {
  if (typeof p !== "string" || !PATH_RE.test(p) || p.split("/").includes(".."))
    throw new InvalidXenSpecError(
      `${what} ${JSON.stringify(p)} is not usable in an xl config: give an absolute path of [A-Za-z0-9_.+@/-] ` +
        `(no quotes, commas, spaces, backslashes, newlines or "..")`,
    );
}

function validateInt(what: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new InvalidXenSpecError(`${what} must be an integer from ${min} to ${max}, got ${v}`);
}

export function validateXenSpec(spec: XenDomainSpec): void {
  validateDomainName(spec.name);
  validateInt("vcpus", spec.vcpus, 1, 512);
  validateInt("maxVcpus", spec.maxVcpus, 1, 512);
  if (spec.vcpus > spec.maxVcpus) throw new InvalidXenSpecError(`vcpus (${spec.vcpus}) must not exceed maxVcpus (${spec.maxVcpus})`);
  validateInt("memoryMiB", spec.memoryMiB, 32, 16 * 1024 * 1024);
  validateInt("maxMemoryMiB", spec.maxMemoryMiB, 32, 16 * 1024 * 1024);
  if (spec.memoryMiB > spec.maxMemoryMiB)
    throw new InvalidXenSpecError(`memoryMiB (${spec.memoryMiB}) must not exceed maxMemoryMiB (${spec.maxMemoryMiB})`);
  validateInt("shutdownTimeoutSec", spec.shutdownTimeoutSec, 0, 3600);
  validatePath("configDir", spec.configDir);
  const boot = spec.boot;
  if (boot.kind === "kernel") {
    validatePath("boot.kernel", boot.kernel);
    if (boot.ramdisk !== undefined) validatePath("boot.ramdisk", boot.ramdisk);
    // The command line may hold spaces, "=" and ","; only what ends the "..." string or the line is refused.
    if (boot.extra !== undefined && (typeof boot.extra !== "string" || /["\\\x00-\x1f\x7f]/.test(boot.extra) || boot.extra.length > 1024))
      throw new InvalidXenSpecError(
        `boot.extra ${JSON.stringify(boot.extra)} cannot go into an xl config: remove double quotes, backslashes and control characters (newlines)`,
      );
  } else if (boot.kind === "bootloader") {
    if (boot.bootloader !== "pygrub") throw new InvalidXenSpecError(`boot.bootloader must be "pygrub", got ${JSON.stringify(boot.bootloader)}`);
    if (spec.disks.length === 0) throw new InvalidXenSpecError("boot with pygrub needs at least one disk holding the guest's /boot");
  } else {
    throw new InvalidXenSpecError(`boot.kind must be "kernel" or "bootloader"`);
  }
  const vdevs = new Set<string>();
  for (const d of spec.disks) {
    validatePath(`disk ${d.vdev} path`, d.path);
    if (typeof d.vdev !== "string" || !VDEV_RE.test(d.vdev))
      throw new InvalidXenSpecError(`disk vdev ${JSON.stringify(d.vdev)} must look like xvda, xvdb, ... (xvd + 1-2 letters)`);
    if (vdevs.has(d.vdev)) throw new InvalidXenSpecError(`disk vdev ${d.vdev} is used twice`);
    vdevs.add(d.vdev);
    if (d.format !== undefined && d.format !== "raw" && d.format !== "qcow2")
      throw new InvalidXenSpecError(`disk ${d.vdev} format must be "raw" or "qcow2"`);
    if (d.sizeMiB !== undefined) validateInt(`disk ${d.vdev} sizeMiB`, d.sizeMiB, 1, 64 * 1024 * 1024);
  }
  if (spec.network) {
    if (typeof spec.network.bridge !== "string" || !BRIDGE_RE.test(spec.network.bridge))
      throw new InvalidXenSpecError(`network.bridge ${JSON.stringify(spec.network.bridge)} must be an interface name of 1-15 [A-Za-z0-9_.-]`);
    const mac = spec.network.mac;
    if (mac !== undefined && (!MAC_RE.test(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1))
      throw new InvalidXenSpecError(`network.mac ${JSON.stringify(mac)} must be a unicast MAC like 00:16:3e:12:34:56`);
  }
}

export function configPath(configDir: string, name: string): string {
  return `${configDir.replace(/\/+$/, "")}/${name}.cfg`;
}

/** The file beside the config that holds the owning resource's token (ownership by identity, not by name). */
export function ownerPath(configDir: string, name: string): string {
  return `${configDir.replace(/\/+$/, "")}/${name}.owner`;
}

/** The domain's owner file holds another resource's token; nothing was changed. */
export class DomainOwnedElsewhereError extends Error {
  constructor(readonly domain: string) {
    super(`Xen domain ${domain} belongs to another pulumi-virt resource (its owner file holds another token)`);
    this.name = "DomainOwnedElsewhereError";
  }
}

/**
 * Writes the resource's token beside the domain's config: when there is none (a release before tokens) or it is
 * already this one, or, with force (adopt), over another resource's token.
 */
export async function claimDomain(remote: Remote, name: string, configDir: string, token: string, opts: { force?: boolean; current?: string } = {}): Promise<void> {
  validateDomainName(name);
  validatePath("configDir", configDir);
  if (!/^[0-9a-f]{16,64}$/.test(token)) throw new InvalidXenSpecError(`invalid owner token for Xen domain ${name}`);
  const current = opts.current !== undefined ? opts.current : (await readDomain(remote, name, configDir)).ownerToken;
  if (current === token) return;
  if (current && !opts.force) throw new DomainOwnedElsewhereError(name);
  await remote.exec(["mkdir", "-p", configDir], { step: `create ${configDir}` });
  await remote.upload(ownerPath(configDir, name), `${token}\n`, { mode: 0o600 });
}

/** The console log xenconsoled writes; named after the domain's name when the console was first opened. */
export function consoleLogPath(name: string): string {
  return `${CONSOLE_LOG_DIR}/guest-${name}.log`;
}

/** xl domain config text for a PV domain. Validates first: no value can break out of its quotes or list item. */
export function renderXlConfig(spec: XenDomainSpec): string {
  validateXenSpec(spec);
  const q = (s: string) => `"${s}"`;
  const lines = [
    "# Managed by pulumi-virt: rewritten on every change, read by `xl create` at the next start.",
    `type = "pv"`,
    `name = ${q(spec.name)}`,
    `memory = ${spec.memoryMiB}`,
    `maxmem = ${spec.maxMemoryMiB}`,
    `vcpus = ${spec.vcpus}`,
    `maxvcpus = ${spec.maxVcpus}`,
  ];
  if (spec.boot.kind === "kernel") {
    lines.push(`kernel = ${q(spec.boot.kernel)}`);
    if (spec.boot.ramdisk) lines.push(`ramdisk = ${q(spec.boot.ramdisk)}`);
    if (spec.boot.extra !== undefined) lines.push(`extra = ${q(spec.boot.extra)}`);
  } else {
    lines.push(`bootloader = ${q(spec.boot.bootloader)}`);
  }
  const disks = spec.disks.map((d) => q(`format=${d.format ?? "raw"}, vdev=${d.vdev}, access=rw, target=${d.path}`));
  lines.push(`disk = [ ${disks.join(", ")} ]`);
  if (spec.network) {
    const vif = [`bridge=${spec.network.bridge}`, ...(spec.network.mac ? [`mac=${spec.network.mac.toLowerCase()}`] : [])].join(",");
    lines.push(`vif = [ ${q(vif)} ]`);
  } else {
    lines.push(`vif = [ ]`);
  }
  lines.push(`on_poweroff = "destroy"`, `on_reboot = "restart"`, `on_crash = "destroy"`);
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// Observed state.

export type XenDomainState = "running" | "blocked" | "paused" | "shutdown" | "crashed" | "dying" | "absent";

export interface XenDomainObserved {
  name: string;
  exists: boolean;
  domid?: number;
  state: XenDomainState;
  /** Balloon target set at create or by `xl mem-set` (what the planner compares). */
  memoryMiB?: number;
  /** Memory the domain holds right now (`xl list`); lags the target while the balloon moves. */
  actualMemoryMiB?: number;
  maxMemoryMiB?: number;
  /** vCPUs online. */
  vcpus?: number;
  maxVcpus?: number;
  uptimeSec?: number;
  kernel?: string;
  ramdisk?: string;
  extra?: string;
  bootloader?: string;
  /** Whether the provider's config file for this name exists in configDir. */
  configPresent: boolean;
  /** Its text, when present (what the next `xl create` would use). */
  configText?: string;
  /** The owning resource's token, from the file beside the config (absent: a release before tokens, or not ours). */
  ownerToken?: string;
}

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
  return obs;
}

// ---------------------------------------------------------------------------------------------
// I/O. Fixed scripts; user data arrives only as positional parameters.

const READ_SCRIPT = `
n="$1"; cfg="$2"
if [ -f "$cfg" ]; then echo @@config; cat "$cfg"; fi
if [ -f "\${cfg%.cfg}.owner" ]; then echo @@owner; cat "\${cfg%.cfg}.owner"; fi
if ! out=$(xl list "$n" 2>&1); then
  case "$out" in *"invalid domain identifier"*) echo @@absent; exit 0;; esac
  echo @@error; printf '%s\\n' "$out"; exit 0
fi
echo @@list; printf '%s\\n' "$out"
echo @@long; xl list -l "$n"
echo @@uptime; xl uptime "$n"
`;

/** Domain state in one round trip: `xl list`, `xl list -l` (JSON), `xl uptime`, and the saved config. */
export async function readDomain(remote: Remote, name: string, configDir: string = DEFAULT_CONFIG_DIR): Promise<XenDomainObserved> {
  validateDomainName(name);
  validatePath("configDir", configDir);
  const r = await remote.script(READ_SCRIPT, [name, configPath(configDir, name)], { step: `read Xen domain ${name}`, coalesce: true });
  return parseReadOutput(name, r.stdout);
}

async function writeConfig(remote: Remote, spec: XenDomainSpec): Promise<string> {
  const text = renderXlConfig(spec);
  await remote.exec(["mkdir", "-p", spec.configDir], { step: `create ${spec.configDir}` });
  const path = configPath(spec.configDir, spec.name);
  await remote.upload(path, text, { mode: 0o644 });
  return path;
}

// Creates missing disk images (never touches existing ones), then starts the domain unless a domain
// of that name already runs (adopt) or the spec wants it stopped.
const CREATE_SCRIPT = `
set -e
n="$1"; cfg="$2"; run="$3"; shift 3
if xl domid "$n" >/dev/null 2>&1; then echo adopted; exit 0; fi
while [ $# -ge 3 ]; do
  p="$1"; fmt="$2"; size="$3"; shift 3
  [ -e "$p" ] && continue
  [ -n "$size" ] || { echo "disk image $p does not exist and no size was given to create it" >&2; exit 2; }
  mkdir -p "$(dirname "$p")"
  if [ "$fmt" = qcow2 ]; then qemu-img create -q -f qcow2 "$p" "\${size}M"; else truncate -s "\${size}M" "$p"; fi
done
if [ "$run" = 1 ]; then xl create -q "$cfg" >&2; echo created; else echo defined; fi
`;

export type CreateOutcome = "created" | "adopted" | "defined";

/** Write the config and start the domain. Idempotent: a running domain of that name is adopted as is. */
export async function createDomain(remote: Remote, spec: XenDomainSpec): Promise<{ outcome: CreateOutcome; observed: XenDomainObserved }> {
  const cfg = await writeConfig(remote, spec);
  const diskArgs = spec.disks.flatMap((d) => [d.path, d.format ?? "raw", d.sizeMiB === undefined ? "" : String(d.sizeMiB)]);
  const r = await remote.script(CREATE_SCRIPT, [spec.name, cfg, spec.running ? "1" : "0", ...diskArgs], {
    step: `create Xen domain ${spec.name}`,
    timeoutMs: CREATE_TIMEOUT_MS,
  });
  const outcome = r.stdout.trim().split("\n").pop() as CreateOutcome;
  return { outcome, observed: await readDomain(remote, spec.name, spec.configDir) };
}

export interface XenLiveChange {
  memoryMiB?: number;
  vcpus?: number;
  /** New name (`xl rename`); spec.name must equal it. */
  name?: string;
}

/** How long applyLive waits for the guest to bring its vCPUs on or offline: polls of 0.5 s (30 s). */
const VCPU_SETTLE_POLLS = 60;

const LIVE_SCRIPT = `
set -e
n="$1"; mem="$2"; cpus="$3"; new="$4"
xl domid "$n" >/dev/null
[ -z "$mem" ] || xl mem-set "$n" "\${mem}m"
if [ -n "$cpus" ]; then
  xl vcpu-set "$n" "$cpus"
  # The guest kernel brings the vCPUs on or offline itself (xenstore cpu/N/availability), and xl list counts the
  # ones it has. Wait for it (bounded: a guest that never acts is reported as it is, and shows as drift).
  i=0
  while [ "$(xl list "$n" 2>/dev/null | awk -v n="$n" '$1 == n { print $4 }')" != "$cpus" ] && [ "$i" -lt ${VCPU_SETTLE_POLLS} ]; do
    sleep 0.5; i=$((i + 1))
  done
fi
[ -z "$new" ] || xl rename "$n" "$new"
`;

/**
 * Apply memory / vCPU / name changes to a running domain without restarting it, then rewrite the
 * saved config (from spec, which holds the new values) so the next start keeps them.
 */
export async function applyLive(remote: Remote, name: string, spec: XenDomainSpec, change: XenLiveChange): Promise<XenDomainObserved> {
  validateDomainName(name);
  validateXenSpec(spec);
  if (change.name !== undefined) {
    validateDomainName(change.name);
    if (change.name !== spec.name) throw new InvalidXenSpecError(`applyLive: change.name (${change.name}) must equal spec.name (${spec.name})`);
  }
  if (change.memoryMiB !== undefined) {
    validateInt("memoryMiB", change.memoryMiB, 32, spec.maxMemoryMiB);
    if (change.memoryMiB !== spec.memoryMiB) throw new InvalidXenSpecError("applyLive: change.memoryMiB must equal spec.memoryMiB");
  }
  if (change.vcpus !== undefined) {
    validateInt("vcpus", change.vcpus, 1, spec.maxVcpus);
    if (change.vcpus !== spec.vcpus) throw new InvalidXenSpecError("applyLive: change.vcpus must equal spec.vcpus");
  }
  // The running domain's ceilings, not the spec's, bound what xl can do live.
  const cur = await readDomain(remote, name, spec.configDir);
  if (!cur.exists) throw new Error(`Xen domain ${name} is not running on ${remote.label}: start it (createDomain) instead of changing it live`);
  if (change.memoryMiB !== undefined && cur.maxMemoryMiB !== undefined && change.memoryMiB > cur.maxMemoryMiB)
    throw new Error(`domain ${name}: ${change.memoryMiB} MiB is above its maxmem ${cur.maxMemoryMiB} MiB; that needs restartWithConfig`);
  if (change.vcpus !== undefined && cur.maxVcpus !== undefined && change.vcpus > cur.maxVcpus)
    throw new Error(`domain ${name}: ${change.vcpus} vCPUs is above its maxvcpus ${cur.maxVcpus}; that needs restartWithConfig`);
  const renaming = change.name !== undefined && change.name !== name;
  await remote.script(
    LIVE_SCRIPT,
    [name, change.memoryMiB === undefined ? "" : String(change.memoryMiB), change.vcpus === undefined ? "" : String(change.vcpus), renaming ? spec.name : ""],
    { step: `change Xen domain ${name} live` },
  );
  await writeConfig(remote, spec);
  if (renaming) {
    await remote.exec(["rm", "-f", configPath(spec.configDir, name)], { step: `remove old config of ${name}` });
    // The owner's token moves with the domain.
    await remote.script('[ ! -f "$1" ] || mv -f -- "$1" "$2"', [ownerPath(spec.configDir, name), ownerPath(spec.configDir, spec.name)], { step: `move owner of ${name}` });
  }
  return readDomain(remote, spec.name, spec.configDir);
}

export type ShutdownOutcome = "graceful" | "destroyed" | "already-off";

// `xl shutdown -w` asks the guest kernel (xenstore control/shutdown) and waits until the domain is gone.
const SHUTDOWN_SCRIPT = `
n="$1"; t="$2"
xl domid "$n" >/dev/null 2>&1 || { echo already-off; exit 0; }
if [ "$t" -gt 0 ] && timeout "$t" xl shutdown -w "$n" >/dev/null 2>&1; then echo graceful; exit 0; fi
xl domid "$n" >/dev/null 2>&1 || { echo graceful; exit 0; }
xl destroy "$n"
echo destroyed
`;

/** Graceful PV shutdown with a timeout, then `xl destroy`. */
export async function shutdownDomain(remote: Remote, name: string, timeoutSec: number): Promise<ShutdownOutcome> {
  validateDomainName(name);
  const t = Math.max(0, Math.floor(timeoutSec));
  const r = await remote.script(SHUTDOWN_SCRIPT, [name, String(t)], { step: `shut down Xen domain ${name}`, timeoutMs: (t + 300) * 1000 });
  return r.stdout.trim().split("\n").pop() as ShutdownOutcome;
}

/** Stop the domain (gracefully, within spec.shutdownTimeoutSec) and build it again from the new config. */
export async function restartWithConfig(remote: Remote, spec: XenDomainSpec): Promise<{ stopped: ShutdownOutcome; observed: XenDomainObserved }> {
  await writeConfig(remote, spec);
  const stopped = await shutdownDomain(remote, spec.name, spec.shutdownTimeoutSec);
  if (!spec.running) return { stopped, observed: await readDomain(remote, spec.name, spec.configDir) };
  const { observed } = await createDomain(remote, spec);
  return { stopped, observed };
}

/** Pull the plug and remove the saved config. Disk images are left alone. */
export async function destroyDomain(remote: Remote, name: string, configDir: string = DEFAULT_CONFIG_DIR): Promise<"destroyed" | "absent"> {
  validateDomainName(name);
  validatePath("configDir", configDir);
  const r = await remote.script(
    `n="$1"; cfg="$2"; own="$3"
if xl domid "$n" >/dev/null 2>&1; then xl destroy "$n" || exit 1; echo destroyed; else echo absent; fi
rm -f "$cfg" "$own"`,
    [name, configPath(configDir, name), ownerPath(configDir, name)],
    { step: `destroy Xen domain ${name}` },
  );
  return r.stdout.trim().split("\n").pop() as "destroyed" | "absent";
}

// ---------------------------------------------------------------------------------------------
// Host facts.

export interface XenHostFacts {
  /** This host is Xen's control domain (dom0): /proc/xen/capabilities says control_d and xl answers. */
  dom0: boolean;
  xenVersion?: string;
  freeMemoryMiB?: number;
  totalMemoryMiB?: number;
  nrCpus?: number;
  /** From `xl info` virt_caps, e.g. ["pv", "hvm", "hap"]. */
  virtCaps: string[];
  /** Why dom0 is false, for the user. */
  problem?: string;
}

const VERIFY_SCRIPT = `
echo @@caps; cat /proc/xen/capabilities 2>/dev/null
if command -v xl >/dev/null 2>&1; then echo @@info; xl info 2>&1; rc=$?; echo @@rc; echo "$rc"; else echo @@noxl; fi
`;

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

/** Whether the host is a usable Xen dom0, and its capacity, in one round trip. */
export async function verifyXen(remote: Remote): Promise<XenHostFacts> {
  const r = await remote.script(VERIFY_SCRIPT, [], { step: "verify Xen", coalesce: true });
  return parseVerifyOutput(r.stdout);
}

// ---------------------------------------------------------------------------------------------
// Is a kernel image bootable as a Xen PV guest?
//
// A PV-capable Linux kernel carries ELF notes named "Xen"; XEN_ELFNOTE_ENTRY (type 1) holds the PV
// entry point (startup_xen), which is what the domain builder jumps to. A bzImage hides the ELF
// (vmlinux) inside a compressed payload, located by the boot-protocol header: setup_sects at 0x1f1,
// "HdrS" at 0x202, payload_offset / payload_length at 0x248 / 0x24c (offset counted from the end of
// the real-mode setup, (setup_sects+1)*512). The script decompresses that payload on the host (only
// a verdict comes back, not 40 MB of vmlinux) and searches for the note header bytes
// namesz=4, descsz=4|8, type=1, "Xen\0". A raw ELF vmlinux is searched directly.

const KERNEL_PROBE_SCRIPT = `
k="$1"
[ -r "$k" ] || { echo "format=missing"; exit 0; }
hex() { od -An -tx1 -j "$1" -N "$2" "$k" | tr -d ' \\n'; }
u32() { od -An -tu4 -j "$1" -N 4 "$k" | tr -d ' \\n'; }
pat='\\x04\\x00\\x00\\x00[\\x04\\x08]\\x00\\x00\\x00\\x01\\x00\\x00\\x00Xen\\x00'
count() { LC_ALL=C grep -c -a -P "$pat"; }
if [ "$(hex 0 4)" = 7f454c46 ]; then
  echo "format=elf"; echo "compression=none"; echo "elf=yes"; echo "notes=$(count < "$k")"; exit 0
fi
if [ "$(hex 514 4)" != 48647253 ]; then echo "format=unknown"; exit 0; fi
echo "format=bzImage"
ss=$(od -An -tu1 -j 497 -N 1 "$k" | tr -d ' ')
po=$(u32 584); pl=$(u32 588)
[ "$ss" = 0 ] && ss=4
start=$(( (ss + 1) * 512 + po ))
magic=$(hex "$start" 6)
case "$magic" in
  1f8b*) c=gzip; d="gzip -dc";;
  fd377a585a00) c=xz; d="xz -dc";;
  28b52ffd*) c=zstd; d="zstd -dcq";;
  5d00*) c=lzma; d="xz --format=lzma -dc";;
  425a68*) c=bzip2; d="bzip2 -dc";;
  02214c18*) c=lz4; d="lz4 -dcq";;
  *) echo "compression=unknown:$magic"; exit 0;;
esac
echo "compression=$c"
command -v "\${d%% *}" >/dev/null 2>&1 || { echo "missing=\${d%% *}"; exit 0; }
tail -c +"$((start + 1))" "$k" | head -c "$pl" | $d 2>/dev/null | {
  m=$(dd bs=1 count=4 2>/dev/null | od -An -tx1 | tr -d ' \\n')
  [ "$m" = 7f454c46 ] && echo elf=yes || echo elf=no
  echo "notes=$(count)"
}
`;

export interface KernelPvProbe {
  capable: boolean;
  format: "bzImage" | "elf" | "unknown" | "missing";
  compression?: string;
  /** Human explanation of the verdict. */
  reason: string;
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
  if (kv.get("elf") !== "yes") return { ...base, capable: false, reason: `${path}: the payload does not decompress to an ELF kernel` };
  const notes = Number(kv.get("notes") ?? "0");
  return notes > 0
    ? { ...base, capable: true, reason: `${path} has a Xen PV entry point (ELF note "Xen", XEN_ELFNOTE_ENTRY)` }
    : { ...base, capable: false, reason: `${path} has no Xen PV entry note: it was built without CONFIG_XEN_PV` };
}

/** Decide on the host whether kernelPath can boot as a PV domU (see the comment above the script). */
export async function kernelIsXenPvCapable(remote: Remote, kernelPath: string): Promise<KernelPvProbe> {
  validatePath("kernel", kernelPath);
  const r = await remote.script(KERNEL_PROBE_SCRIPT, [kernelPath], { step: `inspect kernel ${kernelPath}`, timeoutMs: 600_000 });
  return parseKernelProbe(kernelPath, r.stdout);
}

export { RemoteCommandError };
