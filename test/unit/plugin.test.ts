// The `virt` resource provider plugin (provider/plugin): its package schema is fresh and built from the same models,
// secrets cross the wire wrapped, and the real plugin process answers Diff over gRPC with a detailed diff whose
// per-property kinds (update / replace) come from the same plan as the dynamic provider's. No host is reached: a
// Container's diff plans from its state alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as container from "../../provider/resources/impl/container";
import { buildSchema } from "../../provider/schema/build";
import { buildPluginSchema, RESOURCE_TOKENS } from "../../provider/plugin/schema";
import { DiffKind, detailedDiffOf } from "../../provider/plugin/detailed-diff";
import { ownerKeyOfUrn, resourceOf, VirtProvider, withRef } from "../../provider/plugin/provider";
import { plainProps, secretKeysOf, toWire } from "../../provider/plugin/wire";
import { hypervisorRef } from "./plan-fixtures";

const root = join(__dirname, "..", "..", "..");
const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
const URN = "urn:pulumi:dev::proj::virt:index:Container::web";
const CT = { name: "web", memory: 256, cpus: 1, disk: { size: 300 }, hypervisor: hypervisorRef("lxc") };

test("schema.virt.json is generated from the current models (npm run schema)", () => {
  assert.equal(readFileSync(join(root, "schema.virt.json"), "utf8"), JSON.stringify(buildPluginSchema(version), null, 2) + "\n");
});

test("the plugin schema: package virt, every resource of the dynamic schema, same inputs, secrets and refs", () => {
  const s = buildPluginSchema(version);
  const dyn = buildSchema(undefined, version);
  assert.equal(s.name, "virt");
  assert.deepEqual(Object.keys(s.resources).sort(), Object.keys(dyn.resources).map((t) => t.replace(/^pulumi-virt:/, "virt:")).sort());
  assert.deepEqual(Object.keys(s.resources).sort(), Object.values(RESOURCE_TOKENS).sort());
  for (const [token, r] of Object.entries(dyn.resources)) {
    const p = s.resources[token.replace(/^pulumi-virt:/, "virt:")];
    assert.deepEqual(Object.keys(p.inputProperties), Object.keys(r.inputProperties), token);
    assert.deepEqual(p.requiredInputs, r.requiredInputs, token);
  }
  assert.doesNotMatch(JSON.stringify(s), /pulumi-virt:index:/, "type tokens follow the package name");
  const c = s.resources["virt:index:Container"];
  assert.equal(c.inputProperties.environment.secret, true);
  assert.equal(c.inputProperties.hypervisor.secret, true);
  assert.equal(c.properties.connection.secret, true);
  assert.match(c.inputProperties.memory.description ?? "", /live/);
  assert.equal(s.resources["virt:index:Host"].properties.ref.secret, true);
  assert.equal(s.resources["virt:index:Hypervisor"].properties.ref.secret, true);
  assert.equal(s.resources["virt:index:Host"].inputProperties.connection.secret, true);
  for (const [token, r] of Object.entries(s.resources)) for (const [k, p] of Object.entries(r.inputProperties)) assert.ok(p.description, `${token}.${k} has a description`);
});

test("wire: secrets are unwrapped for the lifecycle and wrapped again on the listed keys; no undefined survives", () => {
  const sig = "4dabf18193072939515e22adb298388d";
  const wire = { a: 1, conn: { [sig]: "1b47061264138c4ac30d75fd1eb44270", value: { key: "k" } }, nested: { x: { [sig]: "1b47061264138c4ac30d75fd1eb44270", value: "s" } } };
  assert.deepEqual(plainProps(wire), { a: 1, conn: { key: "k" }, nested: { x: "s" } });
  assert.deepEqual(secretKeysOf(wire).sort(), ["conn", "nested"]);
  const out = toWire({ a: 1, conn: { key: "k" }, gone: undefined }, ["conn", "absent"]);
  assert.deepEqual(out, { a: 1, conn: { [sig]: "1b47061264138c4ac30d75fd1eb44270", value: { key: "k" } } });
});

test("URNs: the resource and a stable owner key per stack, project and name", () => {
  assert.equal(resourceOf(URN), "Container");
  assert.equal(resourceOf("urn:pulumi:dev::proj::my:index:Parent$virt:index:Host::h1"), "Host");
  assert.throws(() => resourceOf("urn:pulumi:dev::proj::virt:index:Nope::x"), /no resource type virt:index:Nope/);
  assert.match(ownerKeyOfUrn(URN), /^[0-9a-f]{32}$/);
  assert.equal(ownerKeyOfUrn(URN), ownerKeyOfUrn(URN));
  assert.notEqual(ownerKeyOfUrn(URN), ownerKeyOfUrn(URN.replace("dev::", "prod::")));
});

