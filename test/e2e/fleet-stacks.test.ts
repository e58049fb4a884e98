// Issue 26: a fleet split the way Pulumi scales, through the real CLI (examples/fleet-stacks). A hosts stack owns
// the Hosts and lxc Hypervisors and exports their refs; two stacks of one site project take them by StackReference
// and run `up` (and `destroy`) at the same time against the same lab hosts. All three stacks share one backend,
// as they would in CI; each has its own state and lock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { consumerDir, pulumiBinDir, REPO_ROOT, run } from "./harness";
import { ensureLab, LabHost, loadLab, onHost } from "../support/lab";

/** Not a secret: it only guards throwaway test stacks. */
const PASSPHRASE = "pulumi-virt-e2e-passphrase";

/** One stack of one project, in a backend shared with other projects' stacks. */
class SharedBackendStack {
  constructor(
    readonly dir: string,
    readonly stack: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  pulumi(args: string[], stdin?: string) {
    const withStack = args[0] === "stack" && args[1] === "init" ? args : [...args, "--stack", this.stack];
    return run("pulumi", [...withStack, "--non-interactive", "--color", "never"], { cwd: this.dir, env: this.env, stdin });
  }

  async init(config: Record<string, string>, secrets: Record<string, string> = {}): Promise<void> {
    await this.pulumi(["stack", "init", this.stack]);
    for (const [k, v] of Object.entries(config)) await this.pulumi(["config", "set", k, "--plaintext"], v);
    for (const [k, v] of Object.entries(secrets)) await this.pulumi(["config", "set", k, "--secret"], v);
  }

  up() {
    return this.pulumi(["up", "--yes", "--skip-preview"]);
  }

  destroy() {
    return this.pulumi(["destroy", "--yes", "--skip-preview"]);
  }

  async outputs(): Promise<Record<string, unknown>> {
    return JSON.parse((await this.pulumi(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
  }
}

const running = async (h: LabHost, name: string) => (await onHost(h, ["lxc-info", "-n", name, "-s", "-H"])).stdout.trim();
const exists = async (h: LabHost, name: string) => (await onHost(h, ["lxc-ls", "-1"])).stdout.split("\n").includes(name);

test("fleet split into stacks: a hosts stack and two site stacks that share its Hosts by StackReference, run in parallel", async () => {
  await ensureLab();
  const lab = loadLab();
  const [h1, h2] = ["h1", "h2"].map((n) => lab.hosts.find((h) => h.name === n)!);
  const key = fs.readFileSync(h1.privateKeyPath, "utf8");
  const [bin, consumer] = await Promise.all([pulumiBinDir(), consumerDir()]);

  // Both projects under the consumer directory, so their programs resolve pulumi-virt from its node_modules.
  const tag = randomBytes(3).toString("hex");
  const root = path.join(consumer, "programs", `fleet-stacks-${tag}`);
  for (const p of ["hosts", "site"]) {
    fs.cpSync(path.join(REPO_ROOT, "examples/fleet-stacks", p), path.join(root, p), { recursive: true, filter: (f) => !/(^|\/)(node_modules|Pulumi\.[^/]*\.yaml)$/.test(f) });
  }
  const state = path.join(root, ".pulumi-state");
  fs.mkdirSync(state, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PULUMI_") || k.startsWith("PULUMI_VIRT_"))),
    PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
    PULUMI_HOME: path.join(root, ".pulumi-home"),
    PULUMI_BACKEND_URL: `file://${state}`,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "1",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "1",
    PULUMI_SKIP_CONFIRMATIONS: "1",
  };
  const hosts = new SharedBackendStack(path.join(root, "hosts"), "lab", env);
  const siteA = new SharedBackendStack(path.join(root, "site"), `a${tag}`, env);
  const siteB = new SharedBackendStack(path.join(root, "site"), `b${tag}`, env);
  const names = (site: string) => [h1, h2].flatMap((h) => [0, 1].map((i) => ({ host: h, name: `${site}-${h.name}-app-${i}` })));

  try {
    const hostCfg = (h: LabHost) => ({ name: h.name, address: h.address, port: h.port, user: h.user, hostKey: h.hostKey, bridge: h.bridge });
    await hosts.init({ hosts: JSON.stringify([hostCfg(h1), hostCfg(h2)]) }, { privateKey: key });
    await hosts.up();
    const out = await hosts.outputs();
    assert.deepEqual(out.hostNames, ["h1", "h2"]);
    assert.equal(out.hypervisors, "[secret]", "the refs carry the host connection: the export is secret");

    // The sites only name the hosts stack and their hosts: no key, no address.
    const siteCfg = { hostsStack: "organization/pulumi-virt-fleet-hosts/lab", hosts: JSON.stringify(["h1", "h2"]), containersPerHost: "2", memory: "64MiB" };
    await siteA.init(siteCfg);
    await siteB.init(siteCfg);
    await Promise.all([siteA.up(), siteB.up()]);
    for (const site of [siteA.stack, siteB.stack]) {
      for (const c of names(site)) assert.match(await running(c.host, c.name), /RUNNING/, `${c.name} on ${c.host.name}`);
    }

    // A change to one site plans and touches that site only.
    const pidA = (await onHost(h1, ["lxc-info", "-n", `${siteA.stack}-h1-app-0`, "-p", "-H"])).stdout.trim();
    await siteB.pulumi(["config", "set", "memory", "--plaintext"], "96MiB");
    await siteB.up();
    assert.equal(Number((await onHost(h2, ["lxc-cgroup", "-n", `${siteB.stack}-h2-app-1`, "memory.limit_in_bytes"])).stdout.trim()), 96 * 1048576);
    await siteA.pulumi(["preview", "--expect-no-changes"]);
    assert.equal((await onHost(h1, ["lxc-info", "-n", `${siteA.stack}-h1-app-0`, "-p", "-H"])).stdout.trim(), pidA);

    // A site naming a host the hosts stack does not have fails at preview, saying which hosts exist.
    await siteA.pulumi(["config", "set", "hosts", "--plaintext"], JSON.stringify(["h1", "h9"]));
    const bad = await siteA.pulumi(["preview"]).then(
      () => undefined,
      (e: Error) => e.message,
    );
    assert.match(bad ?? "", /the hosts stack has no host "h9" \(it has: h1, h2\)/);
    await siteA.pulumi(["config", "set", "hosts", "--plaintext"], JSON.stringify(["h1", "h2"]));

    await Promise.all([siteA.destroy(), siteB.destroy()]);
    for (const site of [siteA.stack, siteB.stack]) for (const c of names(site)) assert.equal(await exists(c.host, c.name), false, `${c.name} destroyed`);
    await hosts.destroy();
  } finally {
    for (const s of [siteA, siteB, hosts]) {
      await s.destroy().catch(() => undefined);
      await s.pulumi(["stack", "rm", "--yes", "--force"]).catch(() => undefined);
    }
    fs.rmSync(root, { recursive: true, force: true });
  }
});
