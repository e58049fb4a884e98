// Builds the Pulumi package schema (schema.json) and the README reference tables from the zod models
// and the effective capability tables the planner uses (./changes.ts). `npm run schema` writes them; a unit test fails when they are stale.
import { z } from "zod";
import { hostArgsSchema } from "../models/host";
import { hypervisorArgsSchema } from "../models/hypervisor";
import { containerArgsSchema } from "../models/container";
import { guestArgsSchema } from "../models/guest";
import { snapshotArgsSchema } from "../models/snapshot";
import { lxcSnapshots } from "../drivers/lxc/snapshot";
import { kvmSnapshots } from "../drivers/kvm/snapshot";
import { NO_SNAPSHOTS } from "../lifecycle/safety-net";
import { imageArgsSchema } from "../models/image";
import { changeColumn, MachineResourceName } from "./changes";
import { networkArgsSchema } from "../models/network";
import { storagePoolArgsSchema } from "../models/storage-pool";
import { networkChangeColumn, poolChangeColumn } from "./infra-changes";

export const PACKAGE = "pulumi-virt";

export interface ResourceModel {
  token: string;
  description: string;
  input: z.ZodTypeAny;
  /** Inputs that are not part of the zod model (references to other resources). */
  extraInputs: Record<string, { type: string; description: string }>;
  outputs: Record<string, { type: string; description: string; secret?: boolean }>;
  /** A machine resource: its change column comes from its backends' effective tables. */
  machine?: MachineResourceName;
  /** Another resource's change column per input, from its own capability table. */
  changes?: () => Record<string, string>;
}

const planOutputs = {
  plannedAction: { type: "string", description: "The strongest action the last preview planned: none, live, restart, replace (create for new resources)." },
  plannedChanges: { type: "object", description: "Per property: the planned action (live / restart / replace) and the reason, as shown by `pulumi preview`." },
  lastApplied: { type: "object", description: "What the last `up` did: time, action and per-property changes." },
  observed: { type: "object", description: "Live values read from the host (PIDs, limits, sizes, state)." },
};

/** Networks' and StoragePools': what `refresh` found on the host. */
const hostStateOutput = { type: "string", description: "\"ok\", or what a refresh found missing on the host (the next `up` restores it)." };

