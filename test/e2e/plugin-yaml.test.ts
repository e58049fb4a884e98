// Issue 27 through the real CLI: the `virt` resource provider plugin (plugin/pulumi-resource-virt, found on PATH)
// driven by Pulumi YAML programs (pulumi-language-yaml, scripts/ensure-pulumi-yaml.sh). A Host, an lxc Hypervisor
// and a Container are created, the Container is resized live (preview --diff shows the per-property action from
// the plugin's detailed diff; its init PID does not change), a disk shrink previews as a replacement of `disk`, and
// everything is destroyed. Then a container made by hand with lxc-create is adopted with `pulumi import`
// (host from the provider config virt:hosts), a program declaring it previews no change, and its live resize keeps
// its init PID. Last, a KVM guest defined by hand with virsh (kernel+initrd, its root disk an overlay where
// pulumi-virt keeps one) is imported as a Guest, previews no change, and a live memory resize keeps its QEMU PID;
// a domain laid out otherwise is refused, and neither import changes a definition.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { REPO_ROOT, run, TestStack } from "./harness";
import { ensureLab, LabHost, loadLab, onHost, onHostOk } from "../support/lab";

/** The plugin launcher and the YAML language host go on PATH, as a user would install them. */
async function pluginPath(): Promise<void> {
  const yaml = (await run("bash", [path.join(REPO_ROOT, "scripts/ensure-pulumi-yaml.sh")])).stdout.trim().split("\n").pop()!;
  process.env.PATH = [path.join(REPO_ROOT, "plugin"), yaml, path.dirname(process.execPath), process.env.PATH].join(path.delimiter);
}

interface ProgramContainer {
  name: string;
  memoryKey: string;
  extra?: string;
}

/** A Guest on a kvm Hypervisor (allowEmulation: TCG here) with its memory from config. */
interface ProgramGuest {
  memoryKey: string;
  properties: string;
}

/**
 * A Pulumi YAML program: Host h1, Hypervisor lxc on it, and the given Containers (their memory from config); with
 * guests (even none), also a kvm Hypervisor and those Guests.
 */
function yamlProgram(h: LabHost, containers: Record<string, ProgramContainer>, guests?: Record<string, ProgramGuest>): string {
  const lines = [
    "name: virt-plugin-e2e",
    "runtime: yaml",
    "config:",
    "  privateKey:",
    "    type: string",
    ...[...Object.values(containers), ...Object.values(guests ?? {})].flatMap((c) => [`  ${c.memoryKey}:`, "    type: integer"]),
    "  diskSize:",
    "    type: integer",
    "    default: 300",
    "  allowDataLoss:",
    "    type: boolean",
    "    default: false",
    "resources:",
    "  h1:",
    "    type: virt:index:Host",
    "    properties:",
    "      connection:",
    `        host: ${h.address}`,
    `        port: ${h.port}`,
    `        user: ${h.user}`,
    "        privateKey: ${privateKey}",
    `        hostKey: ${h.hostKey}`,
    "  lxc:",
    "    type: virt:index:Hypervisor",
    "    properties:",
    "      host: ${h1.ref}",
    "      kind: lxc",
    `      bridge: ${h.bridge}`,
  ];
  for (const [resource, c] of Object.entries(containers)) {
    lines.push(
      `  ${resource}:`,
      "    type: virt:index:Container",
      "    properties:",
      "      hypervisor: ${lxc.ref}",
      `      name: ${c.name}`,
      `      memory: \${${c.memoryKey}}`,
      ...(c.extra ? [c.extra] : []),
    );
  }
  if (guests) {
    lines.push("  kvm:", "    type: virt:index:Hypervisor", "    properties:", "      host: ${h1.ref}", "      kind: kvm", "      allowEmulation: true", `      bridge: ${h.bridge}`);
  }
  for (const [resource, g] of Object.entries(guests ?? {})) {
    lines.push(`  ${resource}:`, "    type: virt:index:Guest", "    properties:", "      hypervisor: ${kvm.ref}", `      memory: \${${g.memoryKey}}`, g.properties);
  }
  if (Object.keys(containers).length) lines.push("outputs:", ...Object.keys(containers).map((r) => `  ${r}: \${${r}.observed}`));
  return lines.join("\n") + "\n";
}

