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
export interface PropertyCapability {
  grow?: ChangeRule;
  shrink?: ChangeRule;
  change?: ChangeRule;
  liveUpTo?: string;
  beyondLimit?: ChangeRule;
  /** Human name with unit for messages, e.g. "memory (MiB)". */
  label?: string;
}

export type CapabilityTable = Readonly<Record<string, PropertyCapability>>;