export const DEFAULT_MODELS: Record<string, ResourceModel> = {
  Host: {
    token: `${PACKAGE}:index:Host`,
    description: "An existing machine reached over SSH. Its facts are read on create and refresh; deleting it only forgets it.",
    input: hostArgsSchema,
    extraInputs: {},
    outputs: {
      facts: { type: "object", description: "hostname, machineId, os, kernel, arch, cpus, memoryMiB, hardwareVirtualization (vmx|svm|none), kvmUsable, xenDom0, cgroupVersion, cgroupLayout, tools." },
      connection: { type: "object", description: "The connection (secret).", secret: true },
    },
  },
  Hypervisor: {
    token: `${PACKAGE}:index:Hypervisor`,
    description: "The virtualization layer on a Host: lxc (containers), kvm (libvirt + QEMU, full virtualization), xen (xl, paravirtualization).",
    input: hypervisorArgsSchema,
    extraInputs: { host: { type: "Host", description: "The Host (or its `ref`)." } },
    outputs: {
      emulated: { type: "boolean", description: "kvm only: guests run under QEMU software emulation (TCG) because the host lacks VT-x/AMD-V." },
      version: { type: "string", description: "Version of the stack (LXC, libvirt, Xen)." },
      capabilities: { type: "object", description: "Per property: what changes live, with a restart, or by replacement." },
      capacity: { type: "object", description: "cpus and memoryMiB of the host (a Xen dom0: of the machine), diskMiB of the storage directory's filesystem." },
      committed: { type: "object", description: "cpus, memoryMiB, diskMiB promised to every machine on the host (any stack, or not pulumi-virt's); refreshed." },
      free: { type: "object", description: "capacity × overcommit − committed (negative: beyond the policy); refreshed." },
      overcommit: { type: "object", description: "The effective overcommit: the given ratios, the kind's defaults for the rest." },
      ref: { type: "object", description: "What Guests and Containers take as `hypervisor` (secret).", secret: true },
    },
  },
  Container: {
    token: `${PACKAGE}:index:Container`,
    description:
      "A system container on an lxc Hypervisor. It shares the host's kernel; CPU, memory and disk grow change live. " +
      "`destroy` removes it in one round trip: it kills the container (its root filesystem and config are deleted with it, so a shutdown would keep nothing), " +
      "unless `gracefulDestroy: true` asks init to shut down first, waiting up to `stopTimeoutSec`; a container another resource owns is left untouched.",
    input: containerArgsSchema,
    extraInputs: { hypervisor: { type: "Hypervisor", description: "An lxc Hypervisor (or its `ref`)." } },
    outputs: {
      ...planOutputs,
      addresses: { type: "array", description: "Its NIC's addresses (mac, bridge, ipv4, ipv6), read in the container's network namespace; refreshed." },
      connection: { type: "object", description: "A @pulumi/command remote.Connection into the container via its host, pinned to the SSH host key pulumi-virt installed (secret).", secret: true },
    },
    machine: "Container",
  },
  Guest: {
    token: `${PACKAGE}:index:Guest`,
    description:
      "A VM: full virtualization on a kvm Hypervisor (any unmodified OS) or paravirtualized on a xen Hypervisor (an OS modified for Xen). " +
      "Its root disk comes from `rootDisk.image` (an Image's `ref` { path, checksum, format } or its path) or `rootDisk.baseImage` (a file already on the host); " +
      "`image` is normalised at check into `baseImage`, which is what state and plans show; " +
      "or from `rootDisk.cloneFrom`: a copy of another stopped Guest's root disk on the same host ({ guest, ownerToken }: its name and `ownerToken` output).",
    input: guestArgsSchema,
    extraInputs: { hypervisor: { type: "Hypervisor", description: "kvm for virtualization \"full\", xen for \"para\" (or its `ref`)." } },
    outputs: { ...planOutputs, emulated: { type: "boolean", description: "The guest runs under QEMU software emulation (TCG)." } },
    machine: "Guest",
  },
  Network: {
    token: `${PACKAGE}:index:Network`,
    description:
      "A Linux bridge on a Host, tagged as pulumi-virt's: optional VLAN on a parent interface, NAT or routed uplink (iptables, or nft on hosts without it), " +
      "DHCP with static leases and DNS names, IPv6 router advertisements and DHCPv6 (dnsmasq). Guests and Containers attach through its `bridge` output. " +
      "Deleting it while machines are attached is refused naming them; destroy removes the bridge, rules, dnsmasq and files. " +
      "A host reboot loses it (no boot-time units): `refresh` shows the drift in `hostState`, the next `up` restores it.",
    input: networkArgsSchema,
    extraInputs: { host: { type: "Host", description: "The Host (or its `ref`)." } },
    outputs: {
      plannedAction: planOutputs.plannedAction,
      plannedChanges: planOutputs.plannedChanges,
      lastApplied: { type: "object", description: "What the last `up` did: time, action, per-property changes, and what happened to dnsmasq (started, reloaded, restarted, unchanged, stopped)." },
      observed: { type: "object", description: "What the host has: addresses, VLAN devices, firewall rule count, dnsmasq PID, DHCP leases, attached machines." },
      capabilities: { type: "object", description: "Per property: what changes live, with a dnsmasq restart, or by replacement." },
      hostState: hostStateOutput,
    },
    changes: networkChangeColumn,
  },
  StoragePool: {
    token: `${PACKAGE}:index:StoragePool`,
    description:
      "Where disks and images live on a Host: a directory, or btrfs / xfs (reflink) in a loop-mounted image file beside `path` (`<path>.img`). " +
      "Pass its `path` as a Hypervisor's `storageDir`. Deleting a pool that holds anything is refused naming what. " +
      "A reboot unmounts an image pool: `refresh` shows it in `hostState`, the next `up` mounts it again.",
    input: storagePoolArgsSchema,
    extraInputs: { host: { type: "Host", description: "The Host (or its `ref`)." } },
    outputs: {
      capacityMiB: { type: "number", description: "Size of the pool's filesystem (refreshed)." },
      freeMiB: { type: "number", description: "Free space in the pool's filesystem (refreshed)." },
      plannedAction: planOutputs.plannedAction,
      plannedChanges: planOutputs.plannedChanges,
      lastApplied: { type: "object", description: "What the last `up` did: time, action, changes, outcome (created, grown, mounted, unchanged)." },
      observed: { type: "object", description: "What the host has: mounted, fstype, capacity, free space, image size, entries." },
      capabilities: { type: "object", description: "Per property: what changes live or by replacement." },
      hostState: hostStateOutput,
    },
    changes: poolChangeColumn,
  },
  Snapshot: {
    token: `${PACKAGE}:index:Snapshot`,
    description:
      "A snapshot of a Container or a kvm Guest; deleting the resource deletes it, and a new value of `restore` rolls the machine back to it " +
      "(a restart: preview shows `restore: restart`; the name, UUID and MAC stay). " +
      `Container: ${lxcSnapshots.method}. kvm Guest: ${kvmSnapshots.method}. Xen PV Guest: refused at preview (${NO_SNAPSHOTS.xen}). ` +
      "Only snapshots pulumi-virt made for that machine's owner are ever restored or deleted (host names start with `pv-`).",
    input: snapshotArgsSchema,
    extraInputs: { machine: { type: "Container | Guest", description: "The Container (lxc) or Guest (kvm) it is a snapshot of." } },
    changes: () => ({
      name: "replace (a new snapshot is taken, then the old one deleted)",
      restore: "restart: a new value stops the machine, rolls it back to this snapshot and starts it again; unset: settings only",
      machine: "replace",
    }),
    outputs: {
      plannedAction: planOutputs.plannedAction,
      plannedChanges: planOutputs.plannedChanges,
      lastApplied: planOutputs.lastApplied,
      hostName: { type: "string", description: "The snapshot's name on the host (`pv-<name>`)." },
      takenAt: { type: "string", description: "When it was taken (ISO 8601)." },
      sizeBytes: { type: "number", description: "Bytes on the host: a container's copied root filesystem; a guest's saved memory state (its disk part shares clusters with the live disks)." },
      covers: { type: "object", description: "What it covers: `disks` (`rootfs`, or the guest's disk devices) and `memory` (true for a running kvm guest)." },
    },
  },
  Image: {
    token: `${PACKAGE}:index:Image`,
    description:
      "A disk image (qcow2, raw; optionally .xz/.gz/.zst compressed) or LXC rootfs tarball on a Hypervisor's host. The host downloads it " +
      "(curl or wget there, resumable) once per checksum into `<storageDir>/.pulumi-virt-images/`, verifies it, then renames it into place; " +
      "every Image resource and stack asking for the same checksum shares that file. A Guest takes it as `rootDisk.image`, a Container " +
      "its `path` as `template`. Another checksum (or another layout) is another file: the Image and the guests built on it are replaced. " +
      "Deleting the last Image of a file removes it, unless a libvirt guest's disk has it as its backing file: then the delete fails naming the guests.",
    input: imageArgsSchema,
    extraInputs: { hypervisor: { type: "Hypervisor", description: "The Hypervisor whose host keeps the image (or its `ref`)." } },
    outputs: {
      path: { type: "string", description: "The ready file on the host, `<storageDir>/.pulumi-virt-images/<sha256|sha512>-<hex>.<qcow2|raw|img|tar...>` (known at preview)." },
      size: { type: "integer", description: "Bytes of the ready (decompressed) file." },
      format: { type: "string", description: "qcow2 / raw as the host's qemu-img reads it, or rootfs." },
      virtualSize: { type: "integer", description: "The disk's virtual size in bytes (a rootfs: its size)." },
      checksum: { type: "string", description: "The verified checksum (an unverified image: the sha256 of the ready file)." },
      ref: { type: "object", description: "path, checksum and format: what a Guest takes as `rootDisk.image`." },
    },
  },
};

