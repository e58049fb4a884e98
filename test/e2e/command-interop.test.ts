// @pulumi/command interop (issues 20 and 23): examples/command-interop runs remote.Command inside a Container over the
// container's `connection` output, and inside a KVM Guest over the guest's. The container has no static address: it takes a DHCP lease on lab host h1's
// bridge, and the connection goes there with h1 as the SSH proxy, pinned to the SSH host key pulumi-virt generated
// and installed into the rootfs (not the one the rootfs came with). The pulumi-resource-command plugin is served by no
// registry here: when it is neither in the plugin cache (${PULUMI_HOME:-~/.pulumi}/plugins) nor on PATH, the test
// says so in one line and is skipped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import { REPO_ROOT, TestStack } from "./harness";
import { ensureGuestNet, ensureLab, labHost, onHost, onHostOk } from "../support/lab";
import { COMMAND_PLUGIN, findCommandPlugin, linkCommandPlugin, wantedCommandPluginVersion } from "../support/command-plugin";

interface StateResource { type: string; outputs?: Record<string, unknown> }

/** A secret output as `stack export --show-secrets` writes it: a signature object around its JSON as plaintext. */
const reveal = <T>(v: unknown): T =>
  (v && typeof v === "object" && "plaintext" in v ? JSON.parse(String((v as { plaintext: string }).plaintext)) : v) as T;

const containerOf = (exported: string) =>
  (JSON.parse(exported).deployment.resources as StateResource[]).find((r) => r.type.endsWith(":Container"))!;

