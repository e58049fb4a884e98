// Builds the Pulumi package schema (schema.json) and the README reference tables from the zod models
// and the drivers' capability tables. `npm run schema` writes them; a unit test fails when they are stale.
import { z } from "zod";
import { hostArgsSchema } from "../models/host";
import { hypervisorArgsSchema } from "../models/hypervisor";
import { containerArgsSchema } from "../models/container";
import { guestArgsSchema } from "../models/guest";
import type { CapabilityTable, ChangeRule, PropertyCapability } from "../plan/types";
import { lxcCapabilities, capabilitiesFor as lxcCapsFor } from "../drivers/lxc";
import { kvmCapabilities } from "../drivers/kvm";
import { xenCapabilities } from "../drivers/xen";

export const PACKAGE = "pulumi-virt";

export interface ResourceModel {
  token: string;
  description: string;
  input: z.ZodTypeAny;
  /** Inputs that are not part of the zod model (references to other resources). */
  extraInputs: Record<string, { type: string; description: string }>;
  outputs: Record<string, { type: string; description: string; secret?: boolean }>;
  /** Input property -> capability keys, per form, for the change column. */
  changeKeys?: Record<string, string[]>;
  forms?: Record<string, CapabilityTable>;
}

const planOutputs = {
  plannedAction: { type: "string", description: "The strongest action the last preview planned: none, live, restart, replace (create for new resources)." },
  plannedChanges: { type: "object", description: "Per property: the planned action (live / restart / replace) and the reason, as shown by `pulumi preview`." },
  lastApplied: { type: "object", description: "What the last `up` did: time, action and per-property changes." },
  observed: { type: "object", description: "Live values read from the host (PIDs, limits, sizes, state)." },
};

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
      capacity: { type: "object", description: "cpus and memoryMiB of the host." },
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
    outputs: { ...planOutputs, connection: { type: "object", description: "A @pulumi/command remote.Connection into the container via its host (secret).", secret: true } },
    changeKeys: {
      name: ["name"], template: ["template"], osFamily: ["osFamily"], cpus: ["cpus"], cpuQuotaPercent: ["cpuQuotaPercent"], cpuShares: ["cpuShares"],
      memory: ["memoryMiB"], swap: ["swapMiB"], disk: ["diskSizeMiB"], network: ["network"], environment: ["environment"],
      running: ["running"], autostart: ["autostart"],
    },
    forms: { "lxc (xfs/btrfs)": lxcCapabilities, "lxc (ext4)": lxcCapsFor("ext4") },
  },
  Guest: {
    token: `${PACKAGE}:index:Guest`,
    description: "A VM: full virtualization on a kvm Hypervisor (any unmodified OS) or paravirtualized on a xen Hypervisor (an OS modified for Xen).",
    input: guestArgsSchema,
    extraInputs: { hypervisor: { type: "Hypervisor", description: "kvm for virtualization \"full\", xen for \"para\" (or its `ref`)." } },
    outputs: { ...planOutputs, emulated: { type: "boolean", description: "The guest runs under QEMU software emulation (TCG)." } },
    changeKeys: {
      name: ["name"], virtualization: ["virtualization"], vcpus: ["vcpus"], maxVcpus: ["maxVcpus"], memory: ["memoryMiB"], maxMemory: ["maxMemoryMiB"],
      boot: ["boot"], rootDisk: ["baseImage", "rootDiskSizeMiB"], dataDisks: ["dataDiskSizeMiB"], network: ["network"], cloudInit: ["cloudInit"],
      running: ["running"], autostart: ["autostart"],
    },
    forms: { full: kvmCapabilities, para: xenCapabilities },
  },
};

const GLUE: Record<string, ChangeRule> = {
  virtualization: { action: "replace", reason: "the form is fixed" },
  osFamily: { action: "replace", reason: "a different OS needs a new container" },
};

function ruleText(r: ChangeRule | undefined): string | undefined {
  if (!r) return undefined;
  return r.action === "live" ? `live (${r.mechanism})` : r.action === "refuse" ? "refused" : r.action + (r.action === "replace" && r.destroysData ? " (needs allowDataLoss)" : "");
}

