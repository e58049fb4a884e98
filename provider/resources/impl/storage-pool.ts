// StoragePool: the engine's calls, handed to the StoragePool lifecycle.
export { check, diff, create, read, update, del as delete } from "../../lifecycle/storage-pool";
