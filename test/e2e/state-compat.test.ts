// A stack created by the release before the driver-contract refactor (issue 18) previews with no changes with
// this checkout: same inputs, same state keys, same provider text handling.
//
// The fixtures in test/e2e/fixtures/state-before-i18/ are `pulumi stack export --show-secrets` of stacks that the
// previous code created on the lab (a container and a kvm guest on h1; a Xen PV guest on the Xen host), with the
// lab-specific values (addresses, host keys, the lab key, host facts, the image directory) replaced by placeholders.
// This test fills them in with today's lab values, imports the state into a new stack and runs
// `pulumi preview --expect-no-changes`. Preview plans from the saved state alone (no machine is read), so the
// machines need not exist; the stack is removed without a destroy.
//
// PULUMI_VIRT_RECORD_STATE=1 re-records the fixtures with the code of this checkout (only meaningful on the commit
// before the refactor, which is how they were made).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PreviewJson, REPO_ROOT, TestStack } from "./harness";
import { ensureLab, loadLab } from "../support/lab";
import { getRemote } from "../../provider/ssh/remote";
import { SshPool } from "../../provider/ssh/pool";
import { readHostFacts } from "../../provider/drivers/host/facts";

const FIXTURES = join(REPO_ROOT, "test/e2e/fixtures/state-before-i18");
const RECORD = process.env.PULUMI_VIRT_RECORD_STATE === "1";
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const labDir = process.env.PULUMI_VIRT_LAB_DIR ?? "/run/pulumi-virt-lab";

