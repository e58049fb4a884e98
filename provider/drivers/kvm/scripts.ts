// The KVM driver's host scripts: shell files in ./scripts/, run as `sh -c SCRIPT sh ARGS...`. User data arrives
// only as positional parameters (already validated), never as script text.
import { shellScript } from "../shell";

const load = (file: string) => shellScript("kvm", file);

export const READ_SCRIPT = load("read.sh");
export const SHUTDOWN_SCRIPT = load("shutdown.sh");
export const ROOT_DISK_SCRIPT = load("root-disk.sh");
export const DATA_DISK_SCRIPT = load("data-disk.sh");
export const DETACH_DISK_SCRIPT = load("detach-disk.sh");
export const SEED_SCRIPT = load("seed-iso.sh");
export const REMOVE_FILES_SCRIPT = load("remove-files.sh");
export const MOVE_DIR_SCRIPT = load("move-dir.sh");
export const VERIFY_SCRIPT = load("verify.sh");
export const CLONE_DISK_SCRIPT = load("clone-disk.sh");
