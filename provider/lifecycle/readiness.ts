// Readiness (a Guest's waitFor): create, restart and replace finish only when the guest has an address, answers
// SSH with the pinned host key, and has finished cloud-init, as asked; within a bounded time, and a failure says
// which of these was and was not reached, naming the host and the step.
import type { WaitFor } from "../models/guest";
import type { GuestNicAddresses } from "../models/state";
import type { HostRef } from "../models/host";

export interface ReadinessProbe {
  /** One read of the machine: its addresses per NIC and the connection into it (when it has one). */
  observe(): Promise<{ addresses: GuestNicAddresses[]; connection?: Record<string, unknown> }>;
  /** Runs argv over SSH through a connection; resolves with the exit code. */
  exec(connection: Record<string, unknown>, argv: string[], timeoutMs: number): Promise<number>;
}

const POLL_MS = 2000;
const SSH_TRY_MS = 15_000;

function addressMet(kind: WaitFor["address"], a: GuestNicAddresses[]): boolean {
  const v4 = a.some((n) => n.ipv4.length > 0);
  const v6 = a.some((n) => n.ipv6.length > 0);
  return kind === "ipv4" ? v4 : kind === "ipv6" ? v6 : v4 || v6;
}

const describe = (a: GuestNicAddresses[]) =>
  a.map((n) => `${n.mac} on ${n.bridge}: ${[...n.ipv4, ...n.ipv6].join(", ") || "no address (no DHCP lease, no neighbour entry)"}`).join("; ");

/** Waits until the guest is ready as asked; returns the last observation. Throws a message for the user on timeout. */
export async function waitUntilReady(what: string, host: HostRef, waitFor: WaitFor, probe: ReadinessProbe): Promise<void> {
  const wantSsh = !!(waitFor.ssh || waitFor.cloudInit);
  const wantAddress = waitFor.address !== undefined && waitFor.address !== false ? waitFor.address : wantSsh ? true : undefined;
  if (wantAddress === undefined && !wantSsh) return;
  const timeoutMs = waitFor.timeoutSec * 1000;
  const deadline = Date.now() + timeoutMs;
  let status = { address: "not checked yet", ssh: wantSsh ? "not tried (no address yet)" : "not asked", cloudInit: waitFor.cloudInit ? "not checked (no SSH yet)" : "not asked" };
  let lastStage = "";
  const stage = (s: string) => {
    // One line per stage reached, on stderr (the provider's stderr is what the engine shows while `up` waits, as the
    // Image download's progress lines).
    if (s !== lastStage) console.error(`pulumi-virt: ${what} on host "${host.facts.hostname}": ${s}`);
    lastStage = s;
  };
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      const o = await probe.observe();
      const hasAddress = wantAddress === undefined || addressMet(wantAddress, o.addresses);
      status.address = hasAddress ? `reached (${describe(o.addresses)})` : `not reached: ${describe(o.addresses) || "the guest has no NIC"}`;
      if (hasAddress) {
        stage("waitFor: address reached");
        if (!wantSsh) return;
        if (!o.connection) status.ssh = "not tried: no connection (no IPv4/IPv6 address, or no pinned host key)";
        else {
          const code = await probe.exec(o.connection, ["true"], Math.min(SSH_TRY_MS, Math.max(1000, deadline - Date.now()))).catch((e: Error) => {
            status.ssh = `not reached at ${String(o.connection!.host)}:22: ${e.message.split("\n")[0]}`;
            return undefined;
          });
          if (code === 0) {
            status.ssh = `reached at ${String(o.connection.host)}:22 (host key matches the pin)`;
            stage("waitFor: ssh reached");
            if (!waitFor.cloudInit) return;
            const done = await probe.exec(o.connection, ["sh", "-c", "test -e /var/lib/cloud/instance/boot-finished"], SSH_TRY_MS).catch(() => undefined);
            if (done === 0) return;
            status.cloudInit = "not finished (/var/lib/cloud/instance/boot-finished absent)";
          }
        }
      }
    } catch (e) {
      status = { ...status, address: `not read: ${(e as Error).message.split("\n")[0]}` };
    }
    const wait = Math.min(POLL_MS, deadline - Date.now());
    if (wait <= 0) break;
    await new Promise((r) => setTimeout(r, wait));
  }
  throw new Error(
    `${what} on host "${host.facts.hostname}": waitFor not met within ${waitFor.timeoutSec} s (step: wait for readiness).\n` +
      `  address: ${status.address}\n  ssh: ${status.ssh}\n  cloud-init: ${status.cloudInit}\n` +
      `  The ${what.split(" ")[0]} is kept; fix the cause (its network, DHCP server or image) and run \`pulumi up\` again.`,
  );
}
