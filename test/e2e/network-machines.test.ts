// Issue 22, machines on a Network, with the real CLI on lab host h1: a Network (NAT, a DHCP range, a static lease
// for the guest's MAC, a DNS domain), two KVM Guests whose NICs take the Network's `bridge` output and whose disks are
// in a StoragePool, and a Container on the same bridge. The guest gets the static lease (its `addresses` output and
// dnsmasq's lease file agree), the container a lease from the range; the guest reaches the container and the
// container the guest's SSH port; the static lease's name resolves through the Network's dnsmasq, from inside the
// guest; IPv6: a DHCPv6 client on the bridge leases from the range, the guest configures SLAAC from the router
// advertisements. A new static lease is live: dnsmasq, QEMU and the container's init keep their PIDs. `pulumi destroy` leaves
// the host as it was (links, firewall rules, dnsmasq processes, files, domains, containers). One booted guest
// serves every assertion.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import { PreviewJson, REPO_ROOT, TestStack } from "./harness";
import { ensureLab, LabHost, onHost, onHostOk } from "../support/lab";
import { hostNetworkSnapshot } from "../support/network";
import { useBuiltConsumer, waitFor } from "../support/faults";

const BR = "pvm-net0";
const GUEST = "pvm-vm";
const GUEST2 = "pvm-vm2";
const CT = "pvm-ct";
const GUEST_MAC = "52:54:00:77:16:31";
const POOL = "pvm-pool";
const DNSMASQ_PID = `/var/lib/pulumi-virt/net/${BR}/dnsmasq.pid`;

type Addresses = { mac: string; bridge: string; ipv4: string[]; ipv6: string[] }[];

const network = () => ({
  bridge: BR,
  ipv4: { address: "10.77.161.1/24", dhcp: { start: "10.77.161.100", end: "10.77.161.150", hosts: [{ mac: GUEST_MAC, ip: "10.77.161.20", name: "vm" }] } },
  ipv6: { address: "fd77:161::1/64", dhcp: { start: "fd77:161::100", end: "fd77:161::1ff" } },
  uplink: "nat",
  domain: "mach.test",
});

