// Host: the engine's calls, handed to the Host lifecycle.
export { check, diff, create, read, update, del as delete } from "../../lifecycle/host";
