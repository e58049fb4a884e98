// @pulumi/command interop (issue 23): examples/command-interop runs remote.Command inside a Container over the
// container's `connection` output (its static address on lab host h1's bridge, reached with h1 as the SSH proxy).
// The pulumi-resource-command plugin is served by no registry here: when it is neither in the plugin cache
// (${PULUMI_HOME:-~/.pulumi}/plugins) nor on PATH, the test says so in one line and is skipped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT, TestStack } from "./harness";
import { ensureLab, labHost, onHost, onHostOk, run } from "../support/lab";
import { COMMAND_PLUGIN, findCommandPlugin, linkCommandPlugin, wantedCommandPluginVersion } from "../support/command-plugin";

const PLUGIN = COMMAND_PLUGIN;
const wantedVersion = () => wantedCommandPluginVersion(REPO_ROOT);
const findPlugin = findCommandPlugin;

test("@pulumi/command interop: remote.Command runs inside a Container over its connection output", async (t) => {
  const version = wantedVersion();
  const plugin = findPlugin(version);
  if (!plugin) {
    const home = process.env.PULUMI_HOME ?? "~/.pulumi";
    t.skip(`${PLUGIN} ${version} is not installed (not in ${home}/plugins, not on PATH): @pulumi/command interop not tested`);
    return;
  }
  await ensureLab();
  const h1 = labHost("h1");
  const name = `ci${Date.now().toString(36).slice(-6)}`;
  const token = `interop-${randomBytes(8).toString("hex")}`;
  const rootfs = `/var/lib/lxc/${name}.ssh-rootfs.tar`;
  const publicKey = (await run(["ssh-keygen", "-y", "-f", h1.privateKeyPath])).stdout;
  await onHostOk(h1, ["sh", path.join(REPO_ROOT, "examples/command-interop/ssh-rootfs.sh"), rootfs, token], { stdin: publicKey });
  const [net, prefix] = h1.guestSubnet.split("/");
  const address = `${net.split(".").slice(0, 3).join(".")}.61/${prefix}`;

  const stack = await TestStack.create({
    program: "examples/command-interop",
    config: {
      host: JSON.stringify({ address: h1.address, port: h1.port, user: h1.user, hostKey: h1.hostKey, bridge: h1.bridge, guestSubnet: h1.guestSubnet }),
      containerName: name,
      rootfs,
      address,
      // The token (only in this container's rootfs), the container's hostname, and where its sshd saw the client
      // come from: h1's bridge address when the session was tunnelled through h1, the proxy.
      command: 'cat /etc/interop-token && hostname && echo "${SSH_CONNECTION%% *}"',
    },
    secrets: { privateKey: fs.readFileSync(h1.privateKeyPath, "utf8") },
  });
  t.after(async () => {
    await stack.destroy().catch(() => undefined);
    await stack.rm();
    await onHost(h1, ["rm", "-f", rootfs]);
  });
  linkCommandPlugin(plugin, stack.dir);

  await t.test("up creates the container, then remote.Command runs in it over the connection", async () => {
    await stack.up();
    assert.match((await onHostOk(h1, ["lxc-info", "-n", name, "-s", "-H"])).trim(), /RUNNING/);
    const outs = await stack.outputs({ showSecrets: true });
    assert.deepEqual(String(outs.stdout).trim().split("\n"), [token, name, h1.bridgeAddress]);
  });

  await t.test("a second preview is a no-op", async () => {
    await stack.preview({ expectNoChanges: true });
  });

  await t.test("destroy runs the command's delete over the connection, then removes the container", async () => {
    await stack.destroy();
    const ls = (await onHostOk(h1, ["lxc-ls", "-1"])).split("\n");
    assert.ok(!ls.includes(name), `container ${name} is still on h1`);
  });
});
