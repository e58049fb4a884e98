// `pulumi-virt review`: turns `pulumi preview --json` into a change review for humans and pull requests.
/** "settings" is a change of provider settings only (allowRestart, a timeout, ...): no machine is touched. */
export type ReviewAction = "live" | "restart" | "replace" | "create" | "delete" | "settings";

export interface ReviewRow {
  resource: string;
  type: string;
  property: string;
  from: string;
  to: string;
  action: ReviewAction;
  reason: string;
}

export interface Review {
  rows: ReviewRow[];
  totals: Record<ReviewAction, number>;
}

const TYPE_PREFIX = "pulumi-nodejs:dynamic/pulumi-virt:";

function nameOf(urn: string): string {
  return urn.split("::").pop() ?? urn;
}

/** The part of one step of `pulumi preview --json` the review reads. */
interface PreviewStep {
  op?: string;
  urn?: string;
  newState?: { type?: string; inputs?: { plannedChanges?: unknown } };
  oldState?: { type?: string };
  replaceReasons?: string[];
  diffReasons?: string[];
}

function typeOf(step: PreviewStep): string {
  const t: string = step?.newState?.type ?? step?.oldState?.type ?? String(step?.urn ?? "").split("::")[2] ?? "";
  return t.startsWith(TYPE_PREFIX) ? t.slice(TYPE_PREFIX.length) : t;
}

/** "live: 256 → 512: applied live (virtio balloon)" → parts. */
export function parsePlanned(text: string): { action: ReviewAction; from: string; to: string; reason: string } | undefined {
  const m = /^(live|restart|replace|settings only): (.*)$/s.exec(text);
  if (!m) return undefined;
  const action: ReviewAction = m[1] === "settings only" ? "settings" : (m[1] as "live" | "restart" | "replace");
  const rest = m[2];
  const ft = /^(.*?) → (.*?): (.*)$/s.exec(rest);
  if (!ft) return { action, from: "", to: "", reason: rest };
  return { action, from: ft[1], to: ft[2], reason: ft[3] };
}

/**
 * Properties that can carry secrets. The provider already plans them as [secret]; a plan written by an older
 * release (or edited) must still never put a value into a report meant for a pull request.
 */
const SECRET_PROPERTIES = new Set(["environment", "cloudInit"]);
const MARKS = /^(unset|\[secret(, changed)?\]|\{("[A-Za-z_][A-Za-z0-9_]*":"\[secret(, changed)?\]",?)*\})$/;

function redactRow(p: { action: ReviewAction; from: string; to: string; reason: string }) {
  const safe = (v: string) => (MARKS.test(v) ? v : "[secret]");
  const from = safe(p.from);
  const to = safe(p.to);
  // The reason repeats "from → to" before the rule's own words; keep only the rule's words if it leaks a value.
  const reason = p.from === from && p.to === to ? p.reason : "value withheld (secret)";
  return { ...p, from, to, reason };
}

function isOurs(step: PreviewStep): boolean {
  const t: string = step?.newState?.type ?? step?.oldState?.type ?? "";
  return t.startsWith(TYPE_PREFIX) || String(step?.urn ?? "").includes(TYPE_PREFIX);
}

