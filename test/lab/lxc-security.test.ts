// Issue 19 on a real lab host (h1) through the LXC driver: a read never follows a path the container controls
// (finding 5).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { ContainerSpec, createContainer, destroyContainer, readContainer } from "../../provider/drivers/lxc";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import type { Remote } from "../../provider/ssh/types";
import { ensureLab, LabHost } from "../support/lab";

const PREFIX = "pvt-sec-";
const NAMES = ["ns"].map((s) => PREFIX + s);
let host: LabHost;
let remote: Remote;

/** Runs argv in the lab host's namespaces, bypassing the driver and SSH. */
function onHost(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", ["--target", String(host.monitorPid), "--net", "--mount", "--uts", "--", ...argv], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
}
async function sh(argv: string[]): Promise<string> {
  const r = await onHost(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}: ${r.stderr.slice(-500)}`);
  return r.stdout.trim();
}

before(async () => {
  const lab = await ensureLab();
  host = lab.hosts.find((h) => h.name === "h1")!;
  remote = getRemote({ host: host.address, port: host.port, user: host.user, privateKey: readFileSync(host.privateKeyPath, "utf8"), hostKey: host.hostKey });
  for (const n of NAMES) await destroyContainer(remote, n);
});

after(async () => {
  try {
    for (const n of NAMES) await destroyContainer(remote, n);
    await onHost(["rm", "-f", "/tmp/pvt-sec-canary"]);
  } finally {
    closeAllRemotes();
  }
});

test("the MAC is read in the container's network namespace: a planted symlink or FIFO neither redirects nor stalls it", async () => {
  const mac = "02:42:ac:11:00:07";
  const spec: ContainerSpec = {
    name: PREFIX + "ns",
    template: { kind: "busybox" },
    memoryMiB: 64,
    network: { bridge: host.bridge, address: host.guestSubnet.replace(/\.0\/24$/, ".233/24"), gateway: host.bridgeAddress, hwaddr: mac },
    running: true,
    autostart: false,
  };
  const created = await createContainer(remote, spec);
  assert.equal(created.hwaddr, mac);
  const pid = created.initPid!;
  // A host file that looks like a MAC: a read that followed the container's symlink would report it.
  const canary = "02:de:ad:be:ef:01";
  await sh(["sh", "-c", 'echo "$1" > /tmp/pvt-sec-canary', "sh", canary]);
  // Inside the container (its root, all its capabilities): hide sysfs and plant a symlink to the host's file.
  await sh(["lxc-attach", "-n", spec.name, "--", "sh", "-c",
    "umount -l /sys 2>/dev/null; mount -t tmpfs tmpfs /sys && mkdir -p /sys/class/net/eth0 && ln -sf /tmp/pvt-sec-canary /sys/class/net/eth0/address"]);
  // Proof the trap is set: the host path the old read used now leads to the canary.
  assert.equal(await sh(["cat", `/proc/${pid}/root/sys/class/net/eth0/address`]), canary);
  const redirected = await readContainer(remote, spec.name);
  assert.equal(redirected?.hwaddr, mac, "the MAC must come from the container's network namespace, not a path inside it");
  assert.equal(redirected?.initPid, pid);

  // A FIFO there would block a reader forever; the read completes (within the transport's command timeout).
  await sh(["lxc-attach", "-n", spec.name, "--", "sh", "-c", "rm -f /sys/class/net/eth0/address && mkfifo /sys/class/net/eth0/address"]);
  assert.equal((await onHost(["test", "-p", `/proc/${pid}/root/sys/class/net/eth0/address`])).code, 0, "the FIFO is in place");
  const stalled = await readContainer(remote, spec.name);
  assert.equal(stalled?.hwaddr, mac);
  assert.equal(stalled?.running, true);
});
