// Finding 3 of issue 19: Container.connection carries the host's whole connection (pinned host key of every hop,
// the proxy chain, password and key passphrase where the host has them) and never invents the container's own key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectionOf } from "../../provider/drivers/lxc/machine";
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
  // The container's own key is not known: the connection says so and pins nothing.
  assert.equal(c.hostKey, undefined);
  assert.equal(c.insecureSkipHostKeyCheck, true);
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
  // Usable as a pulumi-virt Host connection as it is: every hop valid, pinned or explicitly unpinned.
  const parsed = connectionSchema.parse(c);
  assert.equal(parsed.proxy?.proxy?.proxy?.hostKey, BASTION_FP);
});

test("no static address, no connection", () => {
  assert.equal(connectionOf({ hypervisor: hypervisorRef("lxc") } as ContainerState), undefined);
});
