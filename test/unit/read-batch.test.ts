// Container reads through the transport's read batching (provider/ssh/read-batch.ts) against a fake host: how many round trips reads cost, and that a refresh
// snapshot never answers a strict read nor reports a container absent on old news.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readContainerCoalesced } from "../../provider/drivers/lxc";
import type { ExecResult, Remote } from "../../provider/ssh/types";

class FakeHost implements Remote {
  readonly label = "fake";
  calls: string[][] = [];
  constructor(public containers: Set<string>) {}
  private ok(stdout: string): ExecResult {
    return { code: 0, stdout, stderr: "", stdoutBytes: Buffer.from(stdout) };
  }
  async exec(): Promise<ExecResult> {
    throw new Error("not used");
  }
  async upload(): Promise<void> {
    throw new Error("not used");
  }
  async script(script: string, args: string[] = []): Promise<ExecResult> {
    await new Promise((r) => setTimeout(r, 5));
    let names = args;
    if (args[0] === "--all") {
      this.calls.push(["read-all", ...args.slice(1)]);
      names = [...new Set([...args.slice(1), ...this.containers])];
    } else this.calls.push(["read", ...args]);
    let out = "@host\tlxcpath\t/var/lib/lxc\n@host\tcgroup\t1\n@host\tcpus\t0-1\n";
    for (const n of names) out += `@ct\t${n}\n` + (this.containers.has(n) ? "dir\t1\nexists\t1\ncfg\tlxc.uts.name = x\n" : "");
    return this.ok(out);
  }
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);

test("reads asked together cost one round trip; each gets its own answer", async () => {
  const host = new FakeHost(new Set(["c0", "c1", "c2"]));
  const got = await Promise.all(["c0", "c1", "c2", "gone", "c1"].map((n) => readContainerCoalesced(host, n)));
  assert.deepEqual(host.calls, [["read", "c0", "c1", "c2", "gone"]]);
  assert.deepEqual(got.map((o) => o?.name), ["c0", "c1", "c2", undefined, "c1"]);
});

test("refresh reads: one read of all the host's containers, later waves answered from the snapshot", async () => {
  const host = new FakeHost(new Set(names(40)));
  const first = await Promise.all(names(8).map((n) => readContainerCoalesced(host, n, { hostSnapshot: true })));
  const rest = await Promise.all(names(40).slice(8).map((n) => readContainerCoalesced(host, n, { hostSnapshot: true })));
  assert.deepEqual(host.calls, [["read-all", ...names(8)]]);
  assert.deepEqual([...first, ...rest].map((o) => o?.name), names(40));
});

test("a container missing from the snapshot is read again, not reported absent", async () => {
  const host = new FakeHost(new Set(["a"]));
  await readContainerCoalesced(host, "a", { hostSnapshot: true });
  host.containers.add("b"); // created after the snapshot
  const b = await readContainerCoalesced(host, "b", { hostSnapshot: true });
  assert.equal(b?.name, "b");
});

test("a strict read (after create/update) discards the snapshot", async () => {
  const host = new FakeHost(new Set(["a"]));
  await readContainerCoalesced(host, "a", { hostSnapshot: true });
  const before = host.calls.length;
  await readContainerCoalesced(host, "a");
  host.containers.delete("a");
  assert.equal(await readContainerCoalesced(host, "a", { hostSnapshot: true }), undefined);
  assert.ok(host.calls.length > before + 1);
});

test("PULUMI_VIRT_READ_BATCH_MS=0: one round trip per read", async () => {
  process.env.PULUMI_VIRT_READ_BATCH_MS = "0";
  try {
    const host = new FakeHost(new Set(names(3)));
    await Promise.all(names(3).map((n) => readContainerCoalesced(host, n, { hostSnapshot: true })));
    assert.equal(host.calls.length, 3);
  } finally {
    delete process.env.PULUMI_VIRT_READ_BATCH_MS;
  }
});

test("a failing batch is retried per container, so only the bad one fails", async () => {
  const host = new FakeHost(new Set(["a", "b"]));
  const script = host.script.bind(host);
  host.script = async (s, args = []) => {
    if (args.includes("bad")) throw new Error("boom for bad");
    return script(s, args);
  };
  const [a, bad, b] = await Promise.allSettled(["a", "bad", "b"].map((n) => readContainerCoalesced(host, n)));
  assert.equal(a.status === "fulfilled" && a.value?.name, "a");
  assert.equal(b.status === "fulfilled" && b.value?.name, "b");
  assert.equal(bad.status, "rejected");
});

test("refresh: the Hypervisor's prefetch takes the snapshot; the containers' later reads cost no round trip", async () => {
  const { lxcHostDriver } = await import("../../provider/drivers/lxc/machine");
  const { forRefresh } = await import("../../provider/ssh/refresh");
  const host = new FakeHost(new Set(names(5)));
  lxcHostDriver.prefetchForRefresh!(forRefresh(host));
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(host.calls, [["read-all"]]);
  // Each engine read comes through its own forRefresh wrapper: they must still find the host's snapshot.
  const got = await Promise.all(names(5).map((n) => readContainerCoalesced(forRefresh(host), n, { hostSnapshot: true })));
  assert.deepEqual(got.map((o) => o?.name), names(5));
  assert.deepEqual(host.calls, [["read-all"]], "no round trip after the prefetch");
  // A strict read through the host's own Remote still discards what the refresh wrapper's snapshot holds.
  await readContainerCoalesced(host, "c0");
  host.containers.delete("c1");
  assert.equal(await readContainerCoalesced(forRefresh(host), "c1", { hostSnapshot: true }), undefined);
});