interface LabValues {
  address: string;
  port: number;
  user: string;
  hostKey: string;
  privateKey: string;
  images: string;
  facts: unknown;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function guestImageDir(): string {
  return execFileSync("bash", [join(REPO_ROOT, "lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
}

async function factsOf(h: { address: string; port: number; user: string; hostKey: string; privateKey: string }): Promise<unknown> {
  return readHostFacts(getRemote({ host: h.address, port: h.port, user: h.user, privateKey: h.privateKey, hostKey: h.hostKey }));
}

function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
}

/** Rewrites every value of a deployment, looking inside plaintext secrets too. */
function mapValues(v: Json, f: (x: Json) => Json | undefined): Json {
  const replaced = f(v);
  if (replaced !== undefined) return replaced;
  if (Array.isArray(v)) return v.map((x) => mapValues(x, f));
  if (v && typeof v === "object") {
    if (v[SECRET_SIG] !== undefined && typeof v.plaintext === "string") {
      return { ...v, plaintext: JSON.stringify(mapValues(JSON.parse(v.plaintext) as Json, f)) };
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapValues(x, f)]));
  }
  if (typeof v === "string") return v;
  return v;
}

/** Lab values → placeholders (record) or placeholders → lab values (replay). */
function templatize(state: Json, lab: LabValues): Json {
  const facts = canonical(lab.facts);
  return mapValues(state, (x) => {
    if (x && typeof x === "object" && !Array.isArray(x) && canonical(x) === facts) return "@@FACTS@@";
    if (typeof x !== "string") return undefined;
    // The connection schema trims the key: match it anywhere, trimmed.
    return x.split(lab.privateKey.trim()).join("@@PRIVATE_KEY@@").split(lab.images).join("@@IMAGES@@").split(lab.hostKey).join("@@HOST_KEY@@").split(lab.address).join("@@ADDRESS@@");
  });
}

function fill(state: Json, lab: LabValues): Json {
  return mapValues(state, (x) => {
    if (x === "@@FACTS@@") return lab.facts as Json;
    if (typeof x !== "string") return undefined;
    return x.split("@@PRIVATE_KEY@@").join(lab.privateKey.trim()).split("@@IMAGES@@").join(lab.images).split("@@HOST_KEY@@").join(lab.hostKey).split("@@ADDRESS@@").join(lab.address);
  });
}

interface FixtureCase {
  file: string;
  /** How many pulumi-virt resources the saved stack holds. */
  resources: number;
  program: string;
  /** Stack config, with the same placeholders. */
  config: (lab: LabValues) => Record<string, string>;
  host: () => Omit<LabValues, "images" | "facts">;
  before?: () => void;
  after?: () => void;
}

function h1Values(): Omit<LabValues, "images" | "facts"> {
  const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  return { address: h1.address, port: h1.port, user: h1.user, hostKey: h1.hostKey, privateKey: readFileSync(h1.privateKeyPath, "utf8") };
}

function xenValues(): Omit<LabValues, "images" | "facts"> {
  const x = JSON.parse(readFileSync(join(labDir, "xen.json"), "utf8")).hosts[0];
  return { address: x.address, port: x.port, user: x.user, hostKey: x.hostKey, privateKey: readFileSync(x.privateKeyPath, "utf8") };
}

const CASES: FixtureCase[] = [
  {
    file: "lab-container-kvm.json",
    resources: 6,
    program: "test/e2e/fixtures/matrix",
    host: h1Values,
    config: (lab) => ({
      hosts: JSON.stringify({ h1: { address: lab.address, port: lab.port, user: lab.user, hostKey: lab.hostKey } }),
      hypervisors: JSON.stringify({ lxc1: { host: "h1", kind: "lxc", bridge: "pvbr0" }, kvm1: { host: "h1", kind: "kvm", bridge: "pvbr0", allowEmulation: true } }),
      containers: JSON.stringify({
        web: {
          hypervisor: "lxc1", name: "sc-web", cpus: 1, memory: "256MiB", swap: "64MiB", cpuShares: 512,
          disk: { size: "300MiB", fstype: "xfs" }, network: { address: "10.77.101.61/24", gateway: "10.77.101.1" },
          environment: { GREETING: "hello" }, autostart: true, allowRestart: true,
        },
        plain: { hypervisor: "lxc1", name: "sc-plain", memory: "128MiB" },
      }),
      guests: JSON.stringify({
        vm: {
          hypervisor: "kvm1", name: "sc-vm", virtualization: "full", vcpus: 1, maxVcpus: 2, memory: "256MiB", maxMemory: "384MiB",
          boot: { kernel: `${lab.images}/vmlinuz`, initrd: `${lab.images}/initrd.img`, cmdline: "console=ttyS0" },
          rootDisk: { baseImage: `${lab.images}/base-a.qcow2`, size: "64MiB" },
          dataDisks: [{ name: "data", size: "16MiB" }], network: { bridge: "pvbr0" }, shutdownTimeoutSec: 5,
        },
      }),
    }),
  },
  {
    file: "xen-para.json",
    resources: 3,
    program: "examples/xen",
    host: xenValues,
    before: () => execFileSync("bash", [join(REPO_ROOT, "lab/xen/xen-host.sh"), "up"], { stdio: "inherit" }),
    after: () => execFileSync("bash", [join(REPO_ROOT, "lab/xen/xen-host.sh"), "down"], { stdio: "inherit" }),
    config: (lab) => ({
      host: JSON.stringify({ address: lab.address, port: lab.port, user: lab.user, hostKey: lab.hostKey }),
      guestImage: JSON.stringify({ kernel: `${lab.images}/vmlinuz`, initrd: `${lab.images}/initrd.img` }),
      guestName: "scpv",
      memory: "128MiB",
      vcpus: "1",
    }),
  },
];

for (const c of CASES) {
  test(`a stack saved before the refactor (${c.file}) previews with no changes`, async (t) => {
    await ensureLab();
    c.before?.();
    t.after(() => {
      SshPool.shared().closeAll();
      c.after?.();
    });
    const host = c.host();
    const lab: LabValues = { ...host, images: guestImageDir(), facts: await factsOf(host) };
    const secrets = { privateKey: lab.privateKey };
    const stack = await TestStack.create({ program: c.program, config: c.config(lab), secrets });
    t.after(async () => {
      if (RECORD) await stack.destroy().catch(() => undefined);
      await stack.rm();
    });
    if (RECORD) {
      await stack.up();
      const exported = JSON.parse((await stack.pulumi(["stack", "export", "--show-secrets"])).stdout) as { deployment: { [k: string]: Json } };
      delete exported.deployment.secrets_providers;
      mkdirSync(FIXTURES, { recursive: true });
      writeFileSync(join(FIXTURES, c.file), JSON.stringify(templatize(exported as unknown as Json, lab), null, 2) + "\n");
      return;
    }
    const fixture = join(FIXTURES, c.file);
    assert.ok(existsSync(fixture), `${fixture} is missing`);
    const state = fill(JSON.parse(readFileSync(fixture, "utf8")) as Json, lab);
    assert.ok(!JSON.stringify(state).includes("@@"), "a placeholder was left unfilled");
    // Plaintext secrets are encrypted again on import with this stack's passphrase secrets provider (its salt is in
    // the stack's config file).
    const salt = /^encryptionsalt: (\S+)$/m.exec(readFileSync(join(stack.dir, `Pulumi.${stack.stack}.yaml`), "utf8"))?.[1];
    assert.ok(salt, "the new stack has a passphrase salt");
    const doc = state as { deployment: { [k: string]: Json } };
    doc.deployment.secrets_providers = { type: "passphrase", state: { salt } };
    await stack.pulumi(["stack", "import"], { stdin: JSON.stringify(doc) });
    // --show-sames: a JSON preview lists unchanged resources only when asked to.
    const p = JSON.parse((await stack.pulumi(["preview", "--json", "--show-sames"])).stdout) as PreviewJson;
    const ops = p.steps.map((s) => `${s.op} ${s.urn.split("::").pop()}`);
    const ours = p.steps.filter((s) => s.urn.includes("pulumi-virt:"));
    assert.equal(ours.length, c.resources, `the imported stack's resources are planned: ${ops.join(", ")}`);
    assert.ok(p.steps.every((s) => s.op === "same"), `every step is "same": ${ops.join(", ")}`);
    await stack.preview({ expectNoChanges: true });
  });
}
