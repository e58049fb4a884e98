// The "change" text of the reference (schema.json descriptions, README tables), rendered from the effective
// capability tables the planner uses: the drivers' own tables, through the registry. Nothing here has its own rules.
//
// Grammar (a unit test parses it back and compares every entry with what planFor returns):
//   cell  := form (" · " form)*            form  := [formLabel ": "] sub (" " sub)*
//   sub   := ["`" subLabel "` "] kinds      kinds := kind ("; " kind)*
//   kind  := [kindWord ": "] phrase         phrase := "live (<mechanism>)" | "restart (needs allowRestart)"
//                                                   | "replace" | "replace (needs allowDataLoss)" | "refused"
import type { MachineDriver } from "../drivers/contract";
import { BACKEND_KINDS, backendFor } from "../drivers/registry";
import { CONTAINER_SETTINGS } from "../models/container";
import { GUEST_SETTINGS } from "../models/guest";
import type { MachineState } from "../models/state";
import type { CapabilityTable, ChangeRule, PropertyCapability } from "../plan/types";

export type MachineResourceName = "Container" | "Guest";

export interface ChangeForm {
  /** "full", "para", or a variant such as "xfs". */
  label: string;
  driver: MachineDriver<MachineState, string, unknown>;
  table: CapabilityTable;
}

/** Every backend of a resource, with its reference variants (e.g. one per container filesystem). */
export function formsOf(resource: MachineResourceName): ChangeForm[] {
  const out: ChangeForm[] = [];
  for (const kind of BACKEND_KINDS) {
    const b = backendFor(kind);
    const driver: MachineDriver<MachineState, string, unknown> | undefined = resource === "Container" ? b.container : b.guest;
    if (!driver) continue;
    const variants = Object.entries(driver.referenceVariants ?? {});
    if (variants.length === 0) out.push({ label: driver.form, driver, table: driver.capabilities(undefined) });
    for (const [label, state] of variants) out.push({ label, driver, table: driver.capabilities(state as MachineState) });
  }
  return out;
}

/** What one rule costs, with the opt-in it needs. */
export function phraseOf(r: ChangeRule): string {
  switch (r.action) {
    case "live":
      return `live (${r.mechanism})`;
    case "restart":
      return "restart (needs allowRestart)";
    case "replace":
      return r.destroysData ? "replace (needs allowDataLoss)" : "replace";
    case "refuse":
      return "refused";
  }
}

/** Words for the two directions of a numeric row: sizes grow and shrink, per-item presence adds and removes. */
export function directionWords(rowKey: string): [string, string] {
  return rowKey.endsWith("Present") ? ["added", "removed"] : ["up", "down"];
}

/** A sample per-item view key for a family row (what displayName needs to name it). */
export function sampleKey(rowKey: string): string {
  return rowKey.startsWith("dataDisk") ? `${rowKey}:<name>` : rowKey.startsWith("nic") ? `${rowKey}:<mac>` : rowKey;
}

/** The kinds of change one row distinguishes, in reference order, with the rule for each. */
export function kindsOf(rowKey: string, cap: PropertyCapability, displayName: (k: string) => string): [string | undefined, ChangeRule][] {
  const [up, down] = directionWords(rowKey);
  const out: [string | undefined, ChangeRule][] = [];
  if (cap.grow) out.push([up, cap.grow]);
  if (cap.liveUpTo && cap.grow?.action === "live") {
    out.push([`beyond ${displayName(cap.liveUpTo)}`, cap.beyondLimit ?? { action: "restart", reason: `above ${cap.liveUpTo}` }]);
  }
  if (cap.shrink) out.push([down, cap.shrink]);
  if (cap.change) out.push([cap.grow || cap.shrink ? "change" : undefined, cap.change]);
  return out;
}

/** The rows of a form that belong to one input property. */
export function rowsFor(form: ChangeForm, input: string): string[] {
  return Object.keys(form.table).filter((k) => form.driver.inputName(sampleKey(k)) === input);
}

function formText(form: ChangeForm, input: string): string | undefined {
  const keys = rowsFor(form, input);
  if (keys.length === 0) return undefined;
  const subs = keys.map((k) => {
    const label = form.driver.displayName(sampleKey(k));
    const kinds = kindsOf(k, form.table[k], form.driver.displayName).map(([word, rule]) => (word ? `${word}: ` : "") + phraseOf(rule)).join("; ");
    return keys.length === 1 && label === input ? kinds : `\`${label}\` ${kinds}`;
  });
  return subs.join(" ");
}

/** What the reference says of a provider setting. */
export const SETTINGS_ONLY_TEXT = "settings only (the machine is not touched)";

/** The change column of one input property of a machine resource; undefined for inputs no row governs. */
export function changeColumn(resource: MachineResourceName, input: string): string | undefined {
  const settings: readonly string[] = resource === "Container" ? CONTAINER_SETTINGS : GUEST_SETTINGS;
  if (settings.includes(input)) return SETTINGS_ONLY_TEXT;
  const perForm = formsOf(resource).map((f) => [f.label, formText(f, input)] as const).filter((x): x is readonly [string, string] => x[1] !== undefined);
  if (perForm.length === 0) return undefined;
  const texts = [...new Set(perForm.map(([, t]) => t))];
  return texts.length === 1 ? texts[0] : perForm.map(([label, t]) => `${label}: ${t}`).join(" · ");
}
