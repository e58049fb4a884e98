// Issue 20 on Xen, the parts without a host: a PV guest whose image reads NoCloud (imageCloudInit: true) gets a seed
// disk holding the host key pulumi-virt generated (the connection is pinned to it), its addresses come from
// `xl network-list` + dom0's leases and neighbours, NICs plug in and out live; and (issue 22's known bug) a rename
// moves the guest's disk images with its name, live or with a restart, refusing a taken path before anything moves.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xenMachineDriver, xenSpec } from "../../provider/drivers/xen/machine";
import { parseReadOutput, renderXlConfig } from "../../provider/drivers/xen";
import { ATTACH_NIC_SCRIPT, CREATE_SCRIPT, DETACH_NIC_SCRIPT, LIVE_SCRIPT, MOVE_IMAGES_SCRIPT, READ_SCRIPT, SEED_ISO_SCRIPT, SHUTDOWN_SCRIPT } from "../../provider/drivers/xen/scripts";
import { guestArgsSchema } from "../../provider/models/guest";
import type { GuestState } from "../../provider/models/state";
import type { ExecOptions, ExecResult, Remote } from "../../provider/ssh/types";
import * as guest from "../../provider/resources/impl/guest";
import { LocalRemote } from "../support/local-remote";
import { hypervisorRef } from "./plan-fixtures";

const NAMES = new Map<string, string>([
  [READ_SCRIPT, "read"], [CREATE_SCRIPT, "create"], [SHUTDOWN_SCRIPT, "shutdown"], [LIVE_SCRIPT, "live"], [MOVE_IMAGES_SCRIPT, "move-images"],
  [ATTACH_NIC_SCRIPT, "attach-nic"], [DETACH_NIC_SCRIPT, "detach-nic"], [SEED_ISO_SCRIPT, "seed-iso"],
]);

/** A dom0 whose domain runs (every read finds it), recording every command. */
class RunningDom0 implements Remote {
  readonly label = "fake-dom0";
  readonly calls: string[] = [];
  readonly uploads = new Map<string, string>();
  private ok(stdout: string): ExecResult {
    return { code: 0, stdout, stderr: "", stdoutBytes: Buffer.from(stdout) };
  }
  async exec(argv: string[], _opts?: ExecOptions) {
    this.calls.push(argv.join(" "));
    return this.ok("");
  }
  async script(script: string, args: string[] = [], _opts?: ExecOptions) {
    const name = NAMES.get(script) ?? "other";
    this.calls.push(`script:${name} ${args.join(" ")}`);
    if (name === "read") return this.ok(`@@list\nName ID Mem VCPUs State Time(s)\n${args[0]} 7 128 1 -b---- 3.0\n@@vifs\n@@end\n`);
    if (name === "shutdown") return this.ok("graceful\n");
    if (name === "create") return this.ok("created\n");
    if (name === "attach-nic") return this.ok("attached\n");
    if (name === "detach-nic") return this.ok("detached\n");
    return this.ok("");
  }
  async upload(path: string, content: string | Buffer) {
    this.calls.push(`upload ${path}`);
    this.uploads.set(path, String(content));
  }
}

const BASE = {
  name: "pv1", virtualization: "para", vcpus: 1, memory: "128MiB", boot: { kernel: "/srv/vmlinuz" },
  rootDisk: { baseImage: "/srv/base.img" }, dataDisks: [{ name: "data", size: "64MiB" }], nics: [{ bridge: "xenbr0" }],
  imageCloudInit: true, hypervisor: hypervisorRef("xen"),
};
const DIR = "/var/lib/xen/pulumi-virt";
const owner = { token: "0".repeat(32), adopt: false };

async function created(over: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const c = await guest.check({}, { ...BASE, ...over });
  assert.deepEqual(c.failures, []);
  // What create stores: prepare's host key (lifecycle create assigns it the same way).
  return { ...c.inputs, ...xenMachineDriver.prepare!(c.inputs as unknown as GuestState, undefined) };
}

