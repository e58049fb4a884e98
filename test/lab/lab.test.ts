// Acceptance for the local lab (issue 2): the namespace hosts behave like separate machines over
// real SSH, and lab.sh down removes everything. The down/up test is last and leaves the lab up.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { Client } from "ssh2";
import {
  LabHost, ensureLab, labHost, labJsonPath, labScript, labSshConfigPath, loadLab, onHost, onHostOk, run, sshArgs,
} from "../support/lab";

let h1: LabHost;
let h2: LabHost;
let h3: LabHost;

before(async () => {
  const lab = await ensureLab();
  h1 = labHost("h1", lab);
  h2 = labHost("h2", lab);
  h3 = labHost("h3", lab);
});

/** One remote command line over the plain OpenSSH client (fixed test text only). */
async function ssh(host: LabHost, command: string, opts: { stdin?: string; user?: string; key?: string } = {}) {
  return run(["ssh", ...sshArgs(host, opts.user, opts.key), command], { stdin: opts.stdin, timeoutMs: 60_000 });
}

async function sshOk(host: LabHost, command: string): Promise<string> {
  const r = await ssh(host, command);
  assert.equal(r.code, 0, `ssh ${host.name} '${command}' failed: ${r.stderr}`);
  return r.stdout;
}

test("h1 and h2 answer SSH with strict host key checking, each with its own hostname", async () => {
  assert.equal((await sshOk(h1, "hostname")).trim(), "pv-h1");
  assert.equal((await sshOk(h2, "hostname")).trim(), "pv-h2");
});

test("host keys differ and each sshd presents the key recorded in lab.json", async () => {
  const keys = new Set(loadLab().hosts.map((h) => h.hostKey));
  assert.equal(keys.size, 3);
  for (const h of [h1, h2]) {
    const scan = await run(["ssh-keyscan", "-T", "5", "-t", "ed25519", h.address], { timeoutMs: 30_000 });
    const presented = scan.stdout.split("\n").find((l) => l.startsWith(h.address + " "));
    assert.ok(presented, `no key from ${h.name}: ${scan.stderr}`);
    assert.equal(presented.split(" ").slice(1, 3).join(" "), h.hostKey);
    const fp = await run(["ssh-keygen", "-lf", "-"], { stdin: presented });
    assert.equal(fp.stdout.split(" ")[1], h.hostKeyFingerprint);
  }
});

test("/var/lib/lxc is private per host", async () => {
  const marker = `/var/lib/lxc/lab-marker-${process.pid}`;
  try {
    await sshOk(h1, `touch ${marker}`);
    assert.equal((await ssh(h1, `test -e ${marker}`)).code, 0);
    assert.equal((await ssh(h2, `test -e ${marker}`)).code, 1, "h2 sees h1's file");
    assert.equal(existsSync(marker), false, "the root namespace sees h1's file");
  } finally {
    await ssh(h1, `rm -f ${marker}`);
  }
});

/** The memory limit file of a container's cgroup as seen from this machine (v1 or v2 layout). */
function memoryLimitPath(host: LabHost, container: string): string {
  const v1 = `/sys/fs/cgroup/memory/${host.netns}/lxc.payload.${container}/memory.limit_in_bytes`;
  return existsSync("/sys/fs/cgroup/memory") ? v1 : `/sys/fs/cgroup/${host.netns}/lxc.payload.${container}/memory.max`;
}

test("an LXC container created on h1 over SSH runs there, is limited by its cgroup, and is absent on h2", { timeout: 120_000 }, async () => {
  const name = "labprobe";
  await ssh(h1, `lxc-stop -k -n ${name} >/dev/null 2>&1; lxc-destroy -n ${name} >/dev/null 2>&1; true`);
  try {
    await sshOk(h1, `lxc-create -t busybox -n ${name}`);
    await sshOk(h1, `lxc-start -n ${name}`);
    assert.equal((await sshOk(h1, `lxc-info -s -H -n ${name}`)).trim(), "RUNNING");
    assert.match(await sshOk(h1, "lxc-ls -1"), new RegExp(`^${name}$`, "m"));
    assert.doesNotMatch(await sshOk(h2, "lxc-ls -1"), new RegExp(`^${name}$`, "m"));

    // The container sits on the host's bridge...
    const link = (await sshOk(h1, "ip -o link show master pvbr0")).trim();
    assert.notEqual(link, "", "no container veth on pvbr0");
    // ...and in the host's own cgroup subtree, where a live limit really lands.
    const pid = (await sshOk(h1, `lxc-info -p -H -n ${name}`)).trim();
    const cg = readFileSync(`/proc/${pid}/cgroup`, "utf8");
    assert.match(cg, new RegExp(`/${h1.netns}/lxc\\.payload\\.${name}$`, "m"));
    await sshOk(h1, `lxc-cgroup -n ${name} ${existsSync("/sys/fs/cgroup/memory") ? "memory.limit_in_bytes" : "memory.max"} 64M`);
    assert.equal(readFileSync(memoryLimitPath(h1, name), "utf8").trim(), String(64 * 1024 * 1024));
    // The limit bites: allocating 100 MB inside gets the process killed.
    const hog = await ssh(h1, `lxc-attach -n ${name} -- sh -c 'head -c 100000000 /dev/zero | tail >/dev/null'`);
    assert.notEqual(hog.code, 0, "a 100 MB allocation survived a 64M limit");
  } finally {
    await ssh(h1, `lxc-stop -k -n ${name}; lxc-destroy -n ${name}`);
  }
  assert.doesNotMatch(await sshOk(h1, "lxc-ls -1"), new RegExp(`^${name}$`, "m"));
});

