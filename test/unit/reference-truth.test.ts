// The reference says what the planner does: for every machine resource × form × capability row × kind of change
// (up, down, change, beyond a max, a data disk added or removed), the change text generated into schema.json and the
// README equals what planFor returns for that change, including the opt-in it needs. It reads the checked-in
// schema.json (what users read; the schema test keeps the README equal to it). A test of the test changes one
// capability row, which the planner then follows but the checked-in reference does not, and expects a mismatch.
import { test } from "node:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import * as container from "../../provider/resources/impl/container";
import * as guest from "../../provider/resources/impl/guest";
import { kvmCapabilities } from "../../provider/drivers/kvm/capabilities";
import type { PropertyCapability } from "../../provider/plan/types";
import { ChangeForm, directionWords, formsOf, kindsOf, MachineResourceName, sampleKey } from "../../provider/schema/changes";
import type { Plan } from "../../provider/plan/planner";
import { hypervisorRef } from "./plan-fixtures";

// Checked inputs are the engine's JSON; the mutators below edit them freely (a test may: any, for brevity).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type State = Record<string, any>;
type Kind = string;
type Mutator = (s: State, kind: Kind) => void;

const CONTAINER: Record<string, Mutator> = {
  name: (s) => (s.name = "web2"),
  template: (s) => (s.template = "debian:bookworm"),
  osFamily: (s) => (s.osFamily = "freebsd"),
  memoryMiB: (s, k) => (s.memory = k === "up" ? 1024 : 256),
  swapMiB: (s, k) => (s.swap = k === "up" ? 512 : 128),
  cpus: (s, k) => (s.cpus = k === "up" ? 3 : 1),
  cpuQuotaPercent: (s, k) => (s.cpuQuotaPercent = k === "up" ? 200 : 50),
  cpuShares: (s, k) => (s.cpuShares = k === "up" ? 2048 : 512),
  diskBacking: (s) => delete s.disk,
  diskSizeMiB: (s, k) => (s.disk = { ...s.disk, size: k === "up" ? 1200 : 300 }),
  diskFstype: (s) => (s.disk = { ...s.disk, fstype: s.disk.fstype === "xfs" ? "btrfs" : "xfs" }),
  network: (s) => (s.network = { ...s.network, address: "10.0.0.9/24" }),
  environment: (s) => (s.environment = { MODE: "b" }),
  autostart: (s) => (s.autostart = !s.autostart),
  running: (s) => (s.running = !s.running),
  hostIdentity: (s) => (s.hypervisor = { ...s.hypervisor, host: { ...s.hypervisor.host, facts: { ...s.hypervisor.host.facts, machineId: "0".repeat(32) } } }),
};

const GUEST: Record<string, Mutator> = {
  name: (s) => (s.name = "vm2"),
  virtualization: (s) => (s.virtualization = s.virtualization === "full" ? "para" : "full"),
  vcpus: (s, k) => {
    if (k === "up") s.vcpus = 3;
    else if (k === "down") s.vcpus = 1;
    else { s.vcpus = 6; s.maxVcpus = 8; }
  },
  maxVcpus: (s) => (s.maxVcpus = 8),
  memoryMiB: (s, k) => {
    if (k === "up") s.memory = 768;
    else if (k === "down") s.memory = 256;
    else { s.memory = 2048; s.maxMemory = 2048; }
  },
  maxMemoryMiB: (s) => (s.maxMemory = 2048),
  boot: (s) => (s.boot = { ...s.boot, cmdline: "console=hvc0 quiet" }),
  baseImage: (s) => (s.rootDisk = { ...s.rootDisk, baseImage: "/srv/images/other.img" }),
  rootDiskSizeMiB: (s, k) => (s.rootDisk = { ...s.rootDisk, size: k === "up" ? 2048 : 512 }),
  rootDiskMode: (s) => (s.rootDisk = { ...s.rootDisk, mode: "copy" }),
  network: (s) => (s.network = { bridge: "br9" }),
  nicPresent: (s, k) => (s.nics = k === "added" ? [...(s.nics ?? []), { bridge: "br9", mac: "52:54:00:00:00:09" }] : []),
  nicBridge: (s) => (s.nics = [{ ...s.nics[0], bridge: "br9" }]),
  nicStatic: (s) => (s.nics = [{ ...s.nics[0], addresses: ["10.9.9.9/24"] }]),
  cloudInit: (s) => (s.cloudInit = { userData: "#cloud-config\n" }),
  autostart: (s) => (s.autostart = !s.autostart),
  running: (s) => (s.running = !s.running),
  emulated: (s) => (s.hypervisor = { ...s.hypervisor, emulated: !s.hypervisor.emulated }),
  hostIdentity: (s) => (s.hypervisor = { ...s.hypervisor, host: { ...s.hypervisor.host, facts: { ...s.hypervisor.host.facts, machineId: "0".repeat(32) } } }),
  dataDiskPresent: (s, k) => (s.dataDisks = k === "added" ? [...s.dataDisks, { name: "extra", size: 64, bus: "virtio", deleteOnDestroy: false }] : s.dataDisks.slice(1)),
  dataDiskSataPresent: (s, k) => (s.dataDisks = k === "added" ? [...s.dataDisks, { name: "extra", size: 64, bus: "sata", deleteOnDestroy: false }] : s.dataDisks.slice(0, 1)),
  dataDiskSizeMiB: (s, k) => (s.dataDisks = [{ ...s.dataDisks[0], size: k === "up" ? 256 : 64 }, ...s.dataDisks.slice(1)]),
  dataDiskBus: (s) => (s.dataDisks = [{ ...s.dataDisks[0], bus: "scsi" }, ...s.dataDisks.slice(1)]),
};