async function yamlStack(h: LabHost, containers: Record<string, ProgramContainer>, guests?: Record<string, ProgramGuest>): Promise<TestStack> {
  const program = fs.mkdtempSync(path.join(os.tmpdir(), "pv-plugin-yaml-"));
  const consumer = fs.mkdtempSync(path.join(os.tmpdir(), "pv-plugin-consumer-"));
  fs.writeFileSync(path.join(program, "Pulumi.yaml"), yamlProgram(h, containers, guests));
  try {
    return await TestStack.create({ program, consumer, secrets: { privateKey: fs.readFileSync(h.privateKeyPath, "utf8").trim() } });
  } finally {
    fs.rmSync(program, { recursive: true, force: true });
  }
}

const initPid = async (h: LabHost, name: string) => (await onHostOk(h, ["lxc-info", "-n", name, "-p", "-H"])).trim();

test("YAML program through the plugin: create, live resize with per-property preview, replace marker, destroy", async (t) => {
  await ensureLab();
  await pluginPath();
  const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const name = `plg-${randomBytes(3).toString("hex")}`;
  const stack = await yamlStack(h1, { web: { name, memoryKey: "memory", extra: "      cpus: 1\n      allowDataLoss: ${allowDataLoss}\n      disk:\n        size: ${diskSize}\n        fstype: btrfs" } });
  t.after(async () => {
    await stack.destroy().catch(() => undefined);
    await stack.rm();
    await onHost(h1, ["lxc-destroy", "-f", "-n", name]);
  });
  await stack.setConfig("memory", "256");
  await stack.up();
  const pid = await initPid(h1, name);
  assert.match(pid, /^\d+$/);
  assert.equal((await stack.outputs()).web instanceof Object, true);

  await stack.setConfig("memory", "512");
  const text = await stack.preview({ diff: true });
  assert.match(text.stdout, /~ virt:index:Container: \(update\)[\s\S]*~ memory: 256 => 512/);
  const p = await stack.preview({ json: true });
  const step = p.steps.find((s) => s.urn.endsWith("::web"))!;
  assert.equal(step.op, "update");
  assert.deepEqual(step.detailedDiff, { memory: { kind: "update", inputDiff: true } });
  assert.match(String((step.newState?.inputs?.plannedChanges as Record<string, string>).memory), /^live: 256 → 512/);

  const up = await stack.up();
  assert.match(up.stdout, /\[diff: ~memory\]/);
  assert.equal(await initPid(h1, name), pid, "resized live: same init");
  assert.equal((await onHostOk(h1, ["lxc-cgroup", "-n", name, "memory.limit_in_bytes"])).trim(), String(512 * 1024 * 1024));

  // A disk shrink with the data-loss opt-in: the plugin marks `disk` as a replacement natively.
  await stack.setConfig("diskSize", "200");
  await stack.setConfig("allowDataLoss", "true");
  const r = await stack.preview({ json: true });
  const rs = r.steps.find((s) => s.urn.endsWith("::web") && s.op !== "same")!;
  assert.equal(rs.detailedDiff?.disk?.kind, "update-replace");
  assert.ok(rs.replaceReasons?.includes("disk"));
  assert.match(String((rs.newState?.inputs?.plannedChanges as Record<string, string> | undefined)?.["disk.size"] ?? JSON.stringify(rs.newState?.inputs?.plannedChanges)), /replace/);

  await stack.destroy();
  assert.notEqual((await onHost(h1, ["lxc-info", "-n", name])).code, 0, "destroyed");
});