test("check through the plugin: owner key from the URN, secrets kept, the plan in plannedChanges", async () => {
  const p = new VirtProvider();
  const olds = (await p.check(URN, {}, { ...CT, environment: { TOKEN: "t" } })).inputs as Record<string, unknown>;
  assert.equal(plainProps(olds).ownerKey, ownerKeyOfUrn(URN));
  assert.deepEqual(secretKeysOf(olds).sort(), ["environment", "hypervisor"]);
  const res = await p.check(URN, olds, { ...CT, memory: 512, environment: { TOKEN: "t" } });
  assert.deepEqual(res.failures, []);
  assert.match(String((plainProps(res.inputs) as { plannedChanges: Record<string, string> }).plannedChanges.memory), /^live/);
});

test("detailed diff: live and restart are updates, replace is a replacement, settings are updates", async () => {
  const olds = (await container.check({}, { ...CT, allowRestart: true, allowDataLoss: true })).inputs;
  const grow = (await container.check(olds, { ...CT, memory: 512, allowRestart: true, allowDataLoss: true })).inputs;
  assert.deepEqual(detailedDiffOf("Container", olds, grow, await container.diff("id", olds, grow)), { memory: DiffKind.UPDATE });
  const shrink = (await container.check(olds, { ...CT, disk: { size: 200, fstype: "btrfs" }, allowRestart: true, allowDataLoss: true })).inputs;
  const d = await container.diff("id", olds, shrink);
  assert.deepEqual(d.replaces, ["disk"]);
  assert.deepEqual(detailedDiffOf("Container", olds, shrink, d), { disk: DiffKind.UPDATE_REPLACE });
  const setting = (await container.check(olds, { ...CT, allowRestart: true, allowDataLoss: true, stopTimeoutSec: 5 })).inputs;
  assert.deepEqual(detailedDiffOf("Container", olds, setting, await container.diff("id", olds, setting)), { stopTimeoutSec: DiffKind.UPDATE });
  assert.deepEqual(detailedDiffOf("Container", olds, olds, await container.diff("id", olds, olds)), {});
});

/** The plugin as the CLI starts it: its gRPC port on the first stdout line. */
async function startPlugin(): Promise<{ port: number; stop(): void }> {
  const child = spawn(process.execPath, [join(root, "dist", "provider", "plugin", "main.js")], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = "";
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      const line = buf.split("\n")[0];
      if (buf.includes("\n")) resolve(Number(line));
    });
    child.on("exit", (code) => reject(new Error(`plugin exited with ${code}`)));
  });
  return { port, stop: () => child.kill() };
}

test("the plugin process: GetSchema serves schema.virt.json, Diff carries the detailed diff (real gRPC)", async () => {
  const sdk = join(root, "node_modules", "@pulumi", "pulumi");
  /* eslint-disable @typescript-eslint/no-require-imports */
  const grpc = require(require.resolve("@grpc/grpc-js", { paths: [sdk] }));
  const rpc = require(join(sdk, "proto", "provider_grpc_pb"));
  const pb = require(join(sdk, "proto", "provider_pb"));
  const structpb = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [sdk] }));
  /* eslint-enable @typescript-eslint/no-require-imports */
  const plugin = await startPlugin();
  const client = new rpc.ResourceProviderClient(`127.0.0.1:${plugin.port}`, grpc.credentials.createInsecure());
  const call = <T>(method: string, req: unknown) =>
    new Promise<T>((resolve, reject) => client[method](req, (err: Error | null, resp: T) => (err ? reject(err) : resolve(resp))));
  try {
    const schemaResp = await call<{ getSchema(): string }>("getSchema", new pb.GetSchemaRequest());
    assert.deepEqual(JSON.parse(schemaResp.getSchema()), JSON.parse(readFileSync(join(root, "schema.virt.json"), "utf8")));
    const p = new VirtProvider();
    const olds = (await p.check(URN, {}, { ...CT, allowDataLoss: true })).inputs;
    const news = (await p.check(URN, olds, { ...CT, memory: 512, disk: { size: 200, fstype: "btrfs" }, allowDataLoss: true })).inputs;
    const req = new pb.DiffRequest();
    req.setId("lxc-1");
    req.setUrn(URN);
    req.setOlds(structpb.Struct.fromJavaScript(olds));
    req.setNews(structpb.Struct.fromJavaScript(news));
    const resp = await call<{
      getChanges(): number;
      getReplacesList(): string[];
      getHasdetaileddiff(): boolean;
      getDetaileddiffMap(): { toArray(): [string, { getKind(): number }][] } & { toObject(): unknown };
    }>("diff", req);
    assert.equal(resp.getChanges(), pb.DiffResponse.DiffChanges.DIFF_SOME);
    assert.deepEqual(resp.getReplacesList(), ["disk"]);
    assert.equal(resp.getHasdetaileddiff(), true);
    const detailed = Object.fromEntries(resp.getDetaileddiffMap().toArray().map(([k, v]) => [k, Array.isArray(v) ? v[0] : v.getKind()]));
    assert.deepEqual(detailed, { memory: DiffKind.UPDATE, disk: DiffKind.UPDATE_REPLACE });
  } finally {
    client.close();
    plugin.stop();
  }
});

