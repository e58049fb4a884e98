// A Debian (systemd) container through the driver: static address (DHCP would block boot), boot to
// systemd, live memory change, graceful stop by systemd's halt signal. Uncached, debootstrap takes
// ~80 s; later runs reuse /var/cache/lxc/debian.
// Runs in the ROOT namespace with a local Remote, not on a lab host: lxc-debian asks the Debian
// mirror whether the release exists even when its rootfs is cached, and lab hosts have no route out.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { applyLive, createContainer, destroyContainer, readContainer, stopContainer } from "../../provider/drivers/lxc";
import { ExecOptions, ExecResult, Remote, RemoteCommandError } from "../../provider/ssh/types";

const NAME = "pvt-lxc-deb";
const BRIDGE = "pvtlxc0";
const SUBNET = "10.77.231";
const MiB = 1024 * 1024;
let madeBridge = false;

function run(argv: string[], stdin = ""): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.stdin.on("error", () => undefined); // a command may exit before reading its stdin
    child.on("error", reject);
    child.on("close", (code) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code: code ?? -1, stdout: stdoutBytes.toString(), stderr, stdoutBytes });
    });
    child.stdin.end(stdin);
  });
}

/** This machine as a Remote (root namespace). */
const remote: Remote = {
  label: "local",
  async exec(argv: string[], opts: ExecOptions = {}) {
    const r = await run(argv, typeof opts.stdin === "string" ? opts.stdin : opts.stdin?.toString());
    if (!(opts.okCodes ?? [0]).includes(r.code)) throw new RemoteCommandError("local", argv[0], r.code, r.stderr.slice(-1000), opts.step);
    return r;
  },
  script(script: string, args: string[] = [], opts?: ExecOptions) {
    return this.exec(["sh", "-c", script, "sh", ...args], opts);
  },
  async upload() {
    throw new Error("not used by the LXC driver");
  },
};
const onHost = async (argv: string[]) => {
  const r = await run(argv);
  return { code: r.code, stdout: r.stdout.trim() };
};

before(async () => {
  if ((await run(["test", "-d", `/sys/class/net/${BRIDGE}/bridge`])).code !== 0) {
    await remote.exec(["ip", "link", "add", BRIDGE, "type", "bridge"]);
    await remote.exec(["ip", "addr", "add", `${SUBNET}.1/24`, "dev", BRIDGE]);
    await remote.exec(["ip", "link", "set", BRIDGE, "up"]);
    madeBridge = true;
  }
  await destroyContainer(remote, NAME);
});

after(async () => {
  await destroyContainer(remote, NAME);
  if (madeBridge) await remote.exec(["ip", "link", "del", BRIDGE]);
});

test("debian:bookworm boots systemd with a static address, changes memory live, stops gracefully", async () => {
  const address = `${SUBNET}.34/24`;
  const o = await createContainer(remote, {
    name: NAME,
    template: { kind: "debian", release: "bookworm" },
    memoryMiB: 256,
    disk: { sizeMiB: 1024, fstype: "xfs" },
    network: { bridge: BRIDGE, address, gateway: `${SUBNET}.1` },
    running: true,
    autostart: false,
  });
  assert.equal(o.template, "debian:bookworm");
  assert.equal(o.fstype, "xfs");
  // systemd finishes booting (DHCP would have held it up); "degraded" is fine in a container.
  // systemd's bus appears a moment after start: poll until systemctl can answer, then wait for boot.
  const state = await onHost(["lxc-attach", "-n", NAME, "--", "sh", "-c",
    'for i in $(seq 240); do s=$(systemctl is-system-running --wait 2>/dev/null); [ -n "$s" ] && { echo "$s"; exit 0; }; sleep 0.5; done; exit 1']);
  assert.match(state.stdout, /^(running|degraded)$/);
  const ip = await onHost(["lxc-attach", "-n", NAME, "--", "ip", "-4", "-o", "addr", "show", "eth0"]);
  assert.match(ip.stdout, new RegExp(`inet ${address.replace(/\./g, "\\.")} brd ${SUBNET.replace(/\./g, "\\.")}\\.255`));

  await applyLive(remote, NAME, { memoryMiB: 384 });
  const live = (await readContainer(remote, NAME))!;
  assert.equal(live.initPid, o.initPid);
  assert.equal(live.memoryMiB, 384);
  assert.equal((await onHost(["lxc-cgroup", "-n", NAME, "memory.limit_in_bytes"])).stdout, `${384 * MiB}`);

  assert.equal(await stopContainer(remote, NAME, 60), "graceful");
  assert.equal((await readContainer(remote, NAME))!.running, false);
  assert.equal(await destroyContainer(remote, NAME), "destroyed");
});
