// The Pulumi package schema of the `virt` resource provider plugin (pulumi-resource-virt), for every language.
// It is the dynamic provider's schema (../schema/build.ts, from the same zod models and capability tables) under the
// package name `virt`, completed with what a plugin's SDKs need: the `ref` outputs that Hypervisors, Containers and
// Guests take, secrets marked on inputs and outputs, the provider's own config (hosts for `pulumi import`) and the
// per-language package names. `npm run schema` writes it to schema.virt.json; a unit test checks it is fresh.
import { buildSchema, PackageSchema, PulumiProperty, PulumiResourceSchema } from "../schema/build";

export const PLUGIN_PACKAGE = "virt";
export const PLUGIN_VERSION = "0.1.0";

/** The resource tokens the plugin serves, by the lifecycle name of the dynamic provider. */
export const RESOURCE_TOKENS = {
  Host: `${PLUGIN_PACKAGE}:index:Host`,
  Hypervisor: `${PLUGIN_PACKAGE}:index:Hypervisor`,
  Container: `${PLUGIN_PACKAGE}:index:Container`,
  Guest: `${PLUGIN_PACKAGE}:index:Guest`,
  Network: `${PLUGIN_PACKAGE}:index:Network`,
  StoragePool: `${PLUGIN_PACKAGE}:index:StoragePool`,
  Image: `${PLUGIN_PACKAGE}:index:Image`,
  Snapshot: `${PLUGIN_PACKAGE}:index:Snapshot`,
} as const;
export type ResourceName = keyof typeof RESOURCE_TOKENS;

/**
 * Properties that are secret in state, per resource: they carry credentials (connections, refs that hold them)
 * or values that can (environment, cloud-init data). Check and the outputs keep them secret whatever the program did.
 */
export const SECRET_PROPERTIES: Record<ResourceName, readonly string[]> = {
  Host: ["connection", "ref"],
  Hypervisor: ["host", "ref"],
  Container: ["hypervisor", "environment", "connection", "sshHostKey", "importedHypervisor"],
  Guest: ["hypervisor", "cloudInit", "connection", "sshHostKey", "importedHypervisor"],
  Network: ["host"],
  StoragePool: ["host"],
  Image: ["hypervisor"],
  Snapshot: ["machine", "hypervisor"],
};

const REF_OUTPUT: Partial<Record<ResourceName, PulumiProperty>> = {
  Host: {
    $ref: "pulumi.json#/Any",
    secret: true,
    description: "What a Hypervisor, Network or StoragePool takes as `host`: the connection and the facts (secret, it holds the connection).",
  },
  Hypervisor: {
    $ref: "pulumi.json#/Any",
    secret: true,
    description: "What a Container, Guest or Image takes as `hypervisor`: kind, bridge, storage dir, emulation and the host (secret).",
  },
  Container: {
    $ref: "pulumi.json#/Any",
    secret: true,
    description: "What a Snapshot takes as `machine`: its hypervisor, name and owner token (secret: the hypervisor holds the connection).",
  },
  Guest: {
    $ref: "pulumi.json#/Any",
    secret: true,
    description: "What a Snapshot takes as `machine`: its hypervisor, name and owner token (secret: the hypervisor holds the connection).",
  },
  Image: {
    $ref: "pulumi.json#/Any",
    description: "path, checksum and format of the ready file (a Guest takes it as `rootDisk.image`, a Container its path as `template`).",
  },
};

/** Descriptions of the inputs the models leave undescribed (the machine resources' inputs carry their change rule). */
const INPUT_DESCRIPTIONS: Record<string, Record<string, string>> = {
  Host: {
    connection:
      "SSH connection, shaped like @pulumi/command's remote.Connection: host, port, user, privateKey, privateKeyPassword, password, " +
      "agentSocket, hostKey (pinned: an OpenSSH public-key line or a SHA256: fingerprint), insecureSkipHostKeyCheck, proxy, sudo, " +
      "dialTimeoutMs, commandTimeoutMs, maxChannels, execMode. Secret.",
  },
  Hypervisor: {
    kind: "lxc (containers), kvm (libvirt + QEMU, full virtualization) or xen (xl, paravirtualization).",
    allowEmulation: "kvm on a host without VT-x/AMD-V: accept QEMU software emulation (TCG). Required there; shown in outputs.",
    install: "Install missing packages with apt during create.",
    bridge: "Default bridge guests and containers attach to.",
    storageDir: "Where guest disks live (kvm/xen).",
    host: "The Host's `ref` output. Secret.",
    overcommit: "Ratios of the host's CPUs, memory and disk that its machines may commit ({cpu, memory, disk}); checked at preview.",
  },
  Guest: {
    imageCloudInit: "Whether the boot image runs cloud-init (NoCloud seed); false: no pinned connection without allowUnpinnedConnection.",
  },
  Network: { host: "The Host's `ref` output. Secret." },
  StoragePool: { host: "The Host's `ref` output. Secret.", name: "The pool's name (its owner marker and messages)." },
  Image: {
    hypervisor: "The Hypervisor's `ref` output. Secret.",
    source: "An http(s) URL the host downloads from, or a path already on the host.",
    checksum: "sha256:<hex> or sha512:<hex> of the file at `source`; required unless allowUnverified.",
    allowUnverified: "Accept a download without a checksum (visible opt-in).",
    format: "qcow2, raw or rootfs (a container rootfs tarball); detected from the name when not given.",
    compression: "none, xz, gz or zst; detected from the name when not given.",
    name: "A name for messages and the claim on the host.",
    downloadTimeoutSec: "Bound on the whole download, in seconds.",
  },
  Snapshot: { machine: "The Container's or Guest's `ref` output (its hypervisor, name and owner token). Secret." },
};