test("import: a container's args from what the host reports; kernel defaults are not limits", async () => {
  const { lxcMachineDriver } = await import("../../provider/drivers/lxc/machine");
  const hv = hypervisorRef("lxc", { cgroupVersion: 1, cpus: 2 });
  const facts = hv.host.facts;
  const args = lxcMachineDriver.importedArgs!(
    { name: "hand", running: true, autostart: false, memoryMiB: 192, cpus: 2, cpuShares: 1024, diskSizeMiB: 300, fstype: "xfs", template: "busybox" },
    facts,
    hv,
  );
  assert.deepEqual(args, { name: "hand", template: "busybox", memory: 192, disk: { size: 300, fstype: "xfs" }, running: true, autostart: false });
  const limited = lxcMachineDriver.importedArgs!({ name: "x", running: false, autostart: true, cpus: 1, cpuShares: 512, template: "tarball:/srv/r.tar" }, facts, hv);
  assert.deepEqual(limited, { name: "x", template: "/srv/r.tar", cpus: 1, cpuShares: 512, running: false, autostart: true });
});

test("import: a KVM guest's args from libvirt's read; only a domain laid out as pulumi-virt keeps one is accepted", async () => {
  const { kvmMachineDriver } = await import("../../provider/drivers/kvm/machine");
  const { parseReadOutput } = await import("../../provider/drivers/kvm/parse");
  const { guestArgsSchema } = await import("../../provider/models/guest");
  // A TCG host: its guests are emulated, like this domain (type qemu).
  const hv = hypervisorRef("kvm", { kvmUsable: false });
  const dir = `${hv.storageDir}/vm1`;
  // A running overlay guest defined by hand: libvirt lists the overlay's backing image in the live XML.
  const out = [
    "@@dominfo", "State:          running", "Max memory:     327680 KiB", "Used memory:    327680 KiB", "Autostart:      disable",
    "@@xml",
    `<domain type='qemu'><name>vm1</name><os><type>hvm</type><kernel>/img/vmlinuz</kernel><initrd>/img/initrd.img</initrd><cmdline>console=ttyS0</cmdline></os><devices>`,
    `<disk type='file' device='disk'><source file='${dir}/root.qcow2'/><backingStore type='file'><format type='qcow2'/><source file='/img/base-a.qcow2'/><backingStore/></backingStore><target dev='vda' bus='virtio'/></disk>`,
    `<disk type='file' device='disk'><source file='${dir}/data-logs.qcow2'/><backingStore/><target dev='sda' bus='scsi'/></disk>`,
    `<interface type='bridge'><mac address='52:54:00:aa:bb:cc'/><source bridge='${hv.bridge}'/></interface>`,
    "</devices></domain>",
    "@@inactive", "  <currentMemory unit='KiB'>262144</currentMemory>",
    "@@vcpucount", "maximum      config         2", "maximum      live           2", "current      config         1", "current      live           1",
    "@@blk", "vda 100663296 1 1", "sda 33554432 1 1",
    "@@end",
  ].join("\n");
  const o = parseReadOutput("vm1", out);
  const args = kvmMachineDriver.importedArgs!(o, hv.host.facts, hv);
  assert.deepEqual(args, {
    name: "vm1", virtualization: "full", vcpus: 1, maxVcpus: 2, memory: 256, maxMemory: 320,
    boot: { kernel: "/img/vmlinuz", initrd: "/img/initrd.img", cmdline: "console=ttyS0" },
    rootDisk: { baseImage: "/img/base-a.qcow2", size: 96, mode: "overlay" },
    dataDisks: [{ name: "logs", size: 32, bus: "scsi" }],
    network: { mac: "52:54:00:aa:bb:cc" },
    running: true, autostart: false,
  });
  assert.ok(guestArgsSchema.safeParse(args).success, "the imported args are valid Guest args");
  // A root disk elsewhere would be replaced by a new one at the first restart: refused, saying where it must be.
  const elsewhere = { ...o, disks: o.disks!.map((d) => (d.target === "vda" ? { ...d, path: "/srv/vm1.qcow2" } : d)) };
  assert.throws(() => kvmMachineDriver.importedArgs!(elsewhere, hv.host.facts, hv), new RegExp(`root disk \\(vda\\) is /srv/vm1.qcow2; pulumi-virt keeps a guest's root disk at ${dir}/root.qcow2`));
  const strayDisk = { ...o, disks: [...o.disks!, { target: "vdb", path: "/srv/x.img", sizeMiB: 8, device: "disk" }] };
  assert.throws(() => kvmMachineDriver.importedArgs!(strayDisk, hv.host.facts, hv), /disk vdb \(\/srv\/x.img\) is not a data disk of pulumi-virt's/);
  assert.throws(() => kvmMachineDriver.importedArgs!({ ...o, interfaces: [] }, hv.host.facts, hv), /has no NIC/);
  // A restart redefines the domain from the args: what it would silently change is refused, saying what to do.
  const kvmHv = hypervisorRef("kvm");
  assert.throws(() => kvmMachineDriver.importedArgs!(o, kvmHv.host.facts, kvmHv), /vm1 cannot be imported: it runs under QEMU emulation \(domain type qemu\), but guests of this Hypervisor run under KVM/);
  const iso = { target: "hdc", path: "/srv/installer.iso", sizeMiB: 300, device: "cdrom" };
  assert.throws(() => kvmMachineDriver.importedArgs!({ ...o, disks: [...o.disks!, iso] }, hv.host.facts, hv), /cdrom hdc holds \/srv\/installer.iso, which a redefinition would drop; eject it first/);
  const seed = { ...iso, path: `${dir}/cidata/seed.iso` };
  assert.throws(() => kvmMachineDriver.importedArgs!({ ...o, disks: [...o.disks!, seed] }, hv.host.facts, hv), /cloud-init seed .* cannot be read back; declare it in the program with its cloudInit and adopt: true/);
  const emptyDrive = { ...iso, path: "" };
  assert.doesNotThrow(() => kvmMachineDriver.importedArgs!({ ...o, disks: [...o.disks!, emptyDrive] }, hv.host.facts, hv), "an empty CD drive holds nothing to lose");
  // The defaults stay implicit: the Hypervisor's bridge, the MAC derived from the name; a plain image stands for itself.
  const { stableMac } = await import("../../provider/drivers/kvm/paths");
  const plain = kvmMachineDriver.importedArgs!(
    { ...o, state: "shutoff", interfaces: [{ mac: stableMac("vm1"), bridge: hv.bridge, addresses: [] }], disks: [{ target: "vda", path: `${dir}/root.qcow2`, sizeMiB: 64, device: "disk" }] },
    hv.host.facts,
    hv,
  );
  assert.deepEqual(plain.rootDisk, { baseImage: `${dir}/root.qcow2`, size: 64, mode: "copy" });
  assert.equal(plain.network, undefined);
  assert.equal(plain.running, false);
});

test("import IDs: <host>/<name> of a host in virt:hosts; anything else is refused before any SSH", async () => {
  const { configureProvider, importTarget } = await import("../../provider/plugin/import");
  configureProvider({}, { hosts: JSON.stringify({ h1: { connection: { host: "10.77.0.11", user: "root" } } }) });
  await assert.rejects(importTarget("Container", "web"), /expected <host>\/<name>/);
  await assert.rejects(importTarget("Container", "h9/web"), /host "h9" is not in the provider config virt:hosts/);
  await assert.rejects(importTarget("Guest", "h1/lxc/db"), /expected <host>\/<kvm\|xen>\/<name>/);
  await assert.rejects(importTarget("Host", "h1"), /a Host cannot be imported/);
  configureProvider({}, { hosts: JSON.stringify({ h1: { connection: { host: "10.77.0.11" }, bridge: "bad bridge!" } }) });
  await assert.rejects(importTarget("Container", "h1/web"), /virt:hosts\.h1: bridge/);
  assert.throws(() => configureProvider({ "virt:config:hosts": "{not json" }, undefined), /virt:hosts must be a JSON object/);
});

test("a Hypervisor's ref from the plugin carries its effective overcommit, so its machines are capacity-checked with it", () => {
  const outs = { kind: "kvm", emulated: true, bridge: "br0", storageDir: "/var/lib/x", host: { facts: {} }, overcommit: { cpu: 8, memory: 1.5, disk: 1 } };
  assert.deepEqual((withRef("Hypervisor", outs).ref as { overcommit?: unknown }).overcommit, { cpu: 8, memory: 1.5, disk: 1 });
  const { overcommit: _o, ...old } = outs;
  assert.equal("overcommit" in (withRef("Hypervisor", old).ref as object), false, "state from before overcommit: the kind's default applies");
});
