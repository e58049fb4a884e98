// Finding 3 of issue 19: Container.connection carries the host's whole connection (pinned host key of every hop,
// the proxy chain, password and key passphrase where the host has them) and never invents the container's own key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectionOf, containerAddresses, lxcMachineDriver } from "../../provider/drivers/lxc/machine";
import { sshKeysInput } from "../../provider/drivers/lxc/driver";
import type { ContainerState } from "../../provider/models/state";
import { connectionSchema } from "../../provider/ssh/connection";
import { hypervisorRef, RAW_CONNECTION } from "./plan-fixtures";

const JUMP_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJumpHostKeyOnlyForUnitTests00000000000";
const BASTION_FP = "SHA256:" + "b".repeat(43);

test("the connection pins every hop of the host's chain and keeps its credentials", () => {
  const hv = hypervisorRef("lxc");
  hv.host.connection = connectionSchema.parse({
    ...RAW_CONNECTION,
    password: "host-pw",
    proxy: { host: "10.77.0.2", port: 2222, user: "jump", password: "jump-pw", hostKey: JUMP_KEY, proxy: { host: "10.77.0.1", user: "bastion", privateKey: "KEY-B", hostKey: BASTION_FP } },
  });
  const c = connectionOf({ hypervisor: hv, network: { address: "10.77.101.9/24" } } as ContainerState) as any;
  assert.equal(c.host, "10.77.101.9");
  // The container's own key is not known: nothing is pinned, and no field @pulumi/command rejects is added.
  assert.equal(c.hostKey, undefined);
  assert.equal("insecureSkipHostKeyCheck" in c, false);
  assert.equal(c.privateKey, RAW_CONNECTION.privateKey);
  assert.deepEqual(
    { host: c.proxy.host, port: c.proxy.port, user: c.proxy.user, hostKey: c.proxy.hostKey, password: c.proxy.password },
    { host: "10.77.0.11", port: 22, user: "root", hostKey: RAW_CONNECTION.hostKey, password: "host-pw" },
  );
  assert.deepEqual(
    { host: c.proxy.proxy.host, port: c.proxy.proxy.port, hostKey: c.proxy.proxy.hostKey, password: c.proxy.proxy.password },
    { host: "10.77.0.2", port: 2222, hostKey: JUMP_KEY, password: "jump-pw" },
  );
  assert.equal(c.proxy.proxy.proxy.hostKey, BASTION_FP);
  assert.equal(c.proxy.proxy.proxy.privateKey, "KEY-B");
  // The host's chain is usable as a pulumi-virt Host connection as it is: every hop valid and pinned.
  const parsed = connectionSchema.parse(c.proxy);
  assert.equal(parsed.proxy?.proxy?.hostKey, BASTION_FP);
});

test("no static address, no connection", () => {
  assert.equal(connectionOf({ hypervisor: hypervisorRef("lxc") } as ContainerState), undefined);
});

