// Pure types of change planning. No I/O, no Pulumi.

/** What applying a property change costs the running machine. Ordered weakest to strongest. */
export type Action = "none" | "live" | "restart" | "replace";
export const ACTION_ORDER: readonly Action[] = ["none", "live", "restart", "replace"];

/** How a driver can apply one kind of change to one property. */
export type ChangeRule =
  | { action: "live"; mechanism: string }
  | { action: "restart"; reason: string }
  | { action: "replace"; reason: string; destroysData?: boolean }
  | { action: "refuse"; reason: string };

/**
 * A driver's declarative capability row for one property.
 * Numeric properties use grow/shrink; others use change.
 * `liveUpTo` names another property of the OLD state that bounds a live grow
 * (e.g. memory is live only up to maxMemory fixed at boot); beyond it `beyondLimit` applies.
 */
export interface PropertyCapability<K extends string = string> {
  grow?: ChangeRule;
  shrink?: ChangeRule;
  change?: ChangeRule;
  liveUpTo?: K;
  beyondLimit?: ChangeRule;
}

/** A property value the planner compares: numbers, strings, booleans, or JSON-able structures. */
export type PlanValue = unknown;

/**
 * The keys of a plan view: a fixed key, or a per-item key `family:item` (e.g. `dataDiskSizeMiB:logs`) whose row is
 * the family's.
 */
export type ViewKey<K extends string> = K | `${K}:${string}`;

/** The flat map the planner compares, typed by the driver's capability keys. */
export type PlanView<K extends string = string> = { [P in ViewKey<K>]?: PlanValue };

/** One row per key of the view, and no other: a missing or stray row does not compile. */
export type CapabilityTable<K extends string = string> = { readonly [P in K]: PropertyCapability<K> };

/** The row key of a view key: `dataDiskSizeMiB:logs` → `dataDiskSizeMiB`. */
export function rowKey(viewKey: string): string {
  const i = viewKey.indexOf(":");
  return i < 0 ? viewKey : viewKey.slice(0, i);
}
