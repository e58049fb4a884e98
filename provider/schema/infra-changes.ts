// The "change" column of the Network and StoragePool reference, rendered from the same capability tables their
// planners use (drivers/net/capabilities.ts, drivers/pool/capabilities.ts).
import { networkCapabilities, NETWORK_INPUT, NETWORK_KEYS } from "../drivers/net/capabilities";
import { POOL_CAPABILITIES, POOL_INPUT, POOL_KEYS } from "../drivers/pool/capabilities";
import type { CapabilityTable, PropertyCapability } from "../plan/types";
import { kindsOf, phraseOf } from "./changes";

function rowText(key: string, cap: PropertyCapability): string {
  return kindsOf(key, cap, (k) => k).map(([word, rule]) => (word ? `${word}: ` : "") + phraseOf(rule).replace(" (needs allowRestart)", "")).join("; ");
}

function column<K extends string>(keys: readonly K[], inputOf: Record<K, string>, table: CapabilityTable<K>): Record<string, string> {
  const byInput: Record<string, string[]> = {};
  for (const k of keys) {
    const input = inputOf[k].split(".")[0];
    if (input.startsWith("(")) continue;
    const text = rowText(k, table[k]);
    (byInput[input] ??= []).push(inputOf[k] === input ? text : `\`${inputOf[k]}\` ${text}`);
  }
  return Object.fromEntries(Object.entries(byInput).map(([k, v]) => [k, v.join(" ")]));
}

/** Network: with dnsmasq running before and after (the case where a configuration change restarts it). */
export function networkChangeColumn(): Record<string, string> {
  const col = column(NETWORK_KEYS, NETWORK_INPUT, networkCapabilities(true, true));
  for (const k of Object.keys(col)) col[k] = col[k].replace(/\brestart\b/g, "restart (dnsmasq only)");
  return col;
}

export function poolChangeColumn(): Record<string, string> {
  return column(POOL_KEYS, POOL_INPUT, POOL_CAPABILITIES);
}
