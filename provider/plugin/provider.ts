// The `virt` resource provider plugin: the engine's calls for virt:index:* resources, handed to the same lifecycles
// the dynamic provider uses (resources/impl). It adds only what a plugin needs and a dynamic resource class does on
// the program's side: the `ref` outputs, the Container's owner key (from the URN), secret marking, detailed diffs
// and `pulumi import` (read without state).
import { createHash } from "node:crypto";
import type * as provider from "@pulumi/pulumi/provider";
import * as hostImpl from "../resources/impl/host";
import * as hypervisorImpl from "../resources/impl/hypervisor";
import * as containerImpl from "../resources/impl/container";
import * as guestImpl from "../resources/impl/guest";
import * as networkImpl from "../resources/impl/network";
import * as storagePoolImpl from "../resources/impl/storage-pool";
import * as imageImpl from "../resources/impl/image";
import * as snapshotImpl from "../resources/impl/snapshot";
import type { EngineProps } from "../models/state";
import type { Overcommit } from "../models/hypervisor";
import { hostRefFrom, hypervisorRefFrom, imageRefFrom, machineRefFrom } from "../models/refs";
import { buildPluginSchema, PLUGIN_VERSION, RESOURCE_TOKENS, ResourceName, SECRET_PROPERTIES } from "./schema";
import { plainProps, secretKeysOf, toWire } from "./wire";
import { DetailedDiff, detailedDiffOf } from "./detailed-diff";
import { importTarget } from "./import";

interface Lifecycle {
  check(olds: EngineProps, news: EngineProps): Promise<{ inputs: EngineProps; failures: { property: string; reason: string }[] }>;
  diff(id: string, olds: EngineProps, news: EngineProps): Promise<{ changes: boolean; replaces: string[]; deleteBeforeReplace: boolean }>;
  create(inputs: EngineProps): Promise<{ id: string; outs: EngineProps }>;
  read(id: string, props: EngineProps): Promise<{ id: string; props: EngineProps; inputs?: EngineProps }>;
  update(id: string, olds: EngineProps, news: EngineProps): Promise<{ outs: EngineProps }>;
  delete(id: string, props: EngineProps): Promise<void>;
}

const LIFECYCLES: Record<ResourceName, Lifecycle> = {
  Host: hostImpl, Hypervisor: hypervisorImpl, Container: containerImpl, Guest: guestImpl,
  Network: networkImpl, StoragePool: storagePoolImpl, Image: imageImpl, Snapshot: snapshotImpl,
};

/** The resource's name in this package, from its URN (urn:pulumi:stack::project::[parent$]type::name). */
export function resourceOf(urn: string): ResourceName {
  const type = urn.split("::")[2]?.split("$").pop() ?? "";
  const name = (Object.keys(RESOURCE_TOKENS) as ResourceName[]).find((n) => RESOURCE_TOKENS[n] === type);
  if (!name) throw new Error(`the virt provider has no resource type ${type}`);
  return name;
}

/**
 * The Container's stable key (see resources/container.ts ownerKeyOf): project, stack and resource name, here from
 * the URN, so a create the engine never recorded is resumed by the next `up` of the same resource.
 */
export function ownerKeyOfUrn(urn: string): string {
  const [stack, project, , ...name] = urn.slice("urn:pulumi:".length).split("::");
  return createHash("sha256").update(JSON.stringify(["virt-plugin", project ?? "", stack ?? "", "Container", name.join("::")])).digest("hex").slice(0, 32);
}

/** Outputs the dynamic resource classes compute on the program's side: what dependents take. */
export function withRef(name: ResourceName, outs: EngineProps): EngineProps {
  if (name === "Host") return { ...outs, ref: hostRefFrom(outs) };
  // The effective overcommit the lifecycle wrote to the outputs: machines on this Hypervisor are capacity-checked
  // with it (as the TypeScript class's ref carries the program's), not with the kind's default.
  if (name === "Hypervisor") return { ...outs, ref: hypervisorRefFrom(outs, outs.overcommit as Overcommit | undefined) };
  if (name === "Container" || name === "Guest") return { ...outs, ref: machineRefFrom(outs) };
  if (name === "Image") return { ...outs, ref: imageRefFrom(outs) };
  return outs;
}

/** Outputs only the provider writes: a program's value for them is dropped before the lifecycle sees the inputs. */
const OUTPUTS_ONLY: Record<ResourceName, readonly string[]> = {
  Host: ["ref"],
  Hypervisor: ["ref"],
  Container: ["ref"],
  Guest: ["ref"],
  Network: [],
  StoragePool: [],
  Image: ["ref"],
  Snapshot: [],
};