test("pulumi import of a container made by hand with lxc-create: no changes after, live resize keeps its init", async (t) => {
  await ensureLab();
  await pluginPath();
  const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const name = `plh-${randomBytes(3).toString("hex")}`;
  await onHostOk(h1, ["lxc-create", "-n", name, "-t", "busybox", "-B", "loop", "--fstype", "xfs", "--fssize", "300M"]);
  t.after(() => onHost(h1, ["lxc-destroy", "-f", "-n", name]));
  await onHostOk(h1, ["sh", "-c", 'echo "lxc.cgroup.memory.limit_in_bytes = 192M" >> "$(lxc-config lxc.lxcpath)/$1/config"', "sh", name]);
  await onHostOk(h1, ["lxc-start", "-n", name, "-d"]);
  const pid = await initPid(h1, name);

  const stack = await yamlStack(h1, {});
  t.after(async () => {
    await stack.destroy().catch(() => undefined);
    await stack.rm();
  });
  const connection = { host: h1.address, port: h1.port, user: h1.user, privateKey: fs.readFileSync(h1.privateKeyPath, "utf8").trim(), hostKey: h1.hostKey };
  await stack.setConfig("virt:hosts", JSON.stringify({ h1: { connection, bridge: h1.bridge } }), { secret: true });
  // The default provider takes the config at the `up` (the import reuses the stack's provider).
  await stack.up();
  const imported = await stack.pulumi(["import", "virt:index:Container", "hand", `h1/${name}`, "--yes", "--protect=false"]);
  assert.match(imported.stdout, /1 imported/);
  assert.match(imported.stdout, new RegExp(`name: ${name}[\\s\\S]*|memory: 192`));
  assert.doesNotMatch(imported.stdout + imported.stderr, /PRIVATE KEY/, "the generated code holds no connection");

  fs.writeFileSync(
    path.join(stack.dir, "Pulumi.yaml"),
    yamlProgram(h1, { hand: { name, memoryKey: "handMemory", extra: "      disk:\n        size: 300\n        fstype: xfs" } }),
  );
  await stack.setConfig("handMemory", "192");
  await stack.preview({ expectNoChanges: true });

  await stack.setConfig("handMemory", "256");
  // The first preview after the import plans from the imported inputs: the memory, live; no host move.
  const p = await stack.preview({ json: true });
  const planned = p.steps.find((s) => s.urn.endsWith("::hand"))?.newState?.inputs?.plannedChanges as Record<string, string>;
  assert.deepEqual(Object.keys(planned), ["memory"]);
  assert.match(planned.memory, /^live: 192 → 256/);
  const up = await stack.up();
  assert.match(up.stdout, /\[diff: ~memory\]/);
  assert.equal(await initPid(h1, name), pid, "the imported container was resized live");
  assert.equal((await onHostOk(h1, ["lxc-cgroup", "-n", name, "memory.limit_in_bytes"])).trim(), String(256 * 1024 * 1024));
  await stack.destroy();
  assert.notEqual((await onHost(h1, ["lxc-info", "-n", name])).code, 0, "destroyed with the stack");
});

const KVM_STORAGE = "/var/lib/libvirt/images/pulumi-virt";
const virsh = (h: LabHost, args: string[]) => onHostOk(h, ["virsh", "-c", "qemu:///system", ...args]);
const qemuPid = async (h: LabHost, name: string) => (await onHostOk(h, ["cat", `/run/libvirt/qemu/${name}.pid`])).trim();