/** The view key a mutation of this row changes (per-item rows name their disk). */
function viewKey(row: string, kind: Kind): string {
  if (row === "dataDiskPresent") return `${row}:${kind === "added" ? "extra" : "data"}`;
  if (row === "dataDiskSataPresent") return `${row}:${kind === "added" ? "extra" : "logs"}`;
  if (row === "nicPresent") return `${row}:${kind === "added" ? "52:54:00:00:00:09" : "52:54:00:00:00:01"}`;
  if (row.startsWith("nic")) return `${row}:52:54:00:00:00:01`;
  return row.startsWith("dataDisk") ? `${row}:data` : row;
}

function baseRaw(resource: MachineResourceName, form: ChangeForm): State {
  if (resource === "Container") {
    return {
      name: "web", template: "busybox", memory: "512MiB", swap: "256MiB", cpus: 2, cpuQuotaPercent: 100, cpuShares: 1024,
      disk: { size: "600MiB", fstype: form.label }, network: { address: "10.0.0.5/24" }, environment: { MODE: "a" },
      hypervisor: hypervisorRef("lxc"),
    };
  }
  const full = form.label === "full";
  return {
    name: "vm", virtualization: form.label, vcpus: 2, maxVcpus: 4, memory: "512MiB", maxMemory: "1GiB",
    boot: { kernel: "/srv/images/vmlinuz", cmdline: full ? "console=ttyS0" : "console=hvc0" },
    rootDisk: { baseImage: "/srv/images/base.img", size: "1GiB" }, dataDisks: [{ name: "data", size: "128MiB" }, { name: "logs", size: "64MiB", bus: "sata" }],
    nics: [{ bridge: "br0", mac: "52:54:00:00:00:01" }], hypervisor: hypervisorRef(full ? "kvm" : "xen"),
  };
}

/** What planFor says about one view key, in the reference's words. */
function phraseFromPlan(plan: Plan, key: string, name: string): string {
  const p = plan.properties.find((x) => x.property === key);
  assert.ok(p, `the plan has no entry for ${key}: ${JSON.stringify(plan.properties.map((x) => x.property))}`);
  const failure = plan.failures.map((f) => f.reason).find((r) => r.startsWith(`changing ${name} `) || r.startsWith(`${name} cannot change`));
  switch (p.action) {
    case "live":
      assert.equal(failure, undefined);
      return `live (${p.mechanism})`;
    case "restart":
      assert.match(failure ?? "", /Set allowRestart: true/, `a restart of ${key} asks for allowRestart`);
      return "restart (needs allowRestart)";
    case "replace":
      if (failure?.startsWith(`${name} cannot change`)) return "refused";
      if (failure) {
        assert.match(failure, /Set allowDataLoss: true/);
        return "replace (needs allowDataLoss)";
      }
      return "replace";
  }
}