/** A Snapshot names its machine by the machine's `ref`; the lifecycle takes its parts (as the dynamic class sends them). */
function snapshotInputs(input: EngineProps): EngineProps {
  const machine = input.machine as { hypervisor?: unknown; name?: unknown; ownerToken?: unknown } | undefined;
  if (!machine || typeof machine !== "object") return input;
  const { machine: _m, ...rest } = input;
  return { ...rest, hypervisor: machine.hypervisor, machineName: machine.name, machineToken: machine.ownerToken };
}

function secretsOf(name: ResourceName, ...wires: (Record<string, unknown> | undefined)[]): string[] {
  return [...SECRET_PROPERTIES[name], ...wires.flatMap((w) => secretKeysOf(w))];
}

/** Detailed diffs of the last Diff per URN, for the server decoration (detailed-diff.ts) to put on the response. */
export const lastDetailedDiff = new Map<string, DetailedDiff>();

export class VirtProvider implements provider.Provider {
  readonly version = PLUGIN_VERSION;
  private schemaText?: string;

  async getSchema(): Promise<string> {
    return (this.schemaText ??= JSON.stringify(buildPluginSchema(this.version)));
  }

  async check(urn: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<provider.CheckResult> {
    const name = resourceOf(urn);
    let input = plainProps(news);
    for (const k of OUTPUTS_ONLY[name]) delete input[k];
    if (name === "Snapshot") input = snapshotInputs(input);
    if (name === "Container" && input.ownerKey === undefined) input.ownerKey = ownerKeyOfUrn(urn);
    const r = await LIFECYCLES[name].check(plainProps(olds), input);
    return { inputs: toWire(r.inputs, secretsOf(name, news)), failures: r.failures };
  }

  async diff(id: string, urn: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<provider.DiffResult> {
    const name = resourceOf(urn);
    const o = plainProps(olds);
    const n = plainProps(news);
    const r = await LIFECYCLES[name].diff(id, o, n);
    lastDetailedDiff.set(urn, detailedDiffOf(name, o, n, r));
    return r;
  }

  async create(urn: string, inputs: Record<string, unknown>): Promise<provider.CreateResult> {
    const name = resourceOf(urn);
    try {
      const r = await LIFECYCLES[name].create(plainProps(inputs));
      return { id: r.id, outs: toWire(withRef(name, r.outs), secretsOf(name, inputs)) };
    } catch (e) {
      // A partially created machine goes to state with its properties (see lifecycle/support.ts partialCreate).
      const p = (e as { properties?: EngineProps }).properties;
      if (p) Object.assign(e as object, { properties: toWire(p, secretsOf(name, inputs)) });
      throw e;
    }
  }

  async read(id: string, urn: string, props: Record<string, unknown>): Promise<provider.ReadResult> {
    const name = resourceOf(urn);
    const state = plainProps(props);
    if (Object.keys(state).length === 0) {
      // `pulumi import`: no state yet; the ID names the host (provider config `hosts`) and the machine.
      const target = await importTarget(name, id);
      const lifecycle = name === "Container" ? containerImpl : guestImpl;
      const r = await lifecycle.importMachine(id, target.hypervisor, target.name);
      if (!r.props) return { id: undefined, props: undefined };
      // The imported inputs hold the Hypervisor ref as importedHypervisor (not an input property, so the code
      // `pulumi import` generates holds no connection); secret like `hypervisor`.
      return { id: r.id, props: toWire(r.props, secretsOf(name)), inputs: toWire(r.inputs ?? {}, secretsOf(name)) };
    }
    const r = await LIFECYCLES[name].read(id, state);
    if (!r.id || !r.props) return { id: undefined, props: undefined };
    return {
      id: r.id,
      props: toWire(withRef(name, r.props), secretsOf(name, props)),
      ...(r.inputs ? { inputs: toWire(r.inputs, secretsOf(name, props)) } : {}),
    };
  }

  async update(id: string, urn: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<provider.UpdateResult> {
    const name = resourceOf(urn);
    const r = await LIFECYCLES[name].update(id, plainProps(olds), plainProps(news));
    return { outs: toWire(withRef(name, r.outs), secretsOf(name, olds, news)) };
  }

  async delete(id: string, urn: string, props: Record<string, unknown>): Promise<void> {
    await LIFECYCLES[resourceOf(urn)].delete(id, plainProps(props));
  }
}
