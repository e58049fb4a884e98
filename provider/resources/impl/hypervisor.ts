// Hypervisor: the virtualization layer on a Host. Verifies (optionally installs) the stack; never removes it.
import { randomUUID } from "node:crypto";
import { DEFAULT_BRIDGE, DEFAULT_STORAGE_DIR, hypervisorArgsSchema, HypervisorKind } from "../../models/hypervisor";
import type { HostRef } from "../../models/host";
import { hypervisorRules } from "../../plan/rules";
import { sameValue } from "../../plan/planner";
import type { CapabilityTable } from "../../plan/types";
import type { Remote } from "../../ssh/types";
import { installHypervisor, prepareHypervisorHost } from "../../drivers/setup";
import { forRefresh, hasUnknowns, isUnknown, parseArgs, remoteFor, stepError } from "./common";

type Props = Record<string, any>;

export function capabilitiesOf(kind: HypervisorKind): CapabilityTable {
  switch (kind) {
    case "lxc":
      return (require("../../drivers/lxc") as typeof import("../../drivers/lxc")).lxcCapabilities;
    case "kvm":
      return (require("../../drivers/kvm") as typeof import("../../drivers/kvm")).kvmCapabilities;
    case "xen":
      return (require("../../drivers/xen") as typeof import("../../drivers/xen")).xenCapabilities;
  }
}

/** A reviewer-readable summary of what changes live, with a restart, or by replacement. */
export function summarizeCapabilities(table: CapabilityTable): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [prop, cap] of Object.entries(table)) {
    const parts: string[] = [];
    const fmt = (label: string, r: { action: string; mechanism?: string; reason?: string } | undefined) =>
      r && parts.push(`${label}: ${r.action}${r.action === "live" ? ` (${r.mechanism})` : ""}`);
    fmt("grow", cap.grow);
    fmt("shrink", cap.shrink);
    fmt("change", cap.change);
    if (cap.liveUpTo) parts.push(`live up to ${cap.liveUpTo}, beyond: ${cap.beyondLimit?.action ?? "restart"}`);
    out[prop] = parts.join("; ");
  }
  return out;
}

async function verify(kind: HypervisorKind, remote: Remote): Promise<{ version: string; details: Record<string, unknown> }> {
  switch (kind) {
    case "lxc": {
      const v = await (require("../../drivers/lxc") as typeof import("../../drivers/lxc")).verifyLxc(remote);
      return { version: v.version, details: v as unknown as Record<string, unknown> };
    }
    case "kvm": {
      const v = await (require("../../drivers/kvm") as typeof import("../../drivers/kvm")).verifyKvm(remote);
      return { version: v.libvirtVersion, details: v as unknown as Record<string, unknown> };
    }
    case "xen": {
      const v = await (require("../../drivers/xen") as typeof import("../../drivers/xen")).verifyXen(remote);
      if (!v.dom0) throw new Error("not a Xen dom0 (xl info failed or /proc/xen/capabilities lacks control_d)");
      return { version: v.xenVersion ?? "unknown", details: v as unknown as Record<string, unknown> };
    }
  }
}

export async function check(olds: Props, news: Props) {
  const { value, failures } = parseArgs(hypervisorArgsSchema, news, ["host", "emulated"]);
  if (!value) return { inputs: news, failures };
  const host = news.host as HostRef | undefined;
  const inputs: Props = { ...news, ...value };
  if (!host || isUnknown(host) || hasUnknowns(news)) return { inputs, failures: [] };
  const rules = hypervisorRules(value.kind, host.facts, value.allowEmulation);
  // Emulation is an explicit, visible opt-in: it shows in the checked inputs (preview) and in outputs.
  inputs.emulated = value.kind === "kvm" && !host.facts.kvmUsable;
  inputs.bridge = value.bridge ?? DEFAULT_BRIDGE[value.kind];
  inputs.storageDir = value.storageDir ?? DEFAULT_STORAGE_DIR[value.kind];
  void olds;
  return { inputs, failures: rules };
}

export async function diff(_id: string, olds: Props, news: Props) {
  const replaces: string[] = [];
  if (olds.kind !== news.kind) replaces.push("kind");
  const oldHost = olds.host as HostRef | undefined;
  const newHost = news.host as HostRef | undefined;
  if (oldHost?.facts?.machineId && newHost?.facts?.machineId && (oldHost.facts.machineId !== newHost.facts.machineId || oldHost.facts.hostname !== newHost.facts.hostname)) {
    replaces.push("host");
  }
  const keys = ["kind", "allowEmulation", "install", "bridge", "storageDir", "host", "emulated"];
  const changes = keys.some((k) => !sameValue(olds[k], news[k]));
  return { changes, replaces, deleteBeforeReplace: false };
}

async function apply(inputs: Props, refresh = false): Promise<Props> {
  const host = inputs.host as HostRef;
  const kind = inputs.kind as HypervisorKind;
  const remote = refresh ? forRefresh(remoteFor(host)) : remoteFor(host);
  let verified: { version: string; details: Record<string, unknown> };
  try {
    verified = await verify(kind, remote);
  } catch (e) {
    if (!inputs.install) throw stepError(`${kind} hypervisor`, host, "verify the virtualization stack", e);
    await installHypervisor(kind, remote);
    verified = await verify(kind, remote);
  }
  // Not on refresh: a read changes nothing on the host.
  if (!refresh) await prepareHypervisorHost(kind, remote, inputs.storageDir);
  const caps = capabilitiesOf(kind);
  return {
    ...inputs,
    version: verified.version,
    details: verified.details,
    capabilities: summarizeCapabilities(caps),
    capacity: { cpus: host.facts.cpus, memoryMiB: host.facts.memoryMiB },
  };
}

export async function create(inputs: Props) {
  return { id: `${inputs.kind}-${randomUUID()}`, outs: await apply(inputs) };
}

export async function read(id: string, props: Props) {
  return { id, props: await apply({ ...props, install: false }, true) };
}

export async function update(_id: string, _olds: Props, news: Props) {
  return { outs: await apply(news) };
}

async function del(_id: string, _props: Props) {
  // The virtualization stack is left installed: other guests or tools may use it.
}
export { del as delete };