test("pulumi import of a KVM guest defined by hand with virsh: no changes after, live memory resize keeps its QEMU PID", async (t) => {
  await ensureLab();
  await pluginPath();
  const h1 = loadLab().hosts.find((h) => h.name === "h1")!;
  const img = execFileSync("bash", [path.join(REPO_ROOT, "lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
  const name = `plk-${randomBytes(3).toString("hex")}`;
  const mac = `52:54:00:${randomBytes(3).toString("hex").match(/../g)!.join(":")}`;
  const dir = `${KVM_STORAGE}/${name}`;
  const boot = { kernel: `${img}/vmlinuz`, initrd: `${img}/initrd.img`, cmdline: "console=ttyS0 quiet" };
  // By hand, as an operator would: an overlay root disk where pulumi-virt keeps one, 256 of at most 320 MiB, TCG.
  await onHostOk(h1, ["sh", "-c", 'mkdir -p "$1" && qemu-img create -q -f qcow2 -F qcow2 -b "$2" "$1/root.qcow2" 96M', "sh", dir, `${img}/base-a.qcow2`]);
  t.after(async () => {
    await onHost(h1, ["virsh", "-c", "qemu:///system", "destroy", name]);
    await onHost(h1, ["virsh", "-c", "qemu:///system", "undefine", name]);
    await onHost(h1, ["rm", "-rf", dir]);
  });
  const xml = [
    `<domain type='qemu'><name>${name}</name><memory unit='MiB'>320</memory><currentMemory unit='MiB'>256</currentMemory><vcpu>1</vcpu>`,
    `<os><type arch='x86_64'>hvm</type><kernel>${boot.kernel}</kernel><initrd>${boot.initrd}</initrd><cmdline>${boot.cmdline}</cmdline></os>`,
    `<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${dir}/root.qcow2'/><target dev='vda' bus='virtio'/></disk>`,
    `<interface type='bridge'><mac address='${mac}'/><source bridge='${h1.bridge}'/><model type='virtio'/></interface>`,
    "<memballoon model='virtio'/><serial type='pty'/><console type='pty'/></devices></domain>",
  ].join("");
  await onHostOk(h1, ["sh", "-c", 'f=$(mktemp) && cat > "$f" && virsh -c qemu:///system define "$f"; rc=$?; rm -f "$f"; exit $rc'], { stdin: xml });
  await virsh(h1, ["start", name]);
  const pid = await qemuPid(h1, name);
  // A domain laid out otherwise (its root disk outside the storage dir), defined but never started.
  const stray = `${name}-x`;
  const strayDisk = `/var/lib/libvirt/images/${stray}.qcow2`;
  await onHostOk(h1, ["qemu-img", "create", "-q", "-f", "qcow2", strayDisk, "16M"]);
  t.after(async () => {
    await onHost(h1, ["virsh", "-c", "qemu:///system", "undefine", stray]);
    await onHost(h1, ["rm", "-f", strayDisk]);
  });
  const strayXml = xml.replaceAll(name, stray).replace(`${KVM_STORAGE}/${stray}/root.qcow2`, strayDisk).replace(`<mac address='${mac}'/>`, "");
  await onHostOk(h1, ["sh", "-c", 'f=$(mktemp) && cat > "$f" && virsh -c qemu:///system define "$f"; rc=$?; rm -f "$f"; exit $rc'], { stdin: strayXml });
  // The persistent definitions, and the running one but for the balloon's momentary size (the booting guest moves it).
  const definitions = async () => [
    (await virsh(h1, ["dumpxml", name])).replace(/<currentMemory[^>]*>\d+</, "<currentMemory>"),
    await virsh(h1, ["dumpxml", "--inactive", name]),
    await virsh(h1, ["dumpxml", "--inactive", stray]),
  ];
  const before = await definitions();

  // The Host and the kvm Hypervisor exist first, as where an operator adopts an existing guest.
  const stack = await yamlStack(h1, {}, {});
  t.after(async () => {
    await stack.destroy().catch(() => undefined);
    await stack.rm();
  });
  const connection = { host: h1.address, port: h1.port, user: h1.user, privateKey: fs.readFileSync(h1.privateKeyPath, "utf8").trim(), hostKey: h1.hostKey };
  await stack.setConfig("virt:hosts", JSON.stringify({ h1: { connection, bridge: h1.bridge } }), { secret: true });
  await stack.up();
  const refused = await stack.pulumi(["import", "virt:index:Guest", "stray", `h1/kvm/${stray}`, "--yes", "--protect=false"], { okCodes: [255, 1] });
  assert.match(refused.stdout + refused.stderr, new RegExp(`guest ${stray} cannot be imported: its root disk \\(vda\\) is ${strayDisk}; pulumi-virt keeps a guest's root disk at ${KVM_STORAGE}/${stray}/root.qcow2`));
  const imported = await stack.pulumi(["import", "virt:index:Guest", "vm", `h1/kvm/${name}`, "--yes", "--protect=false"]);
  assert.match(imported.stdout, /1 imported/);
  assert.match(imported.stdout, /maxMemory: 320/);
  assert.doesNotMatch(imported.stdout + imported.stderr, /PRIVATE KEY|importedHypervisor/, "the generated code holds no connection");
  assert.deepEqual(await definitions(), before, "the imports changed no definition");
  assert.equal(await qemuPid(h1, name), pid);

  const properties = [
    `      name: ${name}`,
    "      virtualization: full",
    "      vcpus: 1",
    "      maxMemory: 320",
    "      boot:",
    `        kernel: ${boot.kernel}`,
    `        initrd: ${boot.initrd}`,
    `        cmdline: ${boot.cmdline}`,
    "      rootDisk:",
    `        baseImage: ${img}/base-a.qcow2`,
    "        size: 96",
    "        mode: overlay",
    "      network:",
    `        mac: "${mac}"`,
  ].join("\n");
  fs.writeFileSync(path.join(stack.dir, "Pulumi.yaml"), yamlProgram(h1, {}, { vm: { memoryKey: "vmMemory", properties } }));
  await stack.setConfig("vmMemory", "256");
  await stack.preview({ expectNoChanges: true });

  await stack.setConfig("vmMemory", "288");
  // The plan of the first preview after the import (from the imported inputs): the memory, live; nothing else.
  const p = await stack.preview({ json: true });
  const step = p.steps.find((s) => s.urn.endsWith("::vm"))!;
  assert.equal(step.op, "update");
  assert.deepEqual(Object.keys(step.newState?.inputs?.plannedChanges as Record<string, string>), ["memory"]);
  assert.match(String((step.newState?.inputs?.plannedChanges as Record<string, string>).memory), /^live: 256 → 288/);
  const up = await stack.up();
  assert.match(up.stdout, /\[diff: ~memory\]/);
  assert.equal(await qemuPid(h1, name), pid, "the imported guest was resized live");
  assert.match(await virsh(h1, ["dumpxml", "--inactive", name]), new RegExp(`<currentMemory unit='KiB'>${288 * 1024}</currentMemory>`));
  await stack.destroy();
  assert.notEqual((await onHost(h1, ["virsh", "-c", "qemu:///system", "dominfo", name])).code, 0, "destroyed with the stack");
});