test("model: a PV guest with imageCloudInit may wait for SSH and have static NIC addresses; without it, both are refused naming the way out", () => {
  const { hypervisor: _h, ...base } = BASE;
  assert.equal(guestArgsSchema.safeParse({ ...base, waitFor: { ssh: true } }).success, true);
  assert.equal(guestArgsSchema.safeParse({ ...base, nics: [{ bridge: "xenbr0", addresses: ["10.0.0.5/24"] }] }).success, true);
  const noSeed = guestArgsSchema.safeParse({ ...base, imageCloudInit: undefined, waitFor: { ssh: true }, nics: [{ bridge: "xenbr0", addresses: ["10.0.0.5/24"] }] });
  assert.equal(noSeed.success, false);
  const text = noSeed.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n");
  assert.match(text, /^waitFor: .*imageCloudInit: true.*allowUnpinnedConnection/m);
  assert.match(text, /^nics\.0: .*imageCloudInit: true/m);
});

test("prepare: a host key only for a PV guest whose image reads NoCloud, kept across updates", () => {
  const s = { ...BASE, imageCloudInit: undefined } as unknown as GuestState;
  assert.deepEqual(xenMachineDriver.prepare!(s, undefined), {});
  const k = xenMachineDriver.prepare!({ ...s, imageCloudInit: true } as GuestState, undefined).sshHostKey;
  assert.match(k?.publicKey ?? "", /^ssh-ed25519 /);
  assert.deepEqual(xenMachineDriver.prepare!({ ...s, imageCloudInit: true } as GuestState, { ...s, sshHostKey: k } as GuestState), { sshHostKey: k });
});

test("the seed is a read-only disk after the data disks; the host key is in the seed, never in the xl config", async () => {
  const s = (await created()) as unknown as GuestState;
  const spec = xenSpec(s);
  assert.equal(spec.seed?.vdev, "xvdc", "after xvda (root) and xvdb (data)");
  assert.equal(spec.seed?.path, `${DIR}/pv1-seed.iso`);
  assert.match(spec.seed?.vendorData ?? "", /ed25519_private: \|\n {4}-----BEGIN OPENSSH PRIVATE KEY-----/);
  assert.match(spec.seed?.networkConfig ?? "", /macaddress: "52:54:00:[0-9a-f:]+"\n {4}dhcp4: true/);
  assert.match(spec.seed?.metaData ?? "", /^local-hostname: pv1$/m);
  const cfg = renderXlConfig(spec);
  assert.match(cfg, /"format=raw, vdev=xvdc, access=ro, script=\/etc\/xen\/pulumi-virt\/hotplug-block.sh, target=\/var\/lib\/xen\/pulumi-virt\/pv1-seed.iso"/);
  assert.doesNotMatch(cfg, /PRIVATE KEY/);
  // Written at every build, before `xl create` reads the config naming it.
  const dom0 = new RunningDom0();
  await xenMachineDriver.restart(dom0, { olds: s, news: s, owner, changed: new Set(["maxMemoryMiB"]) });
  const seed = dom0.calls.findIndex((c) => c.startsWith("script:seed-iso "));
  assert.ok(seed > 0 && seed < dom0.calls.findIndex((c) => c.startsWith("script:create ")), dom0.calls.join("\n"));
  assert.ok([...dom0.uploads.keys()].every((p) => !p.includes("-seed.src/") || p.startsWith(`${DIR}/.pv1-seed.src/`)));
});