export function buildReview(preview: unknown): Review {
  const rows: ReviewRow[] = [];
  const seen = new Set<string>();
  const steps = (preview as { steps?: PreviewStep[] } | undefined)?.steps ?? [];
  for (const step of steps) {
    if (!isOurs(step)) continue;
    const op = step.op ?? "";
    const urn = step.urn ?? "";
    const resource = nameOf(urn);
    const type = typeOf(step);
    const key = urn;
    if (op === "same" || op === "read" || op === "refresh") continue;
    if (op === "create") {
      rows.push({ resource, type, property: "(resource)", from: "", to: "", action: "create", reason: "new resource" });
      continue;
    }
    if (op === "delete") {
      rows.push({ resource, type, property: "(resource)", from: "", to: "", action: "delete", reason: "removed from the program" });
      continue;
    }
    // A replacement shows as several steps (replace, create-replacement, delete-replaced): report it once.
    if (seen.has(key)) continue;
    seen.add(key);
    const planned = step?.newState?.inputs?.plannedChanges;
    const before = rows.length;
    if (planned && typeof planned === "object") {
      const parsed = Object.entries(planned as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .flatMap(([property, text]) => {
          const p = typeof text === "string" ? parsePlanned(text) : undefined;
          return p ? [{ resource, type, property, ...(SECRET_PROPERTIES.has(property.split(/[.[]/)[0]) ? redactRow(p) : p) }] : [];
        });
      // Settings that accompany a machine change are its opt-ins; alone, they are shown as what they are.
      const machine = parsed.filter((r) => r.action !== "settings");
      // The safety net's step (snapshotBefore) goes with the disruptive rows: "restart — a snapshot is taken first ...".
      const net = (planned as Record<string, unknown>).snapshotBefore;
      if (typeof net === "string" && /^(restart|replace) — /.test(net)) {
        for (const r of machine) if (r.action === "restart" || r.action === "replace") r.reason += `; ${net.replace(/^(restart|replace) — /, "")}`;
      }
      rows.push(...(machine.length ? machine : parsed));
    }
    if (rows.length === before) {
      // Not planned by us (Host, Hypervisor) or nothing per property: fall back to the engine's classification.
      const replace = op === "replace" || op === "create-replacement" || op === "delete-replaced";
      const props: string[] = (replace ? step.replaceReasons : step.diffReasons) ?? step.diffReasons ?? [];
      for (const property of props.length ? props : ["(resource)"]) {
        rows.push({ resource, type, property, from: "", to: "", action: replace ? "replace" : "live", reason: replace ? "the engine replaces this resource" : "updated in place without touching guests" });
      }
    }
  }
  const totals: Record<ReviewAction, number> = { live: 0, restart: 0, replace: 0, create: 0, delete: 0, settings: 0 };
  for (const r of rows) totals[r.action]++;
  return { rows, totals };
}

const ORDER: ReviewAction[] = ["replace", "restart", "live", "create", "delete", "settings"];

function totalsLine(t: Record<ReviewAction, number>): string {
  const settings = t.settings ? `, ${t.settings} settings only` : "";
  return `${t.live} live, ${t.restart} restart, ${t.replace} replace, ${t.create} create, ${t.delete} delete${settings}`;
}

function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function renderMarkdown(review: Review): string {
  const lines = ["## pulumi-virt change review", "", `**${totalsLine(review.totals)}**`, ""];
  if (review.rows.length === 0) return [...lines, "No changes to virtual machines or containers."].join("\n") + "\n";
  lines.push("| resource | type | property | change | action | reason |", "|---|---|---|---|---|---|");
  for (const r of sortRows(review.rows)) {
    const change = r.from || r.to ? `${r.from} → ${r.to}` : "";
    const action = r.action === "restart" || r.action === "replace" ? `**${r.action.toUpperCase()}**` : r.action === "settings" ? "settings only" : r.action;
    lines.push(`| ${cell(r.resource)} | ${cell(r.type)} | ${cell(r.property)} | ${cell(change)} | ${action} | ${cell(r.reason)} |`);
  }
  return lines.join("\n") + "\n";
}

export function renderTable(review: Review): string {
  const header = ["RESOURCE", "TYPE", "PROPERTY", "CHANGE", "ACTION", "REASON"];
  const data = sortRows(review.rows).map((r) => [r.resource, r.type, r.property, r.from || r.to ? `${r.from} → ${r.to}` : "", r.action === "settings" ? "SETTINGS ONLY" : r.action.toUpperCase(), r.reason]);
  const widths = header.map((h, i) => Math.min(i === 5 ? 200 : 40, Math.max(h.length, ...data.map((d) => [...d[i]].length))));
  const fmt = (cols: string[]) => cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  const out = [fmt(header), ...data.map(fmt), "", `Totals: ${totalsLine(review.totals)}`];
  if (review.rows.length === 0) out.splice(1, 0, "(no changes to virtual machines or containers)");
  return out.join("\n") + "\n";
}

function sortRows(rows: ReviewRow[]): ReviewRow[] {
  return [...rows].sort((a, b) => ORDER.indexOf(a.action) - ORDER.indexOf(b.action) || a.resource.localeCompare(b.resource) || a.property.localeCompare(b.property));
}

/** Exit code policy: --fail-on restart fails on restarts and replacements; --fail-on replace only on replacements. */
export function shouldFail(review: Review, failOn: "restart" | "replace" | undefined): boolean {
  if (!failOn) return false;
  if (failOn === "replace") return review.totals.replace > 0;
  return review.totals.replace > 0 || review.totals.restart > 0;
}
