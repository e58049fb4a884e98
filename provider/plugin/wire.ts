// The plugin protocol's property values as the Node SDK's provider server hands them over (protobuf Structs turned
// into JavaScript): secrets arrive wrapped in the engine's secret signature, unknowns as the unknown sentinel (which
// the lifecycles already understand). The lifecycles take plain values, so secrets are unwrapped on the way in and
// wrapped again on the way out.
import type { EngineProps } from "../models/state";

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

type Wire = Record<string, unknown>;

function isSecretValue(v: unknown): v is { value: unknown } {
  return !!v && typeof v === "object" && (v as Wire)[SIG_KEY] === SECRET_SIG;
}

/** A plain copy of `v` with every secret unwrapped (deeply). */
export function unwrapSecrets(v: unknown): unknown {
  if (isSecretValue(v)) return unwrapSecrets(v.value);
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  return v;
}

/** The top-level properties the engine sent as secrets, or that hold a secret inside. */
export function secretKeysOf(props: Wire | undefined): string[] {
  const holds = (v: unknown): boolean =>
    isSecretValue(v) || (Array.isArray(v) ? v.some(holds) : !!v && typeof v === "object" && Object.values(v).some(holds));
  return Object.entries(props ?? {}).filter(([, v]) => holds(v)).map(([k]) => k);
}

export function plainProps(props: Wire | undefined): EngineProps {
  return (unwrapSecrets(props ?? {}) ?? {}) as EngineProps;
}

/**
 * Properties for the engine: the listed keys wrapped as secrets, and no `undefined` anywhere (protobuf Structs
 * refuse it; a missing key and an undefined one mean the same).
 */
export function toWire(props: EngineProps, secretKeys: Iterable<string>): Wire {
  const plain = JSON.parse(JSON.stringify(props ?? {})) as Wire;
  for (const k of new Set(secretKeys)) if (plain[k] !== undefined && plain[k] !== null) plain[k] = { [SIG_KEY]: SECRET_SIG, value: plain[k] };
  return plain;
}
