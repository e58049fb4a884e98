// Detailed diffs: per property, update or replace, so `pulumi preview --diff` marks each property natively. The
// action comes from the same plan the lifecycle's diff used (live and restart are updates; replace is a replacement).
// The protocol's detailed diff has no text: the reason stays in `plannedChanges`, as with the dynamic provider.
//
// The Node SDK's provider server (`@pulumi/pulumi/provider` main) does not pass a detailed diff through (its
// DiffResult has none) and ignores the provider's configuration. `decorateProviderServer` wraps those two handlers
// of the service the SDK registers: Diff gets the detailed diff the provider computed for that URN, Configure hands
// the configuration (its `args`, or the older `variables`) to the provider before the SDK answers.
import * as path from "node:path";
import type { EngineProps } from "../models/state";
import { sameValue } from "../plan/planner";
import { settingsChanges } from "../lifecycle/machine";
import { CONTAINER_SETTINGS } from "../models/container";
import { GUEST_SETTINGS } from "../models/guest";
import * as containerImpl from "../resources/impl/container";
import * as guestImpl from "../resources/impl/guest";
import type { ResourceName } from "./schema";

/** The protocol's PropertyDiff kinds (pulumirpc.PropertyDiff.Kind). */
export const DiffKind = { ADD: 0, ADD_REPLACE: 1, DELETE: 2, DELETE_REPLACE: 3, UPDATE: 4, UPDATE_REPLACE: 5 } as const;
export type DiffKindValue = (typeof DiffKind)[keyof typeof DiffKind];
export type DetailedDiff = Record<string, DiffKindValue>;

/** Inputs a program sets, per resource, for Host and Hypervisor (their lifecycles compare these). */
const PLAIN_INPUTS: Partial<Record<ResourceName, readonly string[]>> = {
  Host: ["connection"],
  Hypervisor: ["kind", "allowEmulation", "install", "bridge", "storageDir", "host"],
};

function kindOf(old: unknown, now: unknown, replace: boolean): DiffKindValue {
  if (old === undefined) return replace ? DiffKind.ADD_REPLACE : DiffKind.ADD;
  if (now === undefined) return replace ? DiffKind.DELETE_REPLACE : DiffKind.DELETE;
  return replace ? DiffKind.UPDATE_REPLACE : DiffKind.UPDATE;
}

/** The detailed diff of a lifecycle's diff result: every property it changes, replaced or updated in place. */
export function detailedDiffOf(
  name: ResourceName,
  olds: EngineProps,
  news: EngineProps,
  result: { changes: boolean; replaces: string[] },
): DetailedDiff {
  const out: DetailedDiff = {};
  if (!result.changes) return out;
  const replaced = new Set(result.replaces);
  const put = (k: string) => {
    const replace = replaced.has(k);
    if (out[k] === DiffKind.UPDATE_REPLACE && !replace) return;
    out[k] = kindOf(olds[k], news[k], replace);
  };
  if (name === "Container" || name === "Guest") {
    const impl = name === "Container" ? containerImpl : guestImpl;
    const plan = impl.planFor(olds, news);
    for (const p of plan.properties) put(impl.inputNameOf(p.property));
    for (const k of Object.keys(settingsChanges(name === "Container" ? CONTAINER_SETTINGS : GUEST_SETTINGS, olds, news))) put(k);
    // A new connection to the same host (e.g. a rotated key) changes no machine but is an update of the reference.
    if (!sameValue(olds.hypervisor, news.hypervisor)) put("hypervisor");
  } else {
    for (const k of PLAIN_INPUTS[name] ?? []) if (!sameValue(olds[k], news[k])) put(k);
  }
  for (const k of replaced) put(k);
  return out;
}

interface GrpcCall {
  request: {
    getUrn?(): string;
    getVariablesMap?(): { toArray(): [string, string][] };
    getArgs?(): { toJavaScript(): Record<string, unknown> } | undefined;
  };
}
type GrpcCallback = (err: unknown, resp?: unknown, ...rest: unknown[]) => void;
type Handler = (call: GrpcCall, callback: GrpcCallback) => unknown;
interface PropertyDiffMessage {
  setKind(k: number): PropertyDiffMessage;
  setInputdiff(b: boolean): PropertyDiffMessage;
}
interface DiffResponseMessage {
  getDetaileddiffMap(): { set(k: string, v: PropertyDiffMessage): void };
  setHasdetaileddiff(b: boolean): void;
}

/** The modules of the SDK copy that runs the server (its grpc and protobuf classes must be the very same). */
function sdkModule<T>(spec: string): T {
  const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
  return require(require.resolve(spec, { paths: [sdkDir] })) as T;
}

/**
 * Wraps the Diff and Configure handlers of the provider service the SDK's `main` registers (see the file comment).
 * Call before `main`.
 */
export function decorateProviderServer(opts: {
  detailedDiffFor(urn: string): DetailedDiff | undefined;
  configure(variables: Record<string, string>, args: Record<string, unknown> | undefined): void;
}): void {
  const grpc = sdkModule<{ Server: { prototype: { addService(service: unknown, impl: Record<string, Handler>): void } } }>("@grpc/grpc-js");
  const provproto = sdkModule<{ PropertyDiff: new () => PropertyDiffMessage }>("@pulumi/pulumi/proto/provider_pb");
  const original = grpc.Server.prototype.addService;
  grpc.Server.prototype.addService = function (service: unknown, impl: Record<string, Handler>) {
    const target = impl as Record<string, Handler>;
    const diff = target.diff;
    const configure = target.configure;
    // Methods of the SDK's server class: bound to it, and only its own server gets the decoration.
    if (typeof diff === "function" && typeof configure === "function") {
      const decorated: Record<string, Handler> = Object.create(impl) as Record<string, Handler>;
      decorated.diff = (call, callback) =>
        diff.call(impl, call, (err, resp, ...rest) => {
          const urn = call.request.getUrn?.() ?? "";
          const detailed = opts.detailedDiffFor(urn);
          if (!err && resp && detailed) {
            const m = resp as DiffResponseMessage;
            const map = m.getDetaileddiffMap();
            for (const [k, kind] of Object.entries(detailed)) map.set(k, new provproto.PropertyDiff().setKind(kind).setInputdiff(true));
            m.setHasdetaileddiff(true);
          }
          callback(err, resp, ...rest);
        });
      decorated.configure = (call, callback) => {
        opts.configure(Object.fromEntries(call.request.getVariablesMap?.().toArray() ?? []), call.request.getArgs?.()?.toJavaScript());
        return configure.call(impl, call, callback);
      };
      return original.call(this, service, decorated);
    }
    return original.call(this, service, impl);
  };
}
