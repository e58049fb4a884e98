// The Xen driver's dom0 scripts: shell files in ./scripts/, run as `sh -c SCRIPT sh ARGS...`. User data arrives
// only as positional parameters (already validated), never as script text.
import { shellScript } from "../shell";

const load = (file: string) => shellScript("xen", file);

export const READ_SCRIPT = load("read.sh");
export const CREATE_SCRIPT = load("create.sh");
export const LIVE_SCRIPT = load("live.sh");
export const SHUTDOWN_SCRIPT = load("shutdown.sh");
export const DESTROY_SCRIPT = load("destroy.sh");
export const MOVE_OWNER_SCRIPT = load("move-owner.sh");
export const SEED_ROOT_DISK_SCRIPT = load("seed-root-disk.sh");
export const VERIFY_SCRIPT = load("verify.sh");
export const ATTACH_DISK_SCRIPT = load("attach-disk.sh");
export const DETACH_DISK_SCRIPT = load("detach-disk.sh");
export const GROW_DISK_SCRIPT = load("grow-disk.sh");
export const SEED_ISO_SCRIPT = load("seed-iso.sh");
export const ATTACH_NIC_SCRIPT = load("attach-nic.sh");
export const DETACH_NIC_SCRIPT = load("detach-nic.sh");
export const MOVE_IMAGES_SCRIPT = load("move-images.sh");
/** Installed on the host (libxl runs it), not sent through `sh -c`. */
export const HOTPLUG_BLOCK_SCRIPT = load("hotplug-block.sh");
/** Is a kernel image bootable as a Xen PV guest? The method is described in host.ts. */
export const KERNEL_PROBE_SCRIPT = load("kernel-probe.sh");
