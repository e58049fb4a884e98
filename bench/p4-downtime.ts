// P4: guest downtime during a live resize vs a restart, through the drivers (no engine), on one lab host.
//   container (LXC, busybox): live = memory limit change (same init PID and start time = 0 downtime);
//     restart = restartContainer, downtime from the request until the host reports a new init running.
//   full virtualization (KVM under TCG, the lab's test guest): live = balloon memory change (same QEMU PID,
//     same boot id, PVSTAT lines keep coming); restart = restartWithDefinition, downtime from the request
//     until the guest's first PVSTAT line of the new boot on its serial console.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import type { ContainerSpec } from "../provider/drivers/lxc";
import type { DomainSpec } from "../provider/drivers/kvm";
import { getRemote } from "../provider/ssh/remote";
import type { Remote } from "../provider/ssh/types";
import { BenchHost } from "./lab-sshd";
import { log, RUN_TAG, sleep, Summary, summarize, timed } from "./util";

/** Deadline against hangs only; nothing is asserted on time. */
const DEADLINE_MS = 180_000;

export interface DowntimeResult {
  live: { downtimeMs: Summary; opMs: Summary; samePid: boolean; continuous: boolean; maxStatGapS?: Summary };
  restart: { downtimeMs: Summary; newPidEveryTime: boolean; callMs?: Summary; stopOutcomes?: string[] };
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, everyMs: number): Promise<T> {
  const end = Date.now() + DEADLINE_MS;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}: ${JSON.stringify(v).slice(0, 300)}`);
    await sleep(everyMs);
  }
}

function remoteOf(h: BenchHost, privateKey: string): Remote {
  return getRemote({ host: h.lab.address, port: h.port, user: h.lab.user, privateKey, hostKey: h.lab.hostKey });
}

async function initStart(remote: Remote, pid: number): Promise<string> {
  const stat = (await remote.exec(["cat", `/proc/${pid}/stat`])).stdout;
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]; // field 22: start time in clock ticks
}

export async function benchContainerDowntime(h: BenchHost, privateKey: string, runs: number): Promise<DowntimeResult> {
  const lxc = require("../provider/drivers/lxc") as typeof import("../provider/drivers/lxc");
  const remote = remoteOf(h, privateKey);
  const name = `pvb${RUN_TAG}d-ct`;
  const spec: ContainerSpec = { name, template: { kind: "busybox" }, memoryMiB: 64, network: { bridge: h.lab.bridge }, running: true, autostart: false };
  log(`P4: container ${name} on ${h.lab.name}`);
  try {
    const created = await lxc.createContainer(remote, spec);
    const pid0 = created.initPid!;
    const start0 = await initStart(remote, pid0);
    const liveOp: number[] = [];
    let samePid = true;
    for (let r = 0; r < runs; r++) {
      const mem = r % 2 === 0 ? 96 : 64;
      const { ms } = await timed(() => lxc.applyLive(remote, name, { memoryMiB: mem }));
      const o = await lxc.readContainer(remote, name);
      samePid &&= o?.initPid === pid0 && o?.memoryMiB === mem && (await initStart(remote, pid0)) === start0;
      liveOp.push(ms);
    }
    const down: number[] = [];
    let prev = pid0;
    let newPid = true;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      await lxc.restartContainer(remote, spec, { stopTimeoutSec: 10 });
      const o = await until("container init back", () => lxc.readContainer(remote, name), (x) => !!x?.running && !!x.initPid && x.initPid !== prev, 50);
      down.push(performance.now() - t0);
      newPid &&= o!.initPid !== prev;
      prev = o!.initPid!;
    }
    return {
      live: { downtimeMs: summarize(liveOp.map(() => (samePid ? 0 : NaN))), opMs: summarize(liveOp), samePid, continuous: samePid },
      restart: { downtimeMs: summarize(down), newPidEveryTime: newPid },
    };
  } finally {
    await lxc.destroyContainer(remote, name).catch((e) => log(`destroy ${name}: ${(e as Error).message}`));
  }
}

type Stat = Record<string, string>;

async function stats(remote: Remote, consoleLog: string): Promise<Stat[]> {
  const r = await remote.exec(["tail", "-n", "40", consoleLog], { okCodes: [0, 1] });
  return r.stdout
    .split("\n")
    .filter((l) => l.startsWith("PVSTAT "))
    .map((l) => Object.fromEntries(l.trim().split(/\s+/).slice(1).map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)])));
}

const last = (s: Stat[]) => s[s.length - 1] as Stat | undefined;

export async function benchGuestDowntime(h: BenchHost, privateKey: string, runs: number): Promise<DowntimeResult> {
  const kvm = require("../provider/drivers/kvm") as typeof import("../provider/drivers/kvm");
  const remote = remoteOf(h, privateKey);
  const image = execFileSync("bash", [path.resolve(__dirname, "../../lab/images/build-guest.sh")], { encoding: "utf8" }).trim();
  const name = `pvb${RUN_TAG}d-vm-${randomBytes(2).toString("hex")}`;
  const storageDir = "/var/lib/libvirt/images/pulumi-virt-bench";
  const spec: DomainSpec = {
    name,
    vcpus: 1,
    maxVcpus: 2,
    memoryMiB: 256,
    maxMemoryMiB: 512,
    emulated: true,
    boot: { kind: "kernel", kernel: path.join(image, "vmlinuz"), initrd: path.join(image, "initrd.img"), cmdline: "console=ttyS0 quiet" },
    rootDisk: { baseImage: path.join(image, "base-a.qcow2"), mode: "overlay" },
    dataDisks: [],
    network: { bridge: h.lab.bridge },
    running: true,
    autostart: false,
    shutdownTimeoutSec: 20,
    storageDir,
  };
  const consoleLog = kvm.consoleLogPath(spec);
  log(`P4: KVM guest ${name} on ${h.lab.name} (TCG)`);
  try {
    const obs = await kvm.createGuest(remote, spec);
    const pid0 = obs.qemuPid;
    let cur = last(await until("first PVSTAT line", () => stats(remote, consoleLog), (s) => s.length > 0, 500))!;
    const liveOp: number[] = [];
    const gaps: number[] = [];
    let samePid = true;
    let continuous = true;
    for (let r = 0; r < runs; r++) {
      const mem = r % 2 === 0 ? 384 : 256;
      const before = cur;
      const { ms } = await timed(() => kvm.applyLive(remote, name, { memoryMiB: mem }));
      liveOp.push(ms);
      // Two more PVSTAT lines after the change: the guest kept running through it.
      const after = await until("PVSTAT lines after the live change", () => stats(remote, consoleLog), (s) => Number(last(s)?.uptime) >= Number(before.uptime) + 2, 250);
      const seq = after.filter((s) => s.boot === before.boot && Number(s.uptime) >= Number(before.uptime));
      let gap = 0;
      for (let i = 1; i < seq.length; i++) gap = Math.max(gap, Number(seq[i].uptime) - Number(seq[i - 1].uptime));
      gaps.push(gap);
      const o = await kvm.readGuest(remote, name);
      samePid &&= o.qemuPid === pid0;
      continuous &&= last(after)!.boot === before.boot && seq.length >= 2;
      cur = last(after)!;
    }
    const down: number[] = [];
    const calls: number[] = [];
    const outcomes: string[] = [];
    let newBoot = true;
    for (let r = 0; r < runs; r++) {
      const prevBoot = cur.boot;
      const t0 = performance.now();
      const { stopped } = await kvm.restartWithDefinition(remote, spec);
      calls.push(performance.now() - t0);
      outcomes.push(stopped);
      cur = last(await until("first PVSTAT of the new boot", () => stats(remote, consoleLog), (s) => !!last(s) && last(s)!.boot !== prevBoot, 250))!;
      down.push(performance.now() - t0);
      newBoot &&= cur.boot !== prevBoot;
    }
    return {
      live: { downtimeMs: summarize(liveOp.map(() => (samePid && continuous ? 0 : NaN))), opMs: summarize(liveOp), samePid, continuous, maxStatGapS: summarize(gaps) },
      restart: { downtimeMs: summarize(down), newPidEveryTime: newBoot, callMs: summarize(calls), stopOutcomes: outcomes },
    };
  } finally {
    await kvm.destroyGuest(remote, name, { deleteDataDisks: [], storageDir }).catch((e) => log(`destroy ${name}: ${(e as Error).message}`));
    await remote.exec(["rm", "-rf", "--", path.join(storageDir, name)], { okCodes: [0, 1] }).catch(() => undefined);
  }
}