// Issue 20: a container without a static address is reached at the address it got (DHCP), pinned to the host key
// pulumi-virt generated and installed into its rootfs; never trusted on first use.
const HOST_KEY = { privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIContainerHostKeyOnlyForUnitTests0000000" };
const running = (ips: string[]) => ({ name: "c", running: true, autostart: false, ips, hwaddr: "00:16:3e:00:00:01", bridge: "pvbr0" });

test("a DHCP container: addresses per NIC from its read, a connection to the first IPv4 pinned to the generated key", () => {
  const s = { hypervisor: hypervisorRef("lxc"), sshHostKey: HOST_KEY, observed: running(["fd77:101::7", "10.77.101.150"]) } as unknown as ContainerState;
  const addresses = containerAddresses(s, s.observed as never);
  assert.deepEqual(addresses, [{ mac: "00:16:3e:00:00:01", bridge: "pvbr0", ipv4: ["10.77.101.150"], ipv6: ["fd77:101::7"] }]);
  const c = connectionOf(s, addresses) as any;
  assert.equal(c.host, "10.77.101.150");
  assert.equal(c.hostKey, HOST_KEY.publicKey);
  assert.equal(c.proxy.host, "10.77.0.11");
});

test("a DHCP container without a known host key, or without an address yet, has no connection", () => {
  const hv = hypervisorRef("lxc");
  const seen = [{ mac: "m", bridge: "b", ipv4: ["10.77.101.150"], ipv6: [] }];
  assert.equal(connectionOf({ hypervisor: hv } as ContainerState, seen), undefined);
  assert.equal(connectionOf({ hypervisor: hv, sshHostKey: HOST_KEY } as ContainerState, [{ mac: "m", bridge: "b", ipv4: [], ipv6: [] }]), undefined);
});

test("a static address wins over what the container has, and is pinned when pulumi-virt installed the key", () => {
  const c = connectionOf({ hypervisor: hypervisorRef("lxc"), sshHostKey: HOST_KEY, network: { address: "10.77.101.9/24" } } as ContainerState,
    [{ mac: "m", bridge: "b", ipv4: ["10.77.101.150"], ipv6: [] }]) as any;
  assert.equal(c.host, "10.77.101.9");
  assert.equal(c.hostKey, HOST_KEY.publicKey);
});

test("a stopped container has no addresses", () => {
  const s = { hypervisor: hypervisorRef("lxc"), network: { hwaddr: "00:16:3E:00:00:02" } } as unknown as ContainerState;
  assert.deepEqual(containerAddresses(s, { ...running(["10.77.101.150"]), running: false } as never), [{ mac: "00:16:3e:00:00:01", bridge: "pvbr0", ipv4: [], ipv6: [] }]);
  assert.deepEqual(containerAddresses(s, undefined)[0].mac, "00:16:3e:00:00:02");
});

test("refresh (withObserved) recomputes addresses and connection from the new read", () => {
  const s = { hypervisor: hypervisorRef("lxc"), sshHostKey: HOST_KEY, name: "c", memory: 64, running: true, autostart: false } as unknown as ContainerState;
  const p = lxcMachineDriver.withObserved(s, running(["10.77.101.151"]) as never) as any;
  assert.deepEqual(p.addresses[0].ipv4, ["10.77.101.151"]);
  assert.equal(p.connection.host, "10.77.101.151");
});

test("prepare: a new container gets a fresh ed25519 host key, kept across updates; an adopted one gets none", () => {
  const s = { hypervisor: hypervisorRef("lxc") } as ContainerState;
  const k = lxcMachineDriver.prepare!(s, undefined).sshHostKey!;
  assert.match(k.publicKey, /^ssh-ed25519 /);
  assert.match(k.privateKey, /BEGIN OPENSSH PRIVATE KEY/);
  assert.deepEqual(lxcMachineDriver.prepare!(s, { ...s, sshHostKey: k }), { sshHostKey: k });
  assert.deepEqual(lxcMachineDriver.prepare!({ ...s, adopt: true }, undefined), {});
  // A container from before pinned keys keeps its (unpinned) connection: no key it does not have.
  assert.deepEqual(lxcMachineDriver.prepare!(s, { ...s }), {});
});

test("the create script's stdin: key-shaped lines only, the private key last", () => {
  const k = lxcMachineDriver.prepare!({ hypervisor: hypervisorRef("lxc") } as ContainerState, undefined).sshHostKey!;
  const login = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILoginKey login";
  const lines = sshKeysInput({ hostPrivateKey: k.privateKey, hostPublicKey: k.publicKey, authorizedKey: login }).split("\n");
  assert.deepEqual(lines.slice(0, 3), [k.publicKey, login, "-----BEGIN OPENSSH PRIVATE KEY-----"]);
  assert.throws(() => sshKeysInput({ hostPrivateKey: k.privateKey, hostPublicKey: "ssh-ed25519 AAAA\nrm -rf /" }), /ed25519 public key line/);
  assert.throws(() => sshKeysInput({ hostPrivateKey: "x", hostPublicKey: k.publicKey }), /OpenSSH private key/);
  assert.throws(() => sshKeysInput({ hostPrivateKey: k.privateKey, hostPublicKey: k.publicKey, authorizedKey: "command=x\nssh-rsa AAAA" }), /authorized key/);
});