test("addresses: a vif's DHCP lease and neighbour entry are reported per NIC; the connection is pinned and goes through dom0", async () => {
  const s = (await created()) as unknown as GuestState;
  const mac = xenSpec(s).nics![0].mac;
  const out = [
    "@@list", "Name ID Mem VCPUs State Time(s)", "pv1 7 128 1 -b---- 3.0",
    "@@vifs", "Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path",
    `0   0  ${mac}     0      4     10     768/769         /local/domain/0/backend/vif/7/0`,
    "@@leases", `1764800000 ${mac} 10.77.120.150 pv1 *`, "1764800000 00:16:3e:00:00:99 10.77.120.151 other *",
    "@@neigh", `10.77.120.150 dev xenbr0 lladdr ${mac} REACHABLE`, `fe80::1 dev xenbr0 lladdr ${mac} STALE`, "@@end", "",
  ].join("\n");
  const o = parseReadOutput("pv1", out);
  assert.deepEqual(o.interfaces, [{ mac, addresses: ["10.77.120.150"] }]);
  const outs = xenMachineDriver.outputs({ ...s, observed: o }) as { addresses: unknown; connection: Record<string, unknown> };
  assert.deepEqual(outs.addresses, [{ mac, bridge: "xenbr0", ipv4: ["10.77.120.150"], ipv6: [] }]);
  assert.equal(outs.connection.host, "10.77.120.150");
  assert.equal(outs.connection.hostKey, s.sshHostKey!.publicKey);
  assert.equal((outs.connection.proxy as Record<string, unknown>).host, s.hypervisor.host.connection.host);
  const stopped = xenMachineDriver.outputs({ ...s, observed: { ...o, state: "shutdown" } }) as { addresses: { ipv4: string[] }[]; connection?: unknown };
  assert.deepEqual(stopped.addresses[0].ipv4, [], "a stopped guest has no address");
  assert.equal(stopped.connection, undefined);
});

test("a NIC added or removed is live on a PV guest: xl network-attach / network-detach, and the saved config keeps it", async () => {
  const olds = await created();
  const two = await guest.check(olds, { ...BASE, nics: [...(olds.nics as unknown[]), { bridge: "xenbr0", mac: "00:16:3e:20:20:03" }] });
  assert.deepEqual(two.failures, []);
  const plan = guest.planFor(olds, two.inputs);
  assert.equal(plan.overall, "live");
  assert.match(plan.properties.map((p) => p.mechanism).join(","), /xl network-attach/);
  const dom0 = new RunningDom0();
  const changed = new Set(plan.properties.map((p) => p.property));
  await xenMachineDriver.applyLive(dom0, { olds: olds as unknown as GuestState, news: two.inputs as unknown as GuestState, owner, changed });
  assert.ok(dom0.calls.includes("script:attach-nic pv1 xenbr0 00:16:3e:20:20:03"), dom0.calls.join("\n"));
  assert.match(dom0.uploads.get("/etc/xen/pulumi-virt/pv1.cfg") ?? "", /bridge=xenbr0,mac=00:16:3e:20:20:03/);
  assert.ok(!dom0.calls.some((c) => /script:(shutdown|create)/.test(c)));

  const back = await guest.check(two.inputs, { ...BASE, nics: olds.nics });
  const plan2 = guest.planFor(two.inputs, back.inputs);
  assert.equal(plan2.overall, "live");
  const dom0b = new RunningDom0();
  await xenMachineDriver.applyLive(dom0b, { olds: two.inputs as unknown as GuestState, news: back.inputs as unknown as GuestState, owner, changed: new Set(plan2.properties.map((p) => p.property)) });
  assert.ok(dom0b.calls.includes("script:detach-nic pv1 00:16:3e:20:20:03"), dom0b.calls.join("\n"));
  assert.doesNotMatch(dom0b.uploads.get("/etc/xen/pulumi-virt/pv1.cfg") ?? "", /00:16:3e:20:20:03/);
});