test("h3 is reachable only through h1", { timeout: 60_000 }, async () => {
  const direct = await run(["ssh", ...sshArgs(h3).map((a) => (a === "ConnectTimeout=5" ? "ConnectTimeout=3" : a)), "hostname"], {
    timeoutMs: 30_000,
  });
  assert.notEqual(direct.code, 0, "h3 answered the root namespace directly");
  const jumped = await run(
    ["ssh", "-F", labSshConfigPath, "-J", `root@${h1.address}`, `root@${h3.address}`, "hostname"],
    { timeoutMs: 30_000 },
  );
  assert.equal(jumped.code, 0, jumped.stderr);
  assert.equal(jumped.stdout.trim(), "pv-h3");
});

test("ops logs in with its key or password, and sudo needs the password", { timeout: 60_000 }, async () => {
  const { user, privateKeyPath, passwordFile } = h1.sudoUser;
  assert.equal(((await ssh(h1, "id -un", { user, key: privateKeyPath })).stdout).trim(), user);
  const noPassword = await ssh(h1, "sudo -n true", { user, key: privateKeyPath });
  assert.notEqual(noPassword.code, 0, "sudo worked without a password");
  const password = readFileSync(passwordFile, "utf8").trim();
  const withPassword = await ssh(h1, "sudo -S -p '' id -u", { user, key: privateKeyPath, stdin: password + "\n" });
  assert.equal(withPassword.code, 0, withPassword.stderr);
  assert.equal(withPassword.stdout.trim(), "0");

  // Password authentication (ssh2: the OpenSSH client would need a terminal for it).
  const whoami = await new Promise<string>((resolve, reject) => {
    const c = new Client();
    c.on("ready", () => {
      c.exec("id -un", (err, stream) => {
        if (err) return reject(err);
        let out = "";
        stream.on("data", (d: Buffer) => (out += d.toString()));
        stream.on("close", () => {
          c.end();
          resolve(out.trim());
        });
      });
    });
    c.on("error", reject);
    c.connect({
      host: h1.address, port: h1.port, username: user, password, readyTimeout: 10_000,
      hostVerifier: (key: Buffer) => key.equals(Buffer.from(h1.hostKey.split(" ")[1], "base64")),
    });
  });
  assert.equal(whoami, user);
});

// Keep last: it tears the lab down and brings it back up for the tiers that follow.
test("lab.sh down removes everything it made (with a loop-backed container running), up restores it", { timeout: 600_000 }, async () => {
  await sshOk(h1, "lxc-create -t busybox -n labloop -B loop --fstype xfs --fssize 300M >/dev/null && lxc-start -n labloop");
  const loopDev = (await onHostOk(h1, ["losetup", "--list", "--noheadings", "-O", "NAME", "-j", "/var/lib/lxc/labloop/rootdev"])).trim();
  assert.match(loopDev, /^\/dev\/loop\d+$/);
  const hostPids = loadLab().hosts.map((h) => h.monitorPid);
  const stateDirs = loadLab().hosts.map((h) => h.stateDir);

  const down = await run(["bash", labScript, "down"], { timeoutMs: 120_000 });
  assert.equal(down.code, 0, down.stderr);

  const netns = await run(["ip", "netns", "list"]);
  assert.doesNotMatch(netns.stdout, /pvlab-/);
  assert.notEqual((await run(["ip", "link", "show", "pvlab0"])).code, 0, "pvlab0 still exists");
  assert.notEqual((await run(["ip", "link", "show", "pvbr0"])).code, 0, "a pvbr0 bridge is visible");
  assert.doesNotMatch((await run(["ip", "-o", "link"])).stdout, /pvl-h\d/);
  assert.doesNotMatch((await run(["ip", "route"])).stdout, /10\.77\.(0|10[1-3])\./);
  for (const pid of hostPids) assert.equal(isRunning(pid), false, `lab sshd ${pid} still runs`);
  const ps = await run(["ps", "-eo", "args"]);
  assert.doesNotMatch(ps.stdout, /pulumi-virt-lab\/hosts\/h\d\/sshd_config/, "a lab sshd still runs");
  const loops = await run(["losetup", "--list", "--noheadings", "-O", "NAME"]);
  assert.doesNotMatch(loops.stdout, new RegExp(`^${loopDev}\\s*$`, "m"), `${loopDev} still attached`);
  for (const d of stateDirs) assert.equal(existsSync(d), false, `${d} still exists`);
  assert.equal(existsSync("/sys/fs/cgroup/memory/pvlab-h1"), false, "h1's cgroup subtree remains");
  assert.equal(existsSync(labJsonPath), false);

  const again = await run(["bash", labScript, "down"], { timeoutMs: 60_000 });
  assert.equal(again.code, 0, `down on a downed lab failed: ${again.stderr}`);

  const up = await run(["bash", labScript, "up"], { timeoutMs: 300_000 });
  assert.equal(up.code, 0, up.stderr);
  assert.doesNotMatch(up.stdout + up.stderr, new RegExp(readFileSync(labHost("h1").sudoUser.passwordFile, "utf8").trim()));
  assert.equal((await run(["bash", labScript, "status"], { timeoutMs: 60_000 })).code, 0);
  const fresh = labHost("h1");
  assert.notEqual(fresh.monitorPid, h1.monitorPid);
  assert.equal(fresh.hostKey, h1.hostKey, "host keys must stay stable across ups");
  assert.equal((await onHostOk(fresh, ["hostname"])).trim(), "pv-h1");
  assert.equal((await onHost(fresh, ["test", "-e", "/var/lib/lxc/labloop"])).code, 1, "state survived down");
});

/** True while the process exists and is not a zombie (reaping belongs to PID 1, not to the lab). */
function isRunning(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}
