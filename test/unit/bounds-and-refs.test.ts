// Finding 6 of issue 19: every timeout is bounded, the host-key hint never puts an invalid host into a shell
// command, a hand-built HypervisorRef is validated again, and a cyclic or very deep proxy chain is refused at check
// naming the property (no RangeError). All before any SSH command.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as host from "../../provider/resources/impl/host";
import * as container from "../../provider/resources/impl/container";
import * as guest from "../../provider/resources/impl/guest";
import { MAX_PROXY_DEPTH, parseConnection } from "../../provider/ssh/connection";
import { hypervisorRef, NO_SSH, RAW_CONNECTION, sshActivity } from "./plan-fixtures";

async function hostFailures(connection: unknown) {
  return (await host.check({}, { connection })).failures;
}

test("timeouts at or above Node's 2^31 ms limit are refused at check, naming the property and the maximum", async () => {
  for (const [prop, value] of [["dialTimeoutMs", 2 ** 31], ["dialTimeoutMs", 600_001], ["commandTimeoutMs", 2 ** 31], ["commandTimeoutMs", 1e12], ["perDialTimeout", 2 ** 31 / 1000], ["dialErrorLimit", 1e9]] as const) {
    const fs = await hostFailures({ ...RAW_CONNECTION, [prop]: value });
    const f = fs.find((x) => x.property === `connection.${prop}`);
    assert.ok(f, `${prop}=${value} must be refused on connection.${prop}, got ${JSON.stringify(fs)}`);
    if (prop !== "dialErrorLimit") assert.match(f.reason, /at most/);
  }
  // The largest accepted values stay below 2^31 ms.
  const c = parseConnection({ ...RAW_CONNECTION, dialTimeoutMs: 600_000, commandTimeoutMs: 86_400_000 });
  assert.ok(c.dialTimeoutMs < 2 ** 31 && c.commandTimeoutMs < 2 ** 31);
  assert.deepEqual(sshActivity(), NO_SSH);
});

test("the host-key hint never echoes an invalid host into the suggested command", async () => {
  for (const bad of ["h; rm -rf /", "$(reboot)", "`id`", "-oProxyCommand=x"]) {
    const fs = await hostFailures({ host: bad, password: "x" });
    const hint = fs.find((x) => x.property === "connection.hostKey");
    assert.ok(hint, JSON.stringify(fs));
    assert.ok(!hint.reason.includes(bad), `the hint must not contain ${JSON.stringify(bad)}: ${hint.reason}`);
    assert.match(hint.reason, /ssh-keyscan -t ed25519 HOST/);
    assert.ok(fs.some((x) => x.property === "connection.host"));
  }
});

test("a cyclic or deep proxy chain is refused at check on connection.proxy…, not with a RangeError", async () => {
  const cyclic: Record<string, unknown> = { ...RAW_CONNECTION };
  cyclic.proxy = { ...RAW_CONNECTION, host: "10.77.0.2", proxy: cyclic };
  const fsCyclic = await hostFailures(cyclic);
  assert.equal(fsCyclic.length, 1, JSON.stringify(fsCyclic));
  assert.match(fsCyclic[0].property, /^connection\.proxy(\.proxy)*$/);
  assert.match(fsCyclic[0].reason, /cyclic/);

  let deep: Record<string, unknown> = { ...RAW_CONNECTION };
  for (let i = 0; i < 1000; i++) deep = { ...RAW_CONNECTION, host: `10.77.${i >> 8}.${i & 255}`, proxy: deep };
  const fsDeep = await hostFailures(deep);
  assert.equal(fsDeep.length, 1, JSON.stringify(fsDeep).slice(0, 300));
  assert.match(fsDeep[0].property, /^connection(\.proxy)+$/);
  assert.match(fsDeep[0].reason, new RegExp(`longer than ${MAX_PROXY_DEPTH} hops`));

  // MAX_PROXY_DEPTH proxies are fine.
  let ok: Record<string, unknown> = { ...RAW_CONNECTION };
  for (let i = 0; i < MAX_PROXY_DEPTH; i++) ok = { ...RAW_CONNECTION, proxy: ok };
  assert.doesNotThrow(() => parseConnection(ok));
  assert.deepEqual(sshActivity(), NO_SSH);
});

test("a hand-built HypervisorRef is validated again: traversal in storageDir, quotes in bridge, bad connection", async () => {
  const cases: [string, (hv: any) => void, RegExp][] = [
    ["hypervisor.storageDir", (hv) => (hv.storageDir = "/var/lib/../../etc"), /\.\./],
    ["hypervisor.bridge", (hv) => (hv.bridge = `br0"'; reboot`), /interface name/],
    ["hypervisor.host.connection.dialTimeoutMs", (hv) => (hv.host.connection.dialTimeoutMs = 2 ** 31), /at most/],
    ["hypervisor.kind", (hv) => (hv.kind = "vmware"), /lxc/],
  ];
  for (const [property, spoil, reason] of cases) {
    const lxc = hypervisorRef("lxc");
    spoil(lxc);
    const c = await container.check({}, { name: "web", memory: 256, hypervisor: lxc });
    const f = c.failures.find((x) => x.property === property);
    assert.ok(f, `container: expected a failure on ${property}, got ${JSON.stringify(c.failures)}`);
    assert.match(f.reason, reason);
    const kvm = hypervisorRef("kvm");
    spoil(kvm);
    const g = await guest.check({}, { name: "vm1", virtualization: "full", vcpus: 1, memory: 256, boot: { kernel: "/boot/vmlinuz" }, rootDisk: { baseImage: "/b.qcow2" }, hypervisor: kvm });
    assert.ok(g.failures.some((x) => x.property === property), `guest: expected a failure on ${property}, got ${JSON.stringify(g.failures)}`);
  }
  assert.deepEqual(sshActivity(), NO_SSH);
});