test("a live rename moves the root, data and seed images to the new name before `xl rename`; the config names the new paths", async () => {
  const olds = await created();
  const c = await guest.check(olds, { ...BASE, nics: olds.nics, name: "pv2" });
  const plan = guest.planFor(olds, c.inputs);
  assert.equal(plan.overall, "live");
  const news = { ...c.inputs, ...xenMachineDriver.prepare!(c.inputs as unknown as GuestState, olds as unknown as GuestState) };
  const dom0 = new RunningDom0();
  await xenMachineDriver.applyLive(dom0, { olds: olds as unknown as GuestState, news: news as unknown as GuestState, owner, changed: new Set(plan.properties.map((p) => p.property)) });
  const move = dom0.calls.findIndex((x) => x.startsWith("script:move-images "));
  const live = dom0.calls.findIndex((x) => x.startsWith("script:live "));
  assert.equal(dom0.calls[move], `script:move-images pv1 ${DIR}/pv1-root.img ${DIR}/pv2-root.img ${DIR}/pv1-data.img ${DIR}/pv2-data.img ${DIR}/pv1-seed.iso ${DIR}/pv2-seed.iso`);
  assert.ok(move >= 0 && move < live, dom0.calls.join("\n"));
  assert.equal(dom0.calls[live], "script:live pv1   pv2");
  const cfg = dom0.uploads.get("/etc/xen/pulumi-virt/pv2.cfg") ?? "";
  assert.match(cfg, /target=\/var\/lib\/xen\/pulumi-virt\/pv2-root.img/);
  assert.doesNotMatch(cfg, /pv1-/);
});

test("a rename with a restart moves the images while the domain is down, before it is built under the new name", async () => {
  const olds = await created();
  const c = await guest.check(olds, { ...BASE, nics: olds.nics, name: "pv2", maxMemory: "256MiB", allowRestart: true });
  const plan = guest.planFor(olds, c.inputs);
  assert.equal(plan.overall, "restart");
  const dom0 = new RunningDom0();
  const change = { olds: olds as unknown as GuestState, news: c.inputs as unknown as GuestState, owner, changed: new Set(plan.properties.map((p) => p.property)) };
  await xenMachineDriver.rename(dom0, change);
  await xenMachineDriver.restart(dom0, change);
  const shutdown = dom0.calls.findIndex((x) => x.startsWith("script:shutdown pv1 "));
  const move = dom0.calls.findIndex((x) => x.startsWith("script:move-images pv1 "));
  const create = dom0.calls.findIndex((x) => x.startsWith("script:create pv2 "));
  assert.ok(shutdown >= 0 && move > shutdown && create > move, dom0.calls.join("\n"));
  assert.match(dom0.calls[create], new RegExp(`${DIR}/pv2-root.img`));
});

test("move-images.sh moves each image, skips a missing one, and refuses a taken new path before moving anything", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pv-move-"));
  const local = new LocalRemote();
  for (const f of ["a-root.img", "a-data.img", "c-root.img"]) writeFileSync(join(dir, f), f);
  const p = (f: string) => join(dir, f);
  // "not-a-domain": xl finds no such domain here, so no backend path is rewritten.
  const r = await local.script(MOVE_IMAGES_SCRIPT, ["not-a-domain", p("a-root.img"), p("b-root.img"), p("a-data.img"), p("b-data.img"), p("a-seed.iso"), p("b-seed.iso")]);
  assert.equal(r.stdout.trim(), "moved 2");
  assert.deepEqual(readdirSync(dir).sort(), ["b-data.img", "b-root.img", "c-root.img"]);
  const taken = await local.script(MOVE_IMAGES_SCRIPT, ["not-a-domain", p("b-data.img"), p("d-data.img"), p("b-root.img"), p("c-root.img")], { okCodes: [3] });
  assert.match(taken.stderr, /c-root.img: that file exists.*nothing was moved/);
  assert.deepEqual(readdirSync(dir).sort(), ["b-data.img", "b-root.img", "c-root.img"], "nothing moved");
});

test("destroy removes the NoCloud seed (it holds the guest's private host key); the disk images stay", async () => {
  const s = (await created()) as unknown as GuestState;
  const dom0 = new RunningDom0();
  await xenMachineDriver.destroy(dom0, s, owner);
  assert.ok(dom0.calls.includes(`rm -f -- ${DIR}/pv1-seed.iso`), dom0.calls.join("\n"));
  assert.ok(!dom0.calls.some((c) => c.includes("-root.img") || c.includes("-data.img")), dom0.calls.join("\n"));
});