export function changeText(cap: PropertyCapability | undefined, key: string): string {
  if (!cap) return GLUE[key] ? (ruleText(GLUE[key]) as string) : "replace";
  const parts: string[] = [];
  if (cap.grow) parts.push(`up: ${ruleText(cap.grow)}${cap.liveUpTo ? ` to ${cap.liveUpTo}, beyond: ${ruleText(cap.beyondLimit) ?? "restart"}` : ""}`);
  if (cap.shrink) parts.push(`down: ${ruleText(cap.shrink)}`);
  if (cap.change) parts.push(ruleText(cap.change) as string);
  return parts.join("; ") || "replace";
}

/** "Change" column for one input property: per form, what a change costs. */
export function changeColumn(m: ResourceModel, prop: string): string | undefined {
  if (!m.forms || !m.changeKeys?.[prop]) return undefined;
  const keys = m.changeKeys[prop];
  const perForm = Object.entries(m.forms).map(([form, table]) => `${form}: ${keys.map((k) => changeText(table[k], k)).join(" / ")}`);
  const uniq = [...new Set(perForm.map((p) => p.split(": ").slice(1).join(": ")))];
  return uniq.length === 1 ? uniq[0] : perForm.join(" · ");
}

type Json = Record<string, any>;

function toPulumiType(js: Json, typeName: string, types: Json): Json {
  const out: Json = {};
  if (js.default !== undefined) out.default = js.default;
  if (js.description) out.description = js.description;
  if (Array.isArray(js.type)) {
    out.oneOf = js.type.map((t: string) => ({ type: t === "number" ? "number" : t }));
    return out;
  }
  const variants = js.anyOf ?? js.oneOf;
  if (variants) {
    out.oneOf = variants.map((v: Json, i: number) => toPulumiType(v, `${typeName}${i}`, types));
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
          properties: Object.fromEntries(Object.entries(js.properties).map(([k, v]) => [k, toPulumiType(v as Json, typeName + cap(k), types)])),
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

export function inputJsonSchema(m: ResourceModel): Json {
  return z.toJSONSchema(m.input, { io: "input", unrepresentable: "any" }) as Json;
}

export function buildSchema(models: Record<string, ResourceModel> = DEFAULT_MODELS, version = "0.1.0"): Json {
  const types: Json = {};
  const resources: Json = {};
  for (const [name, m] of Object.entries(models)) {
    const js = inputJsonSchema(m);
    const inputProperties: Json = {};
    for (const [k, v] of Object.entries(js.properties as Json)) {
      const p = toPulumiType(v as Json, name + cap(k), types);
      const change = changeColumn(m, k);
      if (change) p.description = `Change: ${change}.`;
      inputProperties[k] = p;
    }
    for (const [k, v] of Object.entries(m.extraInputs)) inputProperties[k] = { $ref: "pulumi.json#/Any", description: v.description };
    const properties: Json = { ...inputProperties };
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

function typeText(p: Json, schema: Json): string {
  if (p.$ref === "pulumi.json#/Any") return "any";
  if (p.$ref) return "object";
  if (p.oneOf) return p.oneOf.map((o: Json) => typeText(o, schema)).join(" \\| ");
  if (p.enum) return p.enum.map((e: string) => `"${e}"`).join(" \\| ");
  if (p.type === "array") return `${typeText(p.items, schema)}[]`;
  return p.type ?? "any";
}

/** Markdown reference tables (README and docs) generated from the schema. */
export function renderReference(schema: Json): string {
  const out: string[] = [];
  for (const [token, r] of Object.entries(schema.resources as Json)) {
    const name = token.split(":").pop();
    out.push(`### ${name}`, "", r.description, "", "| input | type | default | required | change |", "|---|---|---|---|---|");
    for (const [k, p] of Object.entries(r.inputProperties as Json)) {
      const change = (p.description ?? "").startsWith("Change: ") ? p.description.slice(8, -1) : p.description ?? "";
      const def = p.default === undefined ? "" : `\`${JSON.stringify(p.default)}\``;
      out.push(`| \`${k}\` | ${typeText(p, schema)} | ${def} | ${r.requiredInputs.includes(k) ? "yes" : ""} | ${change.replace(/\|/g, "\\|")} |`);
    }
    const outputs = Object.entries(r.properties as Json).filter(([k]) => !(k in r.inputProperties));
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
