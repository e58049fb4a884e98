// Shared zod building blocks. Every error names the property and the allowed values,
// and every check here runs before any SSH command.
import { z } from "zod";

const UNIT_MIB: Record<string, number> = {
  m: 1, mi: 1, mib: 1, mb: 1e6 / 1048576,
  g: 1024, gi: 1024, gib: 1024, gb: 1e9 / 1048576,
  t: 1048576, ti: 1048576, tib: 1048576, tb: 1e12 / 1048576,
};
export const SIZE_HELP = 'a whole number of MiB (e.g. 512) or a string with a unit: "512MiB", "1.5GiB", "2G", "1TB" (MiB/GiB/TiB binary, MB/GB/TB decimal; M/G/T mean MiB/GiB/TiB)';

/** Parses a size into MiB; returns an error text instead of throwing. */
export function parseSizeMiB(v: unknown): number | string {
  if (typeof v === "number") {
    // A size is a whole, non-negative number of MiB; -1 is a typo, not "unlimited".
    if (!Number.isFinite(v) || !Number.isInteger(v) || v < 0) return `expected ${SIZE_HELP}; got ${v}`;
    return v;
  }
  if (typeof v !== "string") return `expected ${SIZE_HELP}; got ${typeof v}`;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)?\s*$/.exec(v);
  if (!m) return `expected ${SIZE_HELP}; got ${JSON.stringify(v)}`;
  const unit = (m[2] ?? "mib").toLowerCase();
  const factor = UNIT_MIB[unit];
  if (factor === undefined) return `unknown unit ${JSON.stringify(m[2])} in ${JSON.stringify(v)}; expected ${SIZE_HELP}`;
  return Math.ceil(Number(m[1]) * factor);
}

function describeValue(v: unknown): string {
  if (typeof v === "number") return String(v);
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v;
}

function showMiB(n: number): string {
  if (n >= 1048576 && n % 1048576 === 0) return `${n / 1048576} TiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} GiB`;
  return `${n} MiB`;
}

/** A size in MiB with bounds; accepts numbers (MiB) or unit strings. */
export function sizeMiB(min: number, max: number) {
  return z.union([z.number(), z.string()], { error: (i) => `expected ${SIZE_HELP}; got ${describeValue(i.input)}` }).transform((v, ctx) => {
    const r = parseSizeMiB(v);
    if (typeof r === "string") {
      ctx.addIssue({ code: "custom", message: r });
      return z.NEVER;
    }
    if (r < min || r > max) {
      ctx.addIssue({ code: "custom", message: `must be between ${showMiB(min)} and ${showMiB(max)}; got ${showMiB(r)} (sizes are ${SIZE_HELP})` });
      return z.NEVER;
    }
    return r;
  });
}

export function count(what: string, min: number, max: number) {
  return z
    .number({ error: `expected a whole number of ${what} from ${min} to ${max}` })
    .int({ error: `expected a whole number of ${what} from ${min} to ${max}` })
    .min(min, { error: `must be at least ${min} ${what}` })
    .max(max, { error: `must be at most ${max} ${what}` });
}

/** Names of machines: safe on the command line, in paths and in config files. */
export const machineName = z
  .string({ error: "expected a name: 1-63 characters, letters, digits and '-', starting with a letter or digit" })
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/, {
    error: "expected 1-63 characters of letters, digits and '-', starting with a letter or digit (no spaces, dots, slashes, quotes or shell characters)",
  });

/**
 * Why a name could address a machine other than the one it names: virsh resolves `--domain` as an ID first, then
 * a UUID, then a name, and xl takes an all-digit argument as a domid and "Domain-0" is dom0. Undefined when safe.
 */
export function nameAddressesOther(name: string): string | undefined {
  if (/^[0-9]+$/.test(name)) return "an all-digit name is read as a domain ID by virsh and xl";
  // virsh accepts a UUID as 32 hex digits with '-' anywhere between them.
  if (/^[0-9a-fA-F-]+$/.test(name) && name.replace(/-/g, "").length === 32) return "a UUID-shaped name (32 hex digits) is read as a domain UUID by virsh";
  if (name.toLowerCase() === "domain-0") return '"Domain-0" is the name of Xen\'s control domain';
  return undefined;
}

