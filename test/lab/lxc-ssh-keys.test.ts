// Issue 20 on a real lab host (h1): a new container's rootfs gets the SSH host key pulumi-virt generated (the
// connection's pin) and root's login key, on a loop-backed rootfs from a template too; the container's DHCP address
// is read back as it has it; a rootfs that would redirect the key's write through a symlink is refused.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createContainer, destroyContainer, readContainer } from "../../provider/drivers/lxc";
import { generateHostKey, publicKeyLine } from "../../provider/ssh/keys";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import type { Remote } from "../../provider/ssh/types";
import { ensureGuestNet, ensureLab, LabHost, onHost, onHostOk } from "../support/lab";

const PREFIX = "pvt-key-";
const NAMES = ["loop", "link"].map((s) => PREFIX + s);
let host: LabHost;
let remote: Remote;

before(async () => {
  const lab = await ensureLab();
  await ensureGuestNet();
  host = lab.hosts.find((h) => h.name === "h1")!;
  remote = getRemote({ host: host.address, port: host.port, user: host.user, privateKey: readFileSync(host.privateKeyPath, "utf8"), hostKey: host.hostKey });
  for (const n of NAMES) await destroyContainer(remote, n);
});

after(async () => {
  try {
    for (const n of NAMES) await destroyContainer(remote, n);
    await onHost(host, ["rm", "-rf", `/var/lib/lxc/${PREFIX}link.tar`, `/tmp/${PREFIX}target`, `/tmp/${PREFIX}src`]);
  } finally {
    closeAllRemotes();
  }
});

test("a busybox container on a loop xfs rootfs gets the pinned host key and root's login key; its DHCP address is read back", async () => {
  const key = generateHostKey();
  const login = publicKeyLine(readFileSync(host.privateKeyPath, "utf8"))!;
  const name = PREFIX + "loop";
  const o = await createContainer(remote, {
    name, template: { kind: "busybox" }, memoryMiB: 64, disk: { sizeMiB: 300, fstype: "xfs" },
    network: { bridge: host.bridge }, running: true, autostart: false,
    ssh: { hostPrivateKey: key.privateKey, hostPublicKey: key.publicKey, authorizedKey: login },
  });
  const root = `/proc/${o.initPid}/root`;
  assert.equal((await onHostOk(host, ["cat", `${root}/etc/ssh/ssh_host_ed25519_key.pub`])).trim(), key.publicKey);
  assert.equal((await onHostOk(host, ["cat", `${root}/etc/ssh/ssh_host_ed25519_key`])).trim(), key.privateKey.trim());
  assert.equal((await onHostOk(host, ["stat", "-c", "%a", `${root}/etc/ssh/ssh_host_ed25519_key`])).trim(), "600");
  assert.deepEqual((await onHostOk(host, ["ls", `${root}/etc/ssh`])).trim().split("\n").filter((f) => f.startsWith("ssh_host_")), ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"]);
  assert.equal((await onHostOk(host, ["cat", `${root}/root/.ssh/authorized_keys`])).trim(), login);
  // The template's udhcpc asks h1's DHCP server: the read reports the lease it took, as the container has it.
  let ips: string[] = [];
  for (let i = 0; i < 30 && !ips.some((a) => !a.includes(":")); i++) {
    ips = (await readContainer(remote, name))?.ips ?? [];
    if (!ips.length) await new Promise((r) => setTimeout(r, 500));
  }
  const v4 = ips.filter((a) => !a.includes(":"));
  assert.equal(v4.length, 1, `one DHCP address: ${JSON.stringify(ips)}`);
  const inside = await onHostOk(host, ["lxc-attach", "-n", name, "--", "ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
  assert.ok(inside.includes(` ${v4[0]}/`), `the container has ${v4[0]}: ${inside}`);
});

test("a rootfs whose /etc/ssh is a symlink is refused, and nothing is written where it points", async () => {
  const tar = `/var/lib/lxc/${PREFIX}link.tar`;
  const src = `/tmp/${PREFIX}src`;
  const target = `/tmp/${PREFIX}target`;
  await onHostOk(host, ["sh", "-c", 'rm -rf "$1" "$2" && mkdir -p "$1/etc" "$2" && ln -s "$2" "$1/etc/ssh" && tar -cf "$3" -C "$1" .', "sh", src, target, tar]);
  const key = generateHostKey();
  await assert.rejects(
    createContainer(remote, { name: PREFIX + "link", template: { kind: "tarball", path: tar }, memoryMiB: 64, network: { bridge: host.bridge }, running: false, autostart: false, ssh: { hostPrivateKey: key.privateKey, hostPublicKey: key.publicKey } }),
    /\/etc\/ssh as a symlink/,
  );
  assert.equal((await onHostOk(host, ["ls", "-A", target])).trim(), "");
});
