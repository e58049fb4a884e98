// Network: the engine's calls, handed to the Network lifecycle.
export { check, diff, create, read, update, del as delete } from "../../lifecycle/network";