/** Guest (VM) names: a machine name that virsh and xl can only read as a name. */
export const guestName = machineName.superRefine((name, ctx) => {
  const why = nameAddressesOther(name);
  if (why) {
    ctx.addIssue({
      code: "custom",
      message: `${JSON.stringify(name)} cannot be a guest name: ${why}. Expected 1-63 characters of letters, digits and '-' that are not all digits, not a UUID and not "Domain-0" (e.g. "web-1")`,
    });
  }
});

/** Absolute paths on the host: no traversal, no shell or config metacharacters. */
export const hostPath = z
  .string({ error: "expected an absolute path on the host" })
  .regex(/^\/[A-Za-z0-9._+@\/-]*$/, {
    error: "expected an absolute path of letters, digits and . _ + @ / - only (no spaces, quotes, commas or shell characters)",
  })
  .refine((p) => !p.split("/").includes(".."), { error: "must not contain '..' (path traversal)" })
  .refine((p) => p.length <= 4096, { error: "path too long (max 4096)" });

export const bridgeName = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/, { error: "expected a Linux interface name: 1-15 letters, digits, '_', '.', '-'" });

/** A NIC's own address is unicast: the low bit of its first octet is clear (libvirt, xl and LXC refuse others). */
export function isUnicastMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 0;
}

export const macAddress = z
  .string()
  .regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, { error: 'expected a MAC address like "52:54:00:12:34:56"' })
  .refine(isUnicastMac, { error: 'expected a unicast MAC address (the first octet even), like "52:54:00:12:34:56"' })
  .transform((s) => s.toLowerCase());

/** mkfs.xfs refuses filesystems under 300 MiB. */
export const XFS_MIN_MIB = 300;

/**
 * Why a guest name cannot name a Xen domain beyond guestName's rules (which refuse "Domain-0" for every guest), or
 * undefined. The Xen driver applies it too.
 */
export function xenDomainNameProblem(name: string): string | undefined {
  return /^[A-Za-z]/.test(name) ? undefined : "a Xen domain name starts with a letter";
}

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
export const ipv4Address = z.string().regex(ipv4, { error: 'expected an IPv4 address like "10.0.0.5"' });
export const ipv4Cidr = z
  .string()
  .refine((s) => {
    const [a, p, ...rest] = s.split("/");
    return rest.length === 0 && ipv4.test(a ?? "") && /^(3[0-2]|[12]?\d)$/.test(p ?? "");
  }, { error: 'expected an IPv4 address with prefix length like "10.0.0.5/24"' });

/** Kernel command lines and similar free text that ends up in config files (not shell). */
export const safeText = (what: string, max = 1024) =>
  z
    .string()
    .max(max, { error: `${what} too long (max ${max} characters)` })
    .regex(/^[\x20-\x7e]*$/, { error: `${what} must be printable ASCII without newlines` })
    .refine((s) => !/["'\\`$;|&<>]/.test(s), { error: `${what} must not contain quotes, backslashes or shell characters (" ' \\ \` $ ; | & < >)` });

/** Turns a zod error into Pulumi check failures naming each property. */
export function zodFailures(err: z.ZodError, prefix = ""): { property: string; reason: string }[] {
  const at = (path: PropertyKey[]) => [prefix, ...path.map(String)].filter(Boolean).join(".") || "(input)";
  return err.issues.flatMap((i) => {
    // A misspelt or unsupported property is named itself, not its parent object (zod reports it on the parent).
    if (i.code === "unrecognized_keys") {
      return i.keys.map((k) => ({ property: at([...i.path, k]), reason: `unknown property "${k}": not an input here (check the spelling)` }));
    }
    // zod's own text for a bad record key is "Invalid key in record"; the key's validator says what is allowed.
    if (i.code === "invalid_key" && i.issues.length > 0) {
      return [{ property: at(i.path), reason: i.issues.map((n) => n.message).join("; ") }];
    }
    return [{ property: at(i.path), reason: i.message }];
  });
}

export function formatFailures(resource: string, failures: { property: string; reason: string }[]): string {
  return `${resource}: invalid input\n` + failures.map((f) => `  - ${f.property}: ${f.reason}`).join("\n");
}
