// A resource built on a Host or Hypervisor takes either the resource or its `ref` (resources/ref.ts), and the
// `ref` outputs are made by one function per resource for the classes and the `virt` plugin (models/refs.ts).
// The classes run under Pulumi's mocks: no engine, no host.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { hostRefFrom, hypervisorRefFrom } from "../../provider/models/refs";
import { Host, Hypervisor, Network, StoragePool } from "../../provider/index";
import { hostFacts, RAW_CONNECTION } from "./plan-fixtures";

const inputsOf = new Map<string, Record<string, unknown>>();
const STATE_OUTPUTS: Record<string, Record<string, unknown>> = {
  Host: { facts: hostFacts() },
  Hypervisor: { emulated: false, bridge: "lxcbr0", storageDir: "/var/lib/lxc" },
};
void pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      inputsOf.set(args.name, args.inputs);
      const type = args.type.split(":").pop() ?? "";
      const { __provider: _p, ...inputs } = args.inputs as Record<string, unknown>;
      return { id: `${args.name}-id`, state: { ...inputs, ...STATE_OUTPUTS[type] } };
    },
    call: () => ({}),
  },
  "proj",
  "dev",
  false,
);

/** A secret input as the mocks see it: wrapped with Pulumi's secret signature. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
function secretValue(v: unknown): unknown {
  assert.ok(v && typeof v === "object" && SECRET_SIG in v && "value" in v, "a secret");
  return v.value;
}

const valueOf = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

test("a Host or its ref: the same host input for a Hypervisor, Network and StoragePool", async () => {
  const host = new Host("h", { connection: RAW_CONNECTION });
  const hostRef = await valueOf(host.ref);
  assert.deepEqual(hostRef, hostRefFrom({ connection: RAW_CONNECTION, facts: hostFacts() }));

  const byResource = new Hypervisor("hv-res", { host, kind: "lxc" });
  const byRef = new Hypervisor("hv-ref", { host: host.ref, kind: "lxc" });
  new Network("net-res", { host, bridge: "pvbr0" });
  new Network("net-ref", { host: host.ref, bridge: "pvbr1" });
  new StoragePool("pool-res", { host, name: "p0", type: "dir" });
  new StoragePool("pool-ref", { host: host.ref, name: "p1", type: "dir" });
  const [a, b] = await Promise.all([valueOf(byResource.ref), valueOf(byRef.ref)]);
  assert.deepEqual(a.host, hostRef);
  assert.deepEqual(b, a);
  for (const name of ["hv-res", "hv-ref", "net-res", "net-ref", "pool-res", "pool-ref"]) {
    assert.deepEqual(secretValue(inputsOf.get(name)?.host), hostRef, name);
  }
});

test("a Hypervisor's ref: the plugin's (from its outputs) unless the program gave overcommit, then with it applied", async () => {
  const host = new Host("h2", { connection: RAW_CONNECTION });
  const plain = new Hypervisor("hv-plain", { host, kind: "lxc" });
  const tuned = new Hypervisor("hv-tuned", { host, kind: "lxc", overcommit: { cpu: 2 } });
  const [p, t, hostRef] = await Promise.all([valueOf(plain.ref), valueOf(tuned.ref), valueOf(host.ref)]);
  const outs = { kind: "lxc", ...STATE_OUTPUTS.Hypervisor, host: hostRef, install: undefined };
  assert.deepEqual(p, hypervisorRefFrom(outs));
  assert.equal("overcommit" in p, false);
  assert.deepEqual(t, { ...hypervisorRefFrom(outs), overcommit: { cpu: 2, memory: 1, disk: 1 } });
});
