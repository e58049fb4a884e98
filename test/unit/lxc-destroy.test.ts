// Issue 26: a Container's destroy is one round trip (the host script checks the owner, stops, destroys); it kills
// unless gracefulDestroy asks for a shutdown bounded by stopTimeoutSec; the container a side-by-side replacement
// renamed aside is looked for only when the host says the name is owned elsewhere. Shown with a recording Remote.
import { test } from "node:test";
import assert from "node:assert/strict";
import { lxcMachineDriver } from "../../provider/drivers/lxc/machine";
import { DESTROY_SCRIPT, FIND_OWNED_SCRIPT } from "../../provider/drivers/lxc/scripts";
import { MachineOwnedElsewhereError } from "../../provider/drivers/contract";
import type { ContainerState } from "../../provider/models/state";
import { ExecOptions, ExecResult, Remote, RemoteCommandError } from "../../provider/ssh/types";
import * as container from "../../provider/resources/impl/container";
import { hypervisorRef } from "./plan-fixtures";

const TOKEN = "0123456789abcdef0123456789abcdef";

/** Answers the destroy and find-owned scripts like a host where `owners` says which token owns which name. */
class RecordingHost implements Remote {
  readonly label = "fake-host";
  readonly calls: string[] = [];
  constructor(private readonly owners: Record<string, string>) {}
  private result(stdout: string): ExecResult {
    return { code: 0, stdout, stderr: "", stdoutBytes: Buffer.from(stdout) };
  }
  async exec(argv: string[], _opts?: ExecOptions) {
    this.calls.push(argv.join(" "));
    return this.result("");
  }
  async script(script: string, args: string[] = [], _opts?: ExecOptions) {
    const name = script === DESTROY_SCRIPT ? "destroy" : script === FIND_OWNED_SCRIPT ? "find-owned" : "other";
    this.calls.push(`script:${name} ${args.join(" ")}`);
    if (name === "destroy") {
      const owner = this.owners[args[0]];
      if (owner === undefined) return this.result("absent\n");
      if (owner !== args[1]) throw new RemoteCommandError(this.label, "destroy", 6, "owned by another resource");
      return this.result(args[2] === "0" ? "destroyed killed\n" : "destroyed graceful\n");
    }
    if (name === "find-owned") return this.result(`${Object.keys(this.owners).find((n) => this.owners[n] === args[0]) ?? ""}\n`);
    return this.result("");
  }
  async upload(path: string) {
    this.calls.push(`upload ${path}`);
  }
}

async function state(extra: Record<string, unknown> = {}): Promise<ContainerState> {
  const res = await container.check({}, { name: "web", memory: "64MiB", hypervisor: hypervisorRef("lxc"), ...extra });
  assert.deepEqual(res.failures, []);
  return res.inputs as unknown as ContainerState;
}

test("lxc destroy: one round trip that kills (grace 0) by default", async () => {
  const host = new RecordingHost({ web: TOKEN });
  assert.equal(await lxcMachineDriver.destroy(host, await state(), { token: TOKEN, adopt: false }), "destroyed");
  assert.deepEqual(host.calls, [`script:destroy web ${TOKEN} 0`]);
});

test("lxc destroy: gracefulDestroy asks for a shutdown bounded by stopTimeoutSec, still one round trip", async () => {
  const host = new RecordingHost({ web: TOKEN });
  assert.equal(await lxcMachineDriver.destroy(host, await state({ gracefulDestroy: true, stopTimeoutSec: 12 }), { token: TOKEN, adopt: false }), "destroyed");
  assert.deepEqual(host.calls, [`script:destroy web ${TOKEN} 12`]);
});

test("lxc destroy: a container renamed aside by a side-by-side replacement is found by its owner and destroyed", async () => {
  const other = "f".repeat(32);
  const host = new RecordingHost({ web: other, "web-pvold-abc123": TOKEN });
  assert.equal(await lxcMachineDriver.destroy(host, await state(), { token: TOKEN, adopt: false }), "destroyed");
  assert.deepEqual(host.calls, [`script:destroy web ${TOKEN} 0`, `script:find-owned ${TOKEN}`, `script:destroy web-pvold-abc123 ${TOKEN} 0`]);
});

test("lxc destroy: a name owned elsewhere with nothing of ours aside is refused, nothing else is sent", async () => {
  const host = new RecordingHost({ web: "f".repeat(32) });
  await assert.rejects(lxcMachineDriver.destroy(host, await state(), { token: TOKEN, adopt: false }), MachineOwnedElsewhereError);
  assert.deepEqual(host.calls, [`script:destroy web ${TOKEN} 0`, `script:find-owned ${TOKEN}`]);
});

test("lxc destroy: an absent container is reported absent", async () => {
  const host = new RecordingHost({});
  assert.equal(await lxcMachineDriver.destroy(host, await state(), { token: TOKEN, adopt: false }), "absent");
});
