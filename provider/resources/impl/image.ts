// Image: the engine's calls, handed to the Image lifecycle.
export { check, diff, create, read, update, del as delete } from "../../lifecycle/image";