/** A node of the JSON Schema zod emits, as far as this file reads it. */
interface JsonSchemaNode {
  type?: string | string[];
  enum?: string[];
  const?: unknown;
  default?: unknown;
  description?: string;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  items?: JsonSchemaNode;
  properties?: Record<string, JsonSchemaNode>;
  additionalProperties?: JsonSchemaNode;
  required?: string[];
}

/** A property type in the Pulumi package schema. */
export interface PulumiProperty {
  type?: string;
  enum?: string[];
  const?: unknown;
  default?: unknown;
  description?: string;
  oneOf?: PulumiProperty[];
  items?: PulumiProperty;
  additionalProperties?: PulumiProperty;
  $ref?: string;
  secret?: boolean;
}

export interface PulumiObjectType {
  type: "object";
  properties: Record<string, PulumiProperty>;
  required: string[];
}

export interface PulumiResourceSchema {
  description: string;
  inputProperties: Record<string, PulumiProperty>;
  requiredInputs: string[];
  properties: Record<string, PulumiProperty>;
  required: string[];
}

export interface PackageSchema {
  name: string;
  version: string;
  description: string;
  license: string;
  repository: string;
  resources: Record<string, PulumiResourceSchema>;
  types: Record<string, PulumiObjectType>;
}

type Types = Record<string, PulumiObjectType>;