function guestImageDir(): string {
  return execFileSync("bash", [join(REPO_ROOT, "lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
}

/** What must be as before once the stack is destroyed: the network view plus this test's domain and container. */
async function snapshot(h: LabHost): Promise<string> {
  const machines = await onHostOk(h, ["sh", "-c", `virsh -q -c qemu:///system list --all --name | grep -x -e ${GUEST} -e ${GUEST2}; lxc-ls -1 | grep -x ${CT}; true`]);
  return `${await hostNetworkSnapshot(h)}\n# machines\n${machines}`;
}

const pidOf = async (h: LabHost, file: string) => Number((await onHostOk(h, ["cat", file])).trim());
const initPid = async (h: LabHost) => Number((await onHostOk(h, ["lxc-info", "-n", CT, "-p", "-H"])).trim());

function plannedOf(p: PreviewJson, name: string): { op: string; action: string } {
  const steps = p.steps.filter((s) => s.urn.endsWith(`::${name}`));
  const step = steps.find((s) => s.newState?.inputs?.plannedAction) ?? steps[0];
  return { op: steps.map((s) => s.op).join("+"), action: String(step?.newState?.inputs?.plannedAction ?? "none") };
}

test("machines on a Network with the real CLI: static lease, DHCP, reachability, DNS, a live lease change, destroy leaves nothing", { timeout: 600_000 }, async (t) => {
  const lab = await ensureLab();
  const h = lab.hosts.find((x) => x.name === "h1")!;
  const img = guestImageDir();
  const before = await snapshot(h);
  const net = network();
  const stack = await TestStack.create({
    program: "test/e2e/fixtures/network-machines",
    consumer: await useBuiltConsumer(),
    config: {
      host: JSON.stringify({ address: h.address, port: h.port, hostKey: h.hostKey }),
      network: JSON.stringify(net),
      pool: JSON.stringify({ name: POOL, type: "dir" }),
      guest: JSON.stringify({
        name: GUEST, virtualization: "full", vcpus: 1, memory: "192MiB",
        boot: { kernel: `${img}/vmlinuz`, initrd: `${img}/initrd.img`, cmdline: "console=ttyS0 quiet" },
        rootDisk: { baseImage: `${img}/base-a.qcow2` }, shutdownTimeoutSec: 5,
        nics: [{ mac: GUEST_MAC }],
        waitFor: { ssh: true, timeoutSec: 300 },
      }),
      // The second guest waits only for an address (a DHCP lease from the range): cheaper than a second SSH wait.
      guest2: JSON.stringify({
        name: GUEST2, virtualization: "full", vcpus: 1, memory: "128MiB",
        boot: { kernel: `${img}/vmlinuz`, initrd: `${img}/initrd.img`, cmdline: "console=ttyS0 quiet" },
        rootDisk: { baseImage: `${img}/base-a.qcow2` }, shutdownTimeoutSec: 5,
        nics: [{}],
        waitFor: { address: "ipv4", timeoutSec: 300 },
      }),
      containers: JSON.stringify({ ct: { name: CT, memory: "64MiB", cpus: 1, stopTimeoutSec: 2 } }),
    },
    secrets: { privateKey: readFileSync(h.privateKeyPath, "utf8") },
  });
  t.after(async () => {
    closeAllRemotes();
    await stack.destroy().catch(() => undefined);
    await stack.rm();
  });

  await stack.up();
  const outs = (await stack.outputs({ showSecrets: true })) as { machines: { vm: { addresses: Addresses; connection: Record<string, unknown> }; vm2: { addresses: Addresses } }; storage: { path: string } };
  const guest = getRemote({ ...outs.machines.vm.connection, dialTimeoutMs: 20_000 });
  let ctIp = "";

  await t.test("the guest got its static lease, the container a lease from the range; the guest's disks are in the pool", async () => {
    assert.deepEqual(outs.machines.vm.addresses.map((a) => ({ mac: a.mac, bridge: a.bridge, ipv4: a.ipv4 })), [{ mac: GUEST_MAC, bridge: BR, ipv4: ["10.77.161.20"] }]);
    assert.match(await onHostOk(h, ["cat", `/var/lib/pulumi-virt/net/${BR}/leases`]), new RegExp(`${GUEST_MAC} 10\\.77\\.161\\.20 `), "dnsmasq's lease file has the guest's lease");
    assert.match((await guest.exec(["ip", "-4", "-o", "addr", "show", "eth0"])).stdout, /inet 10\.77\.161\.20\/24 /, "the guest's own view");
    // The container's DHCP client runs after its start returned: wait (bounded) for its lease.
    ctIp = await waitFor("the container's DHCP lease", async () => {
      const m = /inet (10\.77\.161\.(\d+))\//.exec((await onHost(h, ["lxc-attach", "-n", CT, "--", "ip", "-4", "-o", "addr", "show", "eth0"])).stdout);
      return m && Number(m[2]) >= 100 && Number(m[2]) <= 150 ? m[1] : undefined;
    }, 60_000, 500);
    const leases = await onHostOk(h, ["cat", `/var/lib/pulumi-virt/net/${BR}/leases`]);
    assert.ok(leases.split("\n").some((l) => l.split(" ")[2] === ctIp), `the container's ${ctIp} is in dnsmasq's lease file:\n${leases}`);
    const vm2 = outs.machines.vm2.addresses;
    assert.equal(vm2.length, 1);
    assert.match(vm2[0].ipv4[0] ?? "", /^10\.77\.161\.(1[0-4]\d|150)$/, `the second guest has a lease from the range: ${JSON.stringify(vm2)}`);
    assert.ok(leases.split("\n").some((l) => l.split(" ")[1] === vm2[0].mac && l.split(" ")[2] === vm2[0].ipv4[0]), `its lease is in dnsmasq's lease file:\n${leases}`);
    const files = await onHostOk(h, ["find", outs.storage.path, "-name", "*.qcow2"]);
    assert.match(files, new RegExp(`^${outs.storage.path}/${GUEST}/\\S+\\.qcow2$`, "m"), `the guest's root disk is in the pool:\n${files}`);
    assert.match(files, new RegExp(`^${outs.storage.path}/${GUEST2}/\\S+\\.qcow2$`, "m"), `the second guest's root disk is in the pool:\n${files}`);
  });

  await t.test("the guest reaches the container, the container the guest's SSH port; the lease's name resolves via the Network's dnsmasq", async () => {
    assert.ok(ctIp, "the container's address (previous subtest)");
    const ping = await guest.exec(["ping", "-c", "2", "-W", "10", ctIp]);
    assert.equal(ping.code, 0, `ping from the guest to the container:\n${ping.stdout}${ping.stderr}`);
    // A TCP connection from the container: the guest's SSH server answers with its banner.
    const banner = await onHostOk(h, ["lxc-attach", "-n", CT, "--", "sh", "-c", "echo | nc -w 10 10.77.161.20 22"]);
    assert.match(banner, /^SSH-2\.0-/);
    const ns = await guest.exec(["nslookup", "vm.mach.test", "10.77.161.1"]);
    assert.match(ns.stdout, /Address:? 10\.77\.161\.20\b/, `nslookup in the guest:\n${ns.stdout}${ns.stderr}`);
  });

  await t.test("IPv6: a DHCPv6 client on the bridge leases an address from the range; the guest has a SLAAC address from the advertisements", async () => {
    // The test guest has no DHCPv6 client: a veth on the bridge with a minimal one (test/support/dhcpv6-probe.ts).
    const setup = [
      'ip link add "$1" type veth peer name "$2"',
      'echo 0 > "/proc/sys/net/ipv6/conf/$2/accept_dad"',
      'ip link set "$1" master "$3" up',
      'ip link set "$2" up',
    ].join(" && ");
    await onHostOk(h, ["sh", "-c", setup, "sh", "pvm-d6a", "pvm-d6b", BR]);
    try {
      const probe = join(__dirname, "..", "support", "dhcpv6-probe.js");
      const leased = (await onHostOk(h, [process.execPath, probe, "pvm-d6b", "52:54:00:77:16:3f", "15000"], { timeoutMs: 30_000 })).trim();
      assert.match(leased, /^fd77:161:0:0:0:0:0:1[0-9a-f]{2}$/, `the DHCPv6 address is in the range: ${leased}`);
      const last = leased.split(":").pop();
      const leases = await onHostOk(h, ["cat", `/var/lib/pulumi-virt/net/${BR}/leases`]);
      assert.match(leases, new RegExp(`^\\d+ \\d+ fd77:161::${last} `, "m"), `dnsmasq recorded the DHCPv6 lease:\n${leases}`);
    } finally {
      await onHost(h, ["ip", "link", "del", "pvm-d6a"]);
    }
    const slaac = await waitFor("a SLAAC address in the guest", async () => {
      const m = /inet6 (fd77:161:[0-9a-f:]+)\/64 scope global/.exec((await guest.exec(["ip", "-6", "-o", "addr", "show", "eth0"])).stdout);
      return m?.[1];
    }, 30_000, 1000);
    // SLAAC from the guest's MAC (EUI-64): 52:54:00:77:16:31 → 5054:ff:fe77:1631.
    assert.equal(slaac, "fd77:161::5054:ff:fe77:1631");
  });

  await t.test("a new static lease is live: dnsmasq, the guest's QEMU and the container's init keep their PIDs; its name resolves", async () => {
    net.ipv4.dhcp.hosts.push({ mac: "52:54:00:77:16:32", ip: "10.77.161.21", name: "db" });
    await stack.setConfig("network", JSON.stringify(net));
    const p = await stack.preview({ json: true });
    assert.equal(plannedOf(p, "net").action, "live");
    // --json lists only the steps that change something (a "same" step may appear or not).
    for (const n of ["vm", "vm2", "ct", "kvm", "lxc"]) assert.match(plannedOf(p, n).op, /^(same)?$/, `${n} is not touched by the network's change`);
    const pids = [await pidOf(h, DNSMASQ_PID), await pidOf(h, `/run/libvirt/qemu/${GUEST}.pid`), await initPid(h)];
    await stack.up();
    assert.deepEqual([await pidOf(h, DNSMASQ_PID), await pidOf(h, `/run/libvirt/qemu/${GUEST}.pid`), await initPid(h)], pids, "dnsmasq, QEMU, container init");
    const last = ((await stack.outputs()) as { network: { lastApplied: { action: string } } }).network.lastApplied;
    assert.equal(last.action, "live");
    const ns = await guest.exec(["nslookup", "db.mach.test", "10.77.161.1"]);
    assert.match(ns.stdout, /Address:? 10\.77\.161\.21\b/, `the new name, asked from the guest:\n${ns.stdout}${ns.stderr}`);
    assert.equal((await guest.exec(["ping", "-c", "1", "-W", "10", ctIp])).code, 0, "the guest still reaches the container");
    await stack.preview({ expectNoChanges: true });
  });

  await t.test("pulumi destroy leaves the host as it was", async () => {
    closeAllRemotes();
    await stack.destroy();
    assert.equal(await snapshot(h), before);
  });
});