/**
 * A property as the SDK generators take it: a union whose variants are all one primitive type (a literal and the
 * patterns zod allows, e.g. a Container's template) is that type; a union keeps no default (no language can default
 * a union), the model applies it at check.
 */
function forCodegen(p: PulumiProperty): PulumiProperty {
  const out: PulumiProperty = { ...p };
  if (out.items) out.items = forCodegen(out.items);
  if (out.additionalProperties) out.additionalProperties = forCodegen(out.additionalProperties);
  if (out.oneOf) {
    const variants = out.oneOf.map(forCodegen);
    const types = new Set(variants.map((v) => (v.$ref || v.items || v.additionalProperties ? "" : v.type ?? "")));
    const [only] = [...types];
    if (types.size === 1 && only) {
      delete out.oneOf;
      out.type = only;
    } else {
      out.oneOf = variants.map(({ default: _d, description: _s, const: _c, ...v }) => v);
      delete out.default;
    }
  }
  return out;
}

/** The plugin's package schema, built from the dynamic provider's (same models, same capability tables). */
export function buildPluginSchema(version = PLUGIN_VERSION): PackageSchema & Record<string, unknown> {
  // Type tokens follow the package name; the dynamic schema names them pulumi-virt:index:*.
  const base = JSON.parse(JSON.stringify(buildSchema(undefined, version)).replace(/"(#\/types\/)?pulumi-virt:index:/g, `"$1${PLUGIN_PACKAGE}:index:`)) as PackageSchema;
  const resources: Record<string, PulumiResourceSchema> = {};
  for (const name of Object.keys(RESOURCE_TOKENS) as ResourceName[]) {
    const r = base.resources[`${PLUGIN_PACKAGE}:index:${name}`];
    if (!r) throw new Error(`the dynamic schema has no ${name}`);
    const described = (k: string, p: PulumiProperty): PulumiProperty => {
      const extra = INPUT_DESCRIPTIONS[name]?.[k];
      return extra && !p.description ? { ...p, description: extra } : p;
    };
    const secret = (k: string, p: PulumiProperty): PulumiProperty => forCodegen(SECRET_PROPERTIES[name].includes(k) ? { ...p, secret: true } : p);
    const inputProperties = Object.fromEntries(Object.entries(r.inputProperties).map(([k, p]) => [k, secret(k, described(k, p))]));
    const properties = Object.fromEntries(Object.entries(r.properties).map(([k, p]) => [k, secret(k, described(k, p))]));
    const ref = REF_OUTPUT[name];
    if (ref) properties.ref = ref;
    resources[RESOURCE_TOKENS[name]] = { ...r, inputProperties, properties };
  }
  const types = Object.fromEntries(
    Object.entries(base.types).map(([t, ty]) => [t, { ...ty, properties: Object.fromEntries(Object.entries(ty.properties).map(([k, p]) => [k, forCodegen(p)])) }]),
  );
  return {
    ...base,
    types,
    name: PLUGIN_PACKAGE,
    displayName: "pulumi-virt",
    publisher: "pulumi-virt",
    resources,
    config: {
      variables: {
        hosts: {
          type: "object",
          additionalProperties: { $ref: "pulumi.json#/Any" },
          secret: true,
          description:
            "For `pulumi import` only: host name → `{connection, bridge, storageDir}` (a Host's connection and the settings of " +
            "the Hypervisor on it). An import ID `<host>/<name>` (a Container) or `<host>/<kvm|xen>/<name>` (a Guest) names a host here. Secret.",
        },
      },
    },
    provider: { description: "The virt provider.", inputProperties: {}, type: "object" },
    language: {
      go: { importBasePath: "pulumi-virt/sdk/go/virt", generateResourceContainerTypes: false },
      nodejs: { packageName: "@pulumi-virt/virt" },
      python: { packageName: "pulumi_virt" },
      csharp: { rootNamespace: "PulumiVirt" },
    },
  };
}
