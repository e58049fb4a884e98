// `pulumi import` of an existing container or guest: the engine reads it by ID alone, with no state, so the ID names
// a host of the provider's `hosts` configuration and the machine on it:
//   virt:index:Container  <host>/<name>          (an lxc container)
//   virt:index:Guest      <host>/<kvm|xen>/<name>
// The host comes from the provider's config, `pulumi config set --secret virt:hosts '{"h1": {"connection": {...},
// "bridge": "br0"}}'`: a Host's connection and the settings of the Hypervisor on it (bridge, storageDir, overcommit;
// their defaults when absent). Its facts are read now, so the imported machine's `hypervisor` equals the `ref` of that
// Hypervisor when the program declares the same connection and settings: preview then shows no change.
import { hostArgsSchema } from "../models/host";
import { DEFAULT_BRIDGE, DEFAULT_STORAGE_DIR, effectiveOvercommit, hypervisorArgsSchema, HypervisorKind, HypervisorRef } from "../models/hypervisor";
import { zodFailures } from "../models/common";
import * as hostImpl from "../resources/impl/host";
import type { HostRef } from "../models/host";
import type { ResourceName } from "./schema";
import { unwrapSecrets } from "./wire";

let hostsConfig: Record<string, unknown> = {};

/**
 * The provider's configuration from Configure: `args` (typed values, secrets wrapped) or, from older engines,
 * `variables` (`virt:config:<key>` → JSON text).
 */
export function configureProvider(variables: Record<string, string>, args: Record<string, unknown> | undefined): void {
  const raw: unknown = args && args.hosts !== undefined ? unwrapSecrets(args.hosts) : variables["virt:config:hosts"];
  if (raw === undefined) return;
  let parsed: unknown = raw;
  if (typeof raw === "string") {
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new Error("virt:hosts must be a JSON object: host name → {connection, bridge, storageDir}");
    }
  }
  hostsConfig = parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
}

const GUEST_KINDS: readonly HypervisorKind[] = ["kvm", "xen"];

/** The hypervisor and machine name an import ID names (see the file comment). */
export async function importTarget(resource: ResourceName, id: string): Promise<{ hypervisor: HypervisorRef; name: string }> {
  const parts = id.split("/");
  let hostName: string | undefined;
  let kind: HypervisorKind | undefined;
  let name: string | undefined;
  if (resource === "Container" && parts.length === 2) [hostName, name, kind] = [parts[0], parts[1], "lxc"];
  if (resource === "Guest" && parts.length === 3 && (GUEST_KINDS as readonly string[]).includes(parts[1])) [hostName, kind, name] = [parts[0], parts[1] as HypervisorKind, parts[2]];
  if (!hostName || !kind || !name) {
    throw new Error(
      resource === "Container" || resource === "Guest"
        ? `import ID "${id}": expected ${resource === "Container" ? "<host>/<name>" : "<host>/<kvm|xen>/<name>"}, <host> a key of the provider config virt:hosts`
        : `a ${resource} cannot be imported: declare it in the program (a Host only reads facts; a Hypervisor only verifies its stack)`,
    );
  }
  const entry = hostsConfig[hostName] as { connection?: unknown; bridge?: unknown; storageDir?: unknown; overcommit?: unknown } | undefined;
  if (!entry || typeof entry !== "object" || entry.connection === undefined) {
    throw new Error(`import ID "${id}": host "${hostName}" is not in the provider config virt:hosts (pulumi config set --secret virt:hosts '{"${hostName}": {"connection": {...}}}')`);
  }
  const conn = entry.connection;
  const settings = hypervisorArgsSchema.safeParse({ kind, bridge: entry.bridge, storageDir: entry.storageDir, overcommit: entry.overcommit });
  if (!settings.success) throw new Error(`virt:hosts.${hostName}: ${zodFailures(settings.error).map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
  const parsed = hostArgsSchema.safeParse({ connection: conn });
  if (!parsed.success) throw new Error(`virt:hosts.${hostName}: ${zodFailures(parsed.error).map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
  const checked = await hostImpl.check({}, { connection: conn });
  if (checked.failures.length) throw new Error(`virt:hosts.${hostName}: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
  const host = checked.inputs as unknown as HostRef;
  return {
    name,
    hypervisor: { kind, emulated: kind === "kvm" && !host.facts.kvmUsable, bridge: settings.data.bridge ?? DEFAULT_BRIDGE[kind], storageDir: settings.data.storageDir ?? DEFAULT_STORAGE_DIR[kind], host: { connection: host.connection, facts: host.facts },
      // As a plugin Hypervisor's ref carries it (its effective overcommit output).
      overcommit: effectiveOvercommit(kind, settings.data.overcommit) },
  };
}
