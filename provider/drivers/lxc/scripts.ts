// The LXC driver's host scripts: shell files in ./scripts/, run as `sh -c SCRIPT sh ARGS...`. User data arrives
// only as positional parameters (already validated) or stdin, never as script text.
import { shellScript } from "../shell";

const load = (file: string) => shellScript("lxc", file);

/** Directory under the LXC path holding one file per container pulumi-virt manages on that host: its owner's token (the scripts name it too). */
export const REGISTER_DIR = ".pulumi-virt";

/** Prints host facts once, then per container its config, state, loop image and live cgroup/fs values. */
export const READ_SCRIPT = load("read.sh");
export const CREATE_SCRIPT = load("create.sh");
export const APPLY_SCRIPT = load("apply.sh");
export const STOP_SCRIPT = load("stop.sh");
export const DESTROY_SCRIPT = load("destroy.sh");
export const RENAME_SCRIPT = load("rename.sh");
export const UNREGISTER_SCRIPT = load("unregister.sh");
export const VERIFY_SCRIPT = load("verify.sh");
export const CLAIM_SCRIPT = load("claim.sh");
export const FIND_OWNED_SCRIPT = load("find-owned.sh");
/** A mutating script, then READ_SCRIPT for its container ($1): state after the change, same round trip. */
export const CREATE_THEN_READ = load("create-then-read.sh");
export const APPLY_THEN_READ = load("apply-then-read.sh");
