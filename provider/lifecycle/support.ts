// Helpers of the lifecycles (loaded inside the dynamic-provider process only): argument parsing, unknown values,
// the transport for a host, and errors that name the resource, the host and the step.
import { createHash } from "node:crypto";
import { z } from "zod";
import type { Remote } from "../ssh/types";
import { zodFailures } from "../models/common";
import type { HostRef } from "../models/host";
import { hypervisorRefSchema } from "../models/hypervisor";

/** The value the engine sends for properties not known yet during preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const PROVIDER_KEY = "__provider";

export function isUnknown(v: unknown, seen: Set<object> = new Set()): boolean {
  if (v === UNKNOWN) return true;
  // A cyclic input (a hand-built object) is left to the schema, which refuses it naming the property.
  if (v && typeof v === "object" && !seen.has(v)) {
    seen.add(v);
    return Object.values(v as Record<string, unknown>).some((x) => isUnknown(x, seen));
  }
  return false;
}

export interface Failure {
  property: string;
  reason: string;
}

/** Parses user args with a zod schema; returns the value or check failures naming each property. */
export function parseArgs<T extends z.ZodTypeAny>(
  schema: T,
  raw: Record<string, unknown>,
  omit: string[],
): { value?: z.infer<T>; failures: Failure[] } {
  const input: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!omit.includes(k) && k !== PROVIDER_KEY) input[k] = v;
  // Unknown values (preview) cannot be validated yet; they are validated again at apply time.
  for (const [k, v] of Object.entries(input)) if (isUnknown(v)) delete input[k];
  const res = schema.safeParse(input);
  if (res.success) return { value: res.data, failures: [] };
  const failures = zodFailures(res.error).filter((f) => !(f.property.split(".")[0] in raw && isUnknown(raw[f.property.split(".")[0]])));
  return { failures };
}

export function hasUnknowns(raw: Record<string, unknown>): boolean {
  return Object.entries(raw).some(([k, v]) => k !== PROVIDER_KEY && isUnknown(v));
}

/** Lazily loads the transport so the serialized provider stays small. */
export function remoteFor(host: HostRef): Remote {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { getRemote } = require("../ssh/remote") as typeof import("../ssh/remote");
  return getRemote(host.connection);
}

export { forRefresh } from "../ssh/refresh";

export function hostLabel(host: HostRef | undefined): string {
  if (!host) return "the host";
  return `host "${host.facts?.hostname || host.connection?.host}"`;
}

/** Errors that reach the user: name the resource, the host and the step. Secrets are scrubbed by the transport. */
export function stepError(what: string, host: HostRef, step: string, err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  return new Error(`${what} on ${hostLabel(host)}: ${step} failed: ${msg}`);
}

/** Marks an error so the engine records a partially created resource in state instead of forgetting it. */
export function partialCreate(err: Error, id: string, properties: Record<string, unknown>): Error {
  return Object.assign(err, { id, properties, reasons: [err.message] });
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** Check failures of a HypervisorRef that may be hand-built (not computed by a Hypervisor), named under `hypervisor`. */
export function hypervisorRefFailures(hv: unknown): Failure[] {
  const r = hypervisorRefSchema.safeParse(hv);
  return r.success ? [] : zodFailures(r.error, "hypervisor");
}

/**
 * The token that says on the host which resource owns a machine: derived from the resource's id, which is random
 * per resource (made at create) and kept in state. Derived rather than stored alone, so a state from a release
 * before tokens has one too (such a resource claims its machine on its next update), and a claim written by an
 * update that then failed is still this resource's on the retry.
 */
export function ownerTokenOf(id: string): string {
  return createHash("sha256").update(`pulumi-virt owner ${id}`).digest("hex").slice(0, 32);
}

export function ownedElsewhereMessage(what: string, host: HostRef, action: string): string {
  return (
    `${what} on ${hostLabel(host)} belongs to another pulumi-virt resource (another stack, or another resource with ` +
    `the same name): it was not ${action}. Choose another name, or set adopt: true to take it over from that resource.`
  );
}