function toPulumiType(js: JsonSchemaNode, typeName: string, types: Types): PulumiProperty {
  const out: PulumiProperty = {};
  if (js.default !== undefined) out.default = js.default;
  if (js.description) out.description = js.description;
  if (Array.isArray(js.type)) {
    out.oneOf = js.type.map((t) => ({ type: t === "number" ? "number" : t }));
    return out;
  }
  const variants = js.anyOf ?? js.oneOf;
  if (variants) {
    out.oneOf = variants.map((v, i) => toPulumiType(v, `${typeName}${i}`, types));
    return out;
  }
  if (js.const !== undefined) return { ...out, type: "string", const: js.const };
  switch (js.type) {
    case "string":
      if (js.enum) out.enum = js.enum;
      return { ...out, type: "string" };
    case "number":
      return { ...out, type: "number" };
    case "integer":
      return { ...out, type: "integer" };
    case "boolean":
      return { ...out, type: "boolean" };
    case "array":
      return { ...out, type: "array", items: toPulumiType(js.items ?? {}, `${typeName}Item`, types) };
    case "object": {
      if (js.properties) {
        const token = `${PACKAGE}:index:${typeName}`;
        types[token] = {
          type: "object",
          properties: Object.fromEntries(Object.entries(js.properties).map(([k, v]) => [k, toPulumiType(v, typeName + cap(k), types)])),
          required: js.required ?? [],
        };
        return { ...out, $ref: `#/types/${token}` };
      }
      return { ...out, type: "object", additionalProperties: toPulumiType(js.additionalProperties ?? {}, `${typeName}Value`, types) };
    }
    default:
      return { ...out, $ref: "pulumi.json#/Any" };
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function inputJsonSchema(m: ResourceModel): JsonSchemaNode {
  return z.toJSONSchema(m.input, { io: "input", unrepresentable: "any" }) as JsonSchemaNode;
}

export function buildSchema(models: Record<string, ResourceModel> = DEFAULT_MODELS, version = "0.1.0"): PackageSchema {
  const types: Types = {};
  const resources: Record<string, PulumiResourceSchema> = {};
  for (const [name, m] of Object.entries(models)) {
    const js = inputJsonSchema(m);
    const inputProperties: Record<string, PulumiProperty> = {};
    for (const [k, v] of Object.entries(js.properties ?? {})) {
      const p = toPulumiType(v, name + cap(k), types);
      const change = m.machine ? changeColumn(m.machine, k) : m.changes?.()[k];
      if (change) p.description = `Change: ${change}.`;
      inputProperties[k] = p;
    }
    for (const [k, v] of Object.entries(m.extraInputs)) {
      const change = m.machine ? changeColumn(m.machine, k) : m.changes?.()[k];
      inputProperties[k] = { $ref: "pulumi.json#/Any", description: v.description + (change ? ` Change: ${change}.` : "") };
    }
    const properties: Record<string, PulumiProperty> = { ...inputProperties };
    for (const [k, v] of Object.entries(m.outputs)) properties[k] = { $ref: "pulumi.json#/Any", description: v.description, ...(v.secret ? { secret: true } : {}) };
    resources[m.token] = {
      description: m.description,
      inputProperties,
      requiredInputs: [...(js.required ?? []), ...Object.keys(m.extraInputs)].sort(),
      properties,
      required: Object.keys(properties).filter((k) => (js.required ?? []).includes(k)).sort(),
    };
  }
  return {
    name: PACKAGE,
    version,
    description: "VMs (KVM/QEMU via libvirt, Xen PV) and system containers (LXC) on your own hosts over SSH, with truthful live / restart / replace previews.",
    license: "Apache-2.0",
    repository: "",
    resources,
    types,
  };
}

function typeText(p: PulumiProperty): string {
  if (p.$ref === "pulumi.json#/Any") return "any";
  if (p.$ref) return "object";
  if (p.oneOf) return p.oneOf.map((o) => typeText(o)).join(" \\| ");
  if (p.enum) return p.enum.map((e) => `"${e}"`).join(" \\| ");
  if (p.type === "array") return `${p.items ? typeText(p.items) : "any"}[]`;
  return p.type ?? "any";
}

/** Markdown reference tables (README and docs) generated from the schema. */
export function renderReference(schema: PackageSchema): string {
  const out: string[] = [];
  for (const [token, r] of Object.entries(schema.resources)) {
    const name = token.split(":").pop();
    out.push(`### ${name}`, "", r.description, "", "| input | type | default | required | change |", "|---|---|---|---|---|");
    for (const [k, p] of Object.entries(r.inputProperties)) {
      const d = p.description ?? "";
      const change = d.startsWith("Change: ") ? d.slice(8, -1) : d;
      const def = p.default === undefined ? "" : `\`${JSON.stringify(p.default)}\``;
      out.push(`| \`${k}\` | ${typeText(p)} | ${def} | ${r.requiredInputs.includes(k) ? "yes" : ""} | ${change.replace(/\|/g, "\\|")} |`);
    }
    const outputs = Object.entries(r.properties).filter(([k]) => !(k in r.inputProperties));
    if (outputs.length) {
      out.push("", "| output | description |", "|---|---|");
      for (const [k, p] of outputs) out.push(`| \`${k}\` | ${(p.description ?? "").replace(/\|/g, "\\|")}${p.secret ? " (secret)" : ""} |`);
    }
    out.push("");
  }
  return out.join("\n");
}

export const README_BEGIN = "<!-- BEGIN GENERATED REFERENCE (npm run schema) -->";
export const README_END = "<!-- END GENERATED REFERENCE -->";

export function spliceReadme(readme: string, reference: string): string {
  const a = readme.indexOf(README_BEGIN);
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a) return readme;
  return readme.slice(0, a + README_BEGIN.length) + "\n" + reference + "\n" + readme.slice(b);
}
