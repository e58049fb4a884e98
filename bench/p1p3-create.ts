// P1 (SSH handshakes) and P3 (wall time) of creating N busybox containers spread over the hosts, three ways:
//   floor       the same lxc-create / config / lxc-start commands, one OpenSSH `ssh` per host running them as a script
//   percommand  a dynamic resource that opens a NEW ssh2 connection per command (stand-in for @pulumi/command)
//   virt        pulumi-virt Containers (pooled connection, long-lived sessions)
//   command     @pulumi/command: three remote.Commands per container (only when the pulumi-resource-command plugin is
//               installed where the engine finds it: ~/.pulumi/plugins or PATH; otherwise one line says it is skipped)
// plus `pulumi up` of an empty program (engine and program start-up, for reading the others).
// Handshakes are counted on the hosts: "Accepted publickey" lines of the bench sshd's log.
import { spawn } from "node:child_process";
import { acceptedTotal, BenchHost, benchSshArgs } from "./lab-sshd";
import { findCommandPlugin, linkCommandPlugin, wantedCommandPluginVersion } from "../test/support/command-plugin";
import { REPO_ROOT } from "../test/e2e/harness";
import { clearStats, createStack, log, readStats, reconfigure, RUN_TAG, StatsStack, Summary, summarize, timed } from "./util";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const steps = require("../../bench/fixtures/percommand/impl/steps.js") as {
  createCommands(name: string, memoryMiB: number): string[];
  deleteCommands(name: string): string[];
};

const MEMORY_MIB = 32;

export interface CreateResults {
  containers: number;
  hosts: number;
  wallMs: Record<"floor" | "percommand" | "virt" | "emptyUp", Summary>;
  /** Wall time of removing those containers again: the floor's `lxc-destroy -f` script, and each program's `pulumi destroy`. */
  destroyMs: Record<"floor" | "percommand" | "virt", Summary>;
  handshakes: Record<"floor" | "percommand" | "virt", Summary>;
  /** @pulumi/command's remote.Command (3 per container), when its plugin is installed: up, destroy, handshakes. */
  command?: { upMs: Summary; destroyMs: Summary; handshakes: Summary };
  /** pulumi-virt provider counters per up (connections, commands, sessions), medians. */
  virtProvider: Record<"connectionsOpened" | "commands" | "sessionsOpened", Summary>;
}

function plan(hosts: BenchHost[], n: number, tag: string): Array<{ host: BenchHost; name: string; resource: string }> {
  return Array.from({ length: n }, (_, i) => {
    const host = hosts[i % hosts.length];
    const name = `pvb${RUN_TAG}${tag}-${host.lab.name}-${i}`;
    return { host, name, resource: name };
  });
}

function containersConfig(p: ReturnType<typeof plan>, withHost: "host"): Record<string, unknown> {
  return Object.fromEntries(p.map((c) => [c.resource, { [withHost]: c.host.lab.name, name: c.name, memory: MEMORY_MIB }]));
}

/** The @pulumi/command program's config: each container's three commands and its delete, as a user would write them. */
function commandConfig(p: ReturnType<typeof plan>): Record<string, unknown> {
  return Object.fromEntries(
    p.map((c) => [c.resource, { host: c.host.lab.name, commands: steps.createCommands(c.name, MEMORY_MIB), deleteCommand: steps.deleteCommands(c.name)[0] }]),
  );
}

/** Runs `script` in one `ssh` to the host (sh reading the script from stdin). */
function sshScript(h: BenchHost, script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", [...benchSshArgs(h), "sh", "-s"], { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`ssh script on ${h.lab.name} exited ${code}: ${err.slice(-1500)}`))));
    child.stdin.end(script);
  });
}

async function floorRun(hosts: BenchHost[], n: number, run: number): Promise<{ ms: number; handshakes: number; destroyMs: number }> {
  const p = plan(hosts, n, `f${run}`);
  const scriptFor = (h: BenchHost, cmds: (name: string) => string[]) =>
    "set -e\n" + p.filter((c) => c.host === h).flatMap((c) => cmds(c.name).map((x) => `( ${x} )`)).join("\n") + "\n";
  const before = acceptedTotal(hosts);
  const { ms } = await timed(() => Promise.all(hosts.map((h) => sshScript(h, scriptFor(h, (name) => steps.createCommands(name, MEMORY_MIB)))))).catch(async (e) => {
    await Promise.all(hosts.map((h) => sshScript(h, scriptFor(h, steps.deleteCommands)).catch(() => undefined)));
    throw e;
  });
  const handshakes = acceptedTotal(hosts) - before;
  const del = await timed(() => Promise.all(hosts.map((h) => sshScript(h, scriptFor(h, steps.deleteCommands)))));
  return { ms, handshakes, destroyMs: del.ms };
}