/** Parses a reference cell (grammar in provider/schema/changes.ts): form → sub-property → kind → phrase. */
export function parseCell(cell: string, formLabels: string[]): Map<string, Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, Map<string, string>>>();
  const pieces = cell.split(" · ");
  const labelled = pieces.every((p) => formLabels.some((l) => p.startsWith(`${l}: `)));
  for (const piece of pieces) {
    const form = labelled ? formLabels.find((l) => piece.startsWith(`${l}: `))! : "*";
    const body = labelled ? piece.slice(form.length + 2) : piece;
    const subs = new Map<string, Map<string, string>>();
    const parts = body.startsWith("`") ? body.split(/(?:^| )`([^`]+)` /).slice(1) : ["", body];
    for (let i = 0; i < parts.length; i += 2) {
      const kinds = new Map<string, string>();
      for (const k of parts[i + 1].split("; ")) {
        const m = /^(up|down|change|added|removed|beyond [^:]+): (.*)$/.exec(k);
        kinds.set(m ? m[1] : "", m ? m[2] : k);
      }
      subs.set(parts[i], kinds);
    }
    out.set(form, subs);
  }
  return out;
}

interface SchemaDoc {
  resources: Record<string, { inputProperties: Record<string, { description?: string }> }>;
}
const checkedInSchema = (): SchemaDoc => JSON.parse(readFileSync(join(__dirname, "..", "..", "..", "schema.json"), "utf8")) as SchemaDoc;

function referenceCell(schema: SchemaDoc, resource: MachineResourceName, input: string): string {
  const d = schema.resources[`pulumi-virt:index:${resource}`].inputProperties[input]?.description ?? "";
  const at = d.indexOf("Change: ");
  assert.ok(at >= 0, `${resource}.${input} has no change text in the reference`);
  return d.slice(at + "Change: ".length).replace(/\.$/, "");
}

const IMPL = { Container: container, Guest: guest };
const MUTATORS = { Container: CONTAINER, Guest: GUEST };

/** Walks every row and kind; returns the mismatches between the reference and planFor. */
async function mismatches(schema: SchemaDoc): Promise<string[]> {
  const bad: string[] = [];
  for (const resource of ["Container", "Guest"] as const) {
    const forms = formsOf(resource);
    const labels = forms.map((f) => f.label);
    const claimed = new Map<string, number>();
    const visited = new Map<string, number>();
    for (const form of forms) {
      const impl = IMPL[resource];
      const base = await impl.check({}, baseRaw(resource, form));
      assert.deepEqual(base.failures, [], `${resource} ${form.label} base is valid`);
      for (const [row, cap] of Object.entries(form.table)) {
        const mutate = MUTATORS[resource][row];
        assert.ok(mutate, `no mutation for ${resource} row ${row}: add one to this test`);
        const input = form.driver.inputName(sampleKey(row));
        const cell = parseCell(referenceCell(schema, resource, input), labels);
        const subs = cell.get(form.label) ?? cell.get("*");
        const label = form.driver.displayName(sampleKey(row));
        const kinds = subs?.get(label) ?? (subs?.size === 1 ? subs.get("") : undefined);
        const cellId = `${resource}.${input}@${cell.has(form.label) ? form.label : "*"}`;
        claimed.set(cellId, [...(subs?.values() ?? [])].reduce((n, k) => n + k.size, 0));
        for (const [word] of kindsOf(row, cap, form.driver.displayName)) {
          const kind = word ?? "change";
          const olds = structuredClone(base.inputs) as State;
          const news = structuredClone(base.inputs) as State;
          news.allowRestart = false;
          news.allowDataLoss = false;
          mutate(news, kind);
          const plan = impl.planFor(olds, news);
          const key = viewKey(row, kind);
          const said = kinds?.get(word ?? "");
          const did = phraseFromPlan(plan, key, form.driver.displayName(key));
          if (said !== did) bad.push(`${resource} ${form.label} ${label} ${kind}: reference says ${JSON.stringify(said)}, planFor does ${JSON.stringify(did)}`);
          visited.set(cellId, (visited.get(cellId) ?? 0) + 1);
        }
      }
    }
    // Nothing claimed that the walk did not check (a form-less cell is shared by all forms: count it once per form).
    for (const [id, n] of claimed) {
      const seen = visited.get(id) ?? 0;
      const shared = id.endsWith("@*") ? forms.length : 1;
      if (seen !== n * shared) bad.push(`${id}: the reference lists ${n} kinds of change, the walk checked ${seen / shared}`);
    }
  }
  return bad;
}

test("reference truth: every resource × form × property × kind of change says what planFor does, with its opt-in", async () => {
  assert.deepEqual(await mismatches(checkedInSchema()), []);
});

test("reference truth: the walk covers up, down, change, beyond a max, added and removed", () => {
  const words = new Set<string>();
  for (const resource of ["Container", "Guest"] as const) {
    for (const form of formsOf(resource)) {
      for (const [row, cap] of Object.entries(form.table)) for (const [w] of kindsOf(row, cap, form.driver.displayName)) words.add((w ?? "change").split(" ")[0]);
    }
  }
  assert.deepEqual([...words].sort(), ["added", "beyond", "change", "down", "removed", "up"]);
  assert.deepEqual(directionWords("dataDiskPresent"), ["added", "removed"]);
});

test("reference truth, test of the test: one changed capability row is caught", async () => {
  // The kvm memory row now says a shrink needs a restart; the checked-in reference still says live.
  const row = kvmCapabilities.memoryMiB as PropertyCapability & { shrink?: PropertyCapability["shrink"] };
  const saved = row.shrink;
  row.shrink = { action: "restart", reason: "test of the test" };
  try {
    const bad = await mismatches(checkedInSchema());
    assert.equal(bad.length, 1, bad.join("\n"));
    assert.match(bad[0], /Guest full memory down: reference says "live \(virtio balloon\)", planFor does "restart \(needs allowRestart\)"/);
  } finally {
    row.shrink = saved;
  }
});

test("every backend's capability table has a row for each key of its view and no other", async () => {
  for (const resource of ["Container", "Guest"] as const) {
    for (const form of formsOf(resource)) {
      const base = await IMPL[resource].check({}, baseRaw(resource, form));
      const rows = new Set(Object.keys(form.table));
      const keys = new Set(Object.keys(form.driver.view(base.inputs as never)).map((k) => k.split(":")[0]));
      assert.deepEqual([...keys].sort(), [...rows].sort(), `${resource} ${form.label}`);
    }
  }
});
