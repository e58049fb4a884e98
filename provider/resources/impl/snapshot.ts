// Snapshot: the engine's calls, handed to the snapshot lifecycle.
import { SnapshotLifecycle } from "../../lifecycle/snapshot";

const lifecycle = new SnapshotLifecycle();
export const check = lifecycle.check.bind(lifecycle);
export const diff = lifecycle.diff.bind(lifecycle);
export const create = lifecycle.create.bind(lifecycle);
export const read = lifecycle.read.bind(lifecycle);
export const update = lifecycle.update.bind(lifecycle);
const del = lifecycle.delete.bind(lifecycle);
export { del as delete };