async function stackRun(s: StatsStack, hosts: BenchHost[], n: number, tag: string, config = containersConfig): Promise<{ ms: number; handshakes: number; stats: ReturnType<typeof readStats>; destroyMs: number }> {
  const p = plan(hosts, n, tag);
  await reconfigure(s, hosts, config(p, "host"));
  clearStats(s);
  const before = acceptedTotal(hosts);
  let ms: number;
  try {
    ({ ms } = await timed(() => s.stack.up()));
  } catch (e) {
    await s.stack.destroy().catch(() => undefined);
    throw e;
  }
  const handshakes = acceptedTotal(hosts) - before;
  const stats = readStats(s);
  const del = await timed(() => s.stack.destroy());
  return { ms, handshakes, stats, destroyMs: del.ms };
}

export async function benchCreate(hosts: BenchHost[], privateKey: string, n: number, runs: number): Promise<CreateResults> {
  const wall = { floor: [] as number[], percommand: [] as number[], virt: [] as number[], emptyUp: [] as number[] };
  const hs = { floor: [] as number[], percommand: [] as number[], virt: [] as number[] };
  const del = { floor: [] as number[], percommand: [] as number[], virt: [] as number[] };
  const virtConns: number[] = [];
  const virtCmds: number[] = [];
  const virtSessions: number[] = [];
  log(`P1/P3: creating stacks`);
  const per = await createStack("percommand", hosts, {}, privateKey);
  const virt = await createStack("virt", hosts, {}, privateKey);
  const empty = await createStack("virt", [], {}, privateKey);
  const plugin = findCommandPlugin(wantedCommandPluginVersion(REPO_ROOT));
  let command: StatsStack | undefined;
  const cmd = { up: [] as number[], destroy: [] as number[], handshakes: [] as number[] };
  if (plugin) {
    command = await createStack("command", hosts, {}, privateKey);
    linkCommandPlugin(plugin, command.stack.dir);
  } else {
    log(`P3: pulumi-resource-command ${wantedCommandPluginVersion(REPO_ROOT)} is not installed (not in ~/.pulumi/plugins, not on PATH): the @pulumi/command rows are skipped`);
  }
  try {
    for (let r = 1; r <= runs; r++) {
      log(`P1/P3 run ${r}/${runs}: floor (${n} containers, one ssh per host)`);
      const f = await floorRun(hosts, n, r);
      wall.floor.push(f.ms);
      hs.floor.push(f.handshakes);
      del.floor.push(f.destroyMs);
      log(`  floor ${(f.ms / 1000).toFixed(1)} s, ${f.handshakes} handshakes; per-command connections via pulumi`);
      const c = await stackRun(per, hosts, n, `c${r}`);
      wall.percommand.push(c.ms);
      hs.percommand.push(c.handshakes);
      del.percommand.push(c.destroyMs);
      log(`  percommand ${(c.ms / 1000).toFixed(1)} s, ${c.handshakes} handshakes; pulumi-virt`);
      const v = await stackRun(virt, hosts, n, `v${r}`);
      wall.virt.push(v.ms);
      hs.virt.push(v.handshakes);
      del.virt.push(v.destroyMs);
      virtConns.push(v.stats.global.connectionsOpened);
      virtCmds.push(v.stats.global.commands);
      virtSessions.push(v.stats.global.sessionsOpened);
      log(`  virt ${(v.ms / 1000).toFixed(1)} s, ${v.handshakes} handshakes (provider: ${JSON.stringify(v.stats.global)}); empty up`);
      const e = await timed(() => empty.stack.up());
      wall.emptyUp.push(e.ms);
      if (command) {
        const m = await stackRun(command, hosts, n, `m${r}`, (p) => commandConfig(p));
        cmd.up.push(m.ms);
        cmd.destroy.push(m.destroyMs);
        cmd.handshakes.push(m.handshakes);
        log(`  @pulumi/command ${(m.ms / 1000).toFixed(1)} s, ${m.handshakes} handshakes, destroy ${(m.destroyMs / 1000).toFixed(1)} s`);
      }
    }
  } finally {
    for (const s of [per, virt, empty, ...(command ? [command] : [])]) {
      await s.stack.destroy().catch(() => undefined);
      await s.stack.rm().catch(() => undefined);
    }
  }
  return {
    containers: n,
    hosts: hosts.length,
    wallMs: { floor: summarize(wall.floor), percommand: summarize(wall.percommand), virt: summarize(wall.virt), emptyUp: summarize(wall.emptyUp) },
    destroyMs: { floor: summarize(del.floor), percommand: summarize(del.percommand), virt: summarize(del.virt) },
    handshakes: { floor: summarize(hs.floor), percommand: summarize(hs.percommand), virt: summarize(hs.virt) },
    command: command ? { upMs: summarize(cmd.up), destroyMs: summarize(cmd.destroy), handshakes: summarize(cmd.handshakes) } : undefined,
    virtProvider: { connectionsOpened: summarize(virtConns), commands: summarize(virtCmds), sessionsOpened: summarize(virtSessions) },
  };
}
