// A PV guest's disks while it runs: plugged in and out (xl block-attach / block-detach) and grown in place. Every
// disk is a raw image behind a loop device the driver's own hotplug script sets up (scripts/hotplug-block.sh), so
// growing the image and re-reading the loop device's size is all blkback needs to tell the guest.
import type { Remote } from "../../ssh/types";
import { hotplugScriptPath } from "./paths";
import { ATTACH_DISK_SCRIPT, DETACH_DISK_SCRIPT, GROW_DISK_SCRIPT, HOTPLUG_BLOCK_SCRIPT } from "./scripts";
import { validateDomainName, validateInt, validatePath } from "./validate";

/** xl block-detach waits for the guest to close the device; libxl bounds that wait itself, this bounds xl. */
const DETACH_TIMEOUT_MS = 5 * 60 * 1000;

/** Installs (or refreshes) the hotplug script the disks' specs name; before any `xl create` or block-attach. */
export async function installHotplugScript(remote: Remote, configDir: string): Promise<string> {
  validatePath("configDir", configDir);
  await remote.exec(["mkdir", "-p", configDir], { step: `create ${configDir}` });
  const path = hotplugScriptPath(configDir);
  await remote.upload(path, HOTPLUG_BLOCK_SCRIPT, { mode: 0o755 });
  return path;
}

/** Plugs a raw image (made sparse at sizeMiB when missing) into a running domain. */
export async function attachDisk(remote: Remote, name: string, image: string, sizeMiB: number, configDir: string): Promise<"attached" | "present"> {
  validateDomainName(name);
  validatePath("disk image", image);
  validateInt("disk sizeMiB", sizeMiB, 1, 64 * 1024 * 1024);
  const script = await installHotplugScript(remote, configDir);
  const r = await remote.script(ATTACH_DISK_SCRIPT, [name, image, String(sizeMiB), script], { step: `attach disk ${image} to ${name}` });
  return r.stdout.trim().split("\n").pop() as "attached" | "present";
}

/** Unplugs an image from a running domain; the file stays. */
export async function detachDisk(remote: Remote, name: string, image: string): Promise<"detached" | "absent"> {
  validateDomainName(name);
  validatePath("disk image", image);
  const r = await remote.script(DETACH_DISK_SCRIPT, [name, image], { step: `detach disk ${image} from ${name}`, timeoutMs: DETACH_TIMEOUT_MS });
  return r.stdout.trim().split("\n").pop() as "detached" | "absent";
}

/** Grows an image (never shrinks) and every loop device over it: a running guest sees the new size. */
export async function growDisk(remote: Remote, image: string, sizeMiB: number): Promise<void> {
  validatePath("disk image", image);
  validateInt("disk sizeMiB", sizeMiB, 1, 64 * 1024 * 1024);
  await remote.script(GROW_DISK_SCRIPT, [image, String(sizeMiB)], { step: `grow disk ${image}` });
}
