// Realistic, pure fixtures for planner and check tests: host facts as the facts reader would return them,
// a connection parsed by the real connection schema, and Hypervisor refs as a Hypervisor's check computes them.
// No I/O: nothing here reaches a host.
import { connectionSchema } from "../../provider/ssh/connection";
import { SshPool } from "../../provider/ssh/pool";
import type { HostFacts, HostRef } from "../../provider/models/host";
import type { HypervisorKind, HypervisorRef } from "../../provider/models/hypervisor";
import { answerCapacityReadsWith } from "../../provider/lifecycle/capacity";

// A machine check that creates or grows a machine reads its host's capacity (issue 25). Hosts here are fixtures:
// they are answered as a roomy host with nothing on it, so no test of this tier reaches the network.
answerCapacityReadsWith(async () => ({ capacity: { cpus: 1024, memoryMiB: 1 << 30 }, storage: {}, machines: [] }));

export function hostFacts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    hostname: "lab1",
    machineId: "4f1c0d9e2b7a4c8e9a1b2c3d4e5f6071",
    os: { id: "debian", versionId: "12", prettyName: "Debian GNU/Linux 12 (bookworm)" },
    kernel: { name: "Linux", release: "6.1.0-18-amd64" },
    arch: "x86_64",
    cpus: 8,
    memoryMiB: 16384,
    hardwareVirtualization: "vmx",
    kvmUsable: true,
    xenDom0: false,
    cgroupVersion: 2,
    cgroupLayout: "unified",
    tools: { lxc: "5.0.2", libvirt: "9.0.0", qemu: "7.2.0" },
    ...over,
  };
}

/** The raw connection a user writes; parsed by the real schema so HostRef.connection has its checked shape. */
export const RAW_CONNECTION = {
  host: "10.77.0.11",
  user: "root",
  privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAfixture\n-----END OPENSSH PRIVATE KEY-----\n",
  hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx3Yl2mFixtureKeyOnlyForUnitTests0000000",
};

export function hostRef(over: Partial<HostFacts> = {}): HostRef {
  return { connection: connectionSchema.parse(RAW_CONNECTION), facts: hostFacts(over) };
}

const BRIDGE: Record<HypervisorKind, string> = { lxc: "lxcbr0", kvm: "virbr0", xen: "xenbr0" };
const STORAGE: Record<HypervisorKind, string> = {
  lxc: "/var/lib/lxc",
  kvm: "/var/lib/libvirt/images/pulumi-virt",
  xen: "/var/lib/xen/pulumi-virt",
};

export function hypervisorRef(kind: HypervisorKind, facts: Partial<HostFacts> = {}): HypervisorRef {
  const xen = kind === "xen" ? { xenDom0: true, tools: { xl: "4.17.3" } } : {};
  const host = hostRef({ ...xen, ...facts });
  return {
    kind,
    emulated: kind === "kvm" && !host.facts.kvmUsable,
    bridge: BRIDGE[kind],
    storageDir: STORAGE[kind],
    host,
  };
}

/** In a patch: replace the value as a whole instead of merging into it. */
export class Whole {
  constructor(readonly value: unknown) {}
}

/** Deep merge for building a changed spec from a base one; arrays, non-objects and `Whole` values are replaced. */
export function patched<T extends Record<string, unknown>>(base: T, patch: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const b = out[k];
    if (v instanceof Whole) {
      out[k] = v.value;
    } else if (v && typeof v === "object" && !Array.isArray(v) && b && typeof b === "object" && !Array.isArray(b)) {
      out[k] = patched(b as Record<string, unknown>, v as Record<string, unknown>);
    } else if (v === undefined) {
      delete out[k];
    } else out[k] = v;
  }
  return out as T;
}

/**
 * Unit tests have no host. A para guest's check reads one thing from its host (whether a new PV kernel has
 * Xen's entry point); here that read answers "capable" without SSH, so checks stay pure.
 */
export function answerHostReadsLocally(): void {
  const xen = require("../../provider/drivers/xen") as Record<string, unknown>;
  xen.kernelIsXenPvCapable = async (_remote: unknown, path: string) => ({ capable: true, format: "elf", reason: `${path}: assumed PV-capable (unit test)` });
}

/** Global SSH counters: all zero when nothing was sent to any host. */
export function sshActivity(): Record<string, number> {
  const s = SshPool.shared().stats();
  return { ...s.global, hostsDialled: Object.values(s.hosts).filter((h) => h.connectionsOpened > 0).length };
}
export const NO_SSH = { connectionsOpened: 0, reconnects: 0, commands: 0, channelsOpened: 0, sessionsOpened: 0, hostsDialled: 0 };
