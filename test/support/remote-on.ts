// Shared by the transport tests: a Remote on its own pool (so its counters count only that test's work), and a
// throwaway sshd started before the file's tests and stopped after them.
import { after, before } from "node:test";
import { parseConnection } from "../../provider/ssh/connection";
import { SshPool } from "../../provider/ssh/pool";
import { SshRemote } from "../../provider/ssh/remote";
import { TestSshd } from "./sshd";

export function remoteOn(conn: Record<string, unknown>): { remote: SshRemote; pool: SshPool } {
  const pool = new SshPool();
  return { remote: new SshRemote(parseConnection(conn), pool), pool };
}

/** Registers before/after hooks for one TestSshd; read `.sshd` inside tests. */
export function withTestSshd(): { sshd: TestSshd } {
  const holder = {} as { sshd: TestSshd };
  before(async () => {
    holder.sshd = await TestSshd.start();
  });
  after(async () => {
    await holder.sshd?.stop();
  });
  return holder;
}