test("@pulumi/command interop: remote.Command runs inside a DHCP Container over its pinned connection output", async (t) => {
  const version = wantedCommandPluginVersion(REPO_ROOT);
  const plugin = findCommandPlugin(version);
  if (!plugin) {
    const home = process.env.PULUMI_HOME ?? "~/.pulumi";
    t.skip(`${COMMAND_PLUGIN} ${version} is not installed (not in ${home}/plugins, not on PATH): @pulumi/command interop not tested`);
    return;
  }
  await ensureLab();
  await ensureGuestNet();
  const h1 = labHost("h1");
  const name = `ci${Date.now().toString(36).slice(-6)}`;
  const token = `interop-${randomBytes(8).toString("hex")}`;
  const rootfs = `/var/lib/lxc/${name}.ssh-rootfs.tar`;
  // No key on stdin: root's login is authorized only by what pulumi-virt installs (the host connection's key).
  await onHostOk(h1, ["sh", path.join(REPO_ROOT, "examples/command-interop/ssh-rootfs.sh"), rootfs, token], { stdin: "" });
  const builtKey = (await onHostOk(h1, ["tar", "-xOf", rootfs, "./etc/ssh/ssh_host_ed25519_key.pub"])).trim().split(" ").slice(0, 2).join(" ");
  const hostPrivateKey = fs.readFileSync(h1.privateKeyPath, "utf8");
  const img = execFileSync("bash", [path.join(REPO_ROOT, "lab/images/build-guest.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;

  const stack = await TestStack.create({
    program: "examples/command-interop",
    config: {
      host: JSON.stringify({ address: h1.address, port: h1.port, user: h1.user, hostKey: h1.hostKey, bridge: h1.bridge, guestSubnet: h1.guestSubnet }),
      containerName: name,
      rootfs,
      // The token (only in this container's rootfs), the container's hostname, where its sshd saw the client come
      // from (h1's bridge address: the session was tunnelled through h1, the proxy), and the host key it offers.
      command: 'cat /etc/interop-token && hostname && echo "${SSH_CONNECTION%% *}" && cut -d" " -f1,2 /etc/ssh/ssh_host_ed25519_key.pub',
      // The guest (the lab's test image: NoCloud seed, dropbear): its hostname (from pulumi-virt's seed) and its NIC's MAC.
      guestImage: JSON.stringify({ kernel: `${img}/vmlinuz`, initrd: `${img}/initrd.img`, baseImage: `${img}/base-a.qcow2` }),
      guestName: `${name}-vm`,
      guestCommand: "hostname && cat /sys/class/net/eth0/address",
    },
    secrets: { privateKey: hostPrivateKey },
  });
  t.after(async () => {
    closeAllRemotes();
    await stack.destroy().catch(() => undefined);
    await stack.rm();
    await onHost(h1, ["rm", "-f", rootfs]);
  });
  linkCommandPlugin(plugin, stack.dir);

  let pinned = "";
  let containerPrivateKey = "";
  let connection: Record<string, unknown> = {};
  await t.test("up waits for SSH, then remote.Command runs in the container over the pinned connection", async () => {
    await stack.up();
    assert.match((await onHostOk(h1, ["lxc-info", "-n", name, "-s", "-H"])).trim(), /RUNNING/);
    const outs = await stack.outputs({ showSecrets: true });
    const [gotToken, hostname, from, offered] = String(outs.stdout).trim().split("\n");
    assert.deepEqual([gotToken, hostname, from], [token, name, h1.bridgeAddress]);
    // The addresses output is what the container has: a lease from h1's DHCP range, also in dnsmasq's lease file.
    const addresses = outs.addresses as { mac: string; ipv4: string[] }[];
    assert.equal(addresses.length, 1);
    const [ip] = addresses[0].ipv4;
    assert.match(ip ?? "", /^10\.77\.101\.(1[0-9][0-9])$/, `a DHCP address in 10.77.101.100-199: ${JSON.stringify(addresses)}`);
    const live = await onHostOk(h1, ["lxc-info", "-n", name, "-i", "-H"]);
    assert.ok(live.split("\n").map((l) => l.trim()).includes(ip), `lxc-info -i says ${live}`);
    const leases = await onHostOk(h1, ["cat", "/var/lib/libvirt/dnsmasq/pvbr0.leases"]);
    assert.match(leases, new RegExp(`${addresses[0].mac} ${ip.replace(/\./g, "\\.")} `));
    // The pin is the key pulumi-virt generated and installed, not the one the rootfs was built with, and it is the
    // key the container's sshd offered to remote.Command (which checks the pin).
    const state = containerOf((await stack.pulumi(["stack", "export", "--show-secrets"])).stdout);
    connection = reveal<Record<string, unknown>>(state.outputs!.connection);
    containerPrivateKey = reveal<{ privateKey: string }>(state.outputs!.sshHostKey).privateKey;
    pinned = String(connection.hostKey);
    assert.equal(connection.host, ip);
    assert.match(pinned, /^ssh-ed25519 /);
    assert.notEqual(pinned, builtKey);
    assert.equal(offered, pinned);
  });

  await t.test("remote.Command runs in the KVM guest over the guest's pinned connection", async () => {
    const outs = await stack.outputs({ showSecrets: true });
    const [hostname, mac] = String(outs.vmStdout).trim().split("\n");
    const vmAddresses = outs.vmAddresses as { mac: string; ipv4: string[] }[];
    assert.equal(hostname, `${name}-vm`, "the guest's hostname, from pulumi-virt's seed");
    assert.equal(mac, vmAddresses[0].mac, "the guest's own NIC");
    assert.match(vmAddresses[0].ipv4[0] ?? "", /^10\.77\.101\.\d+$/);
  });

  await t.test("a wrong pin is refused", async () => {
    const wrong = { ...connection, hostKey: builtKey, dialTimeoutMs: 20_000 };
    await assert.rejects(getRemote(wrong).exec(["true"]), /host key|fingerprint|pin/i);
  });

  await t.test("the connection and the host key are secret in state: no plaintext key in `pulumi stack export`", async () => {
    const exported = await stack.exportState();
    assert.ok(!exported.includes("PRIVATE KEY"), "a private key is in plaintext in the state");
    // Not even a line of one: h1's key (the connection's), the container's host key (the pin's private half).
    const body = (k: string) => k.split("\n").filter((l) => l.length >= 40 && !l.startsWith("-----"));
    assert.ok(body(containerPrivateKey).length > 0 && body(hostPrivateKey).length > 0);
    for (const line of [...body(containerPrivateKey), ...body(hostPrivateKey)]) assert.ok(!exported.includes(line), "a private key line is in plaintext in the state");
    const outputs = containerOf(exported).outputs!;
    for (const k of ["connection", "sshHostKey"]) {
      assert.ok(JSON.stringify(outputs[k]).includes("ciphertext"), `${k} is not a secret in state`);
    }
  });

  await t.test("refresh reads the addresses again: one added inside the container shows", async () => {
    const pid = (await onHostOk(h1, ["lxc-info", "-n", name, "-p", "-H"])).trim();
    await onHostOk(h1, ["nsenter", `--net=/proc/${pid}/ns/net`, "ip", "addr", "add", "10.77.101.251/24", "dev", "eth0"]);
    await stack.refresh();
    const outputs = containerOf(await stack.exportState()).outputs!;
    const addresses = outputs.addresses as { ipv4: string[] }[];
    assert.ok(addresses[0].ipv4.includes("10.77.101.251"), `after refresh: ${JSON.stringify(addresses)}`);
  });

  await t.test("destroy runs the commands' deletes over the connections, then removes the container and the guest", async () => {
    await stack.destroy();
    const ls = (await onHostOk(h1, ["lxc-ls", "-1"])).split("\n");
    assert.ok(!ls.includes(name), `container ${name} is still on h1`);
    const doms = (await onHostOk(h1, ["virsh", "-c", "qemu:///system", "list", "--all", "--name"])).split("\n").map((l) => l.trim());
    assert.ok(!doms.includes(`${name}-vm`), `guest ${name}-vm is still on h1`);
  });
});
