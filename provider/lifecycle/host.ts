// The Host lifecycle: an existing machine reached over SSH. Reads and keeps its facts; never creates or deletes machines.
import { createHash, randomUUID } from "node:crypto";
import { hostArgsSchema, HostFacts, HostRef } from "../models/host";
import { canonical, sameValue } from "../plan/planner";
import { readHostFacts } from "../drivers/host/facts";
import { EngineProps, fromEngine } from "../models/state";
import { Failure, forRefresh, hasUnknowns, parseArgs, remoteFor } from "./support";

/** A Host's state: its checked connection and the facts read from it. */
type HostState = Partial<HostRef>;

/** refresh: the read may wait a little to share a round trip with the host's other refresh reads. */
async function readFacts(connection: HostRef["connection"], refresh = false): Promise<HostFacts> {
  const remote = remoteFor({ connection, facts: undefined as unknown as HostFacts });
  return readHostFacts(refresh ? forRefresh(remote) : remote);
}

/**
 * Facts this process read in check, by connection: `up` runs check and then create of a new Host within moments
 * in the same provider process, and create takes them instead of reading the same facts again.
 */
const checkedFacts = new Map<string, { facts: HostFacts; at: number }>();
const CHECKED_FACTS_TTL_MS = 30_000;
const factsKey = (connection: unknown) => createHash("sha256").update(canonical(connection)).digest("hex");

export async function check(oldsRaw: EngineProps, news: EngineProps) {
  const olds = fromEngine<HostState>(oldsRaw ?? {});
  const { value, failures } = parseArgs(hostArgsSchema, news, ["facts"]);
  if (!value) return { inputs: news, failures };
  if (hasUnknowns(news)) return { inputs: { ...news, ...value }, failures: [] };
  // Facts are read once per connection and carried in the inputs, so previews know them (domain rules are
  // checked at preview) and a no-op preview sends no SSH command. `pulumi refresh` re-reads them.
  let facts: HostFacts | undefined = olds?.facts && sameValue(olds.connection, value.connection) ? olds.facts : undefined;
  const out: Failure[] = [];
  if (!facts) {
    try {
      facts = await readFacts(value.connection);
      checkedFacts.set(factsKey(value.connection), { facts, at: Date.now() });
    } catch (e) {
      out.push({ property: "connection", reason: `cannot read facts of ${value.connection.user}@${value.connection.host}:${value.connection.port}: ${(e as Error).message}` });
    }
  }
  return { inputs: { ...news, ...value, facts }, failures: out };
}

export async function diff(_id: string, oldsRaw: EngineProps, newsRaw: EngineProps) {
  const olds = fromEngine<HostState>(oldsRaw);
  const news = fromEngine<HostState>(newsRaw);
  const replaces: string[] = [];
  const oldKey = olds.connection?.hostKey;
  const newKey = news.connection?.hostKey;
  // A different pinned host key, or a different machine-id, is a different machine: say so with a replacement.
  if (oldKey && newKey && oldKey !== newKey) replaces.push("connection");
  if (olds.facts?.machineId && news.facts?.machineId && olds.facts.machineId !== news.facts.machineId) replaces.push("facts");
  const changes = !sameValue(olds.connection, news.connection) || !sameValue(olds.facts, news.facts);
  return { changes, replaces, deleteBeforeReplace: false };
}

export async function create(inputsRaw: EngineProps) {
  const inputs = fromEngine<HostRef>(inputsRaw);
  const key = factsKey(inputs.connection);
  const recent = checkedFacts.get(key);
  checkedFacts.delete(key);
  const facts = recent && Date.now() - recent.at < CHECKED_FACTS_TTL_MS && sameValue(recent.facts, inputs.facts) ? recent.facts : await readFacts(inputs.connection);
  return { id: `host-${randomUUID()}`, outs: { ...inputsRaw, facts } };
}

export async function read(id: string, props: EngineProps) {
  const facts = await readFacts(fromEngine<HostRef>(props).connection, true);
  return { id, props: { ...props, facts } };
}

export async function update(_id: string, _olds: EngineProps, news: EngineProps) {
  const facts = await readFacts(fromEngine<HostRef>(news).connection);
  return { outs: { ...news, facts } };
}

export async function del(_id: string, _props: EngineProps) {
  // A Host is forgotten, never touched.
}
