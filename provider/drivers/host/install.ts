// Host preparation shared by the drivers: Debian packages and directories, as root.
import type { Remote } from "../../ssh/types";
import { shellScript } from "../shell";

/** apt-get can take minutes on a cold host. */
const INSTALL_TIMEOUT_MS = 900_000;

/** Installs Debian packages (no recommends) for a hypervisor kind. */
export async function installPackages(remote: Remote, kind: string, packages: string[]): Promise<void> {
  await remote.script(shellScript("host", "install-packages.sh"), packages, { sudo: true, step: `install ${kind} packages`, timeoutMs: INSTALL_TIMEOUT_MS });
}

/** Creates a hypervisor's storage directory (and its parents). */
export async function makeStorageDir(remote: Remote, dir: string): Promise<void> {
  await remote.script(shellScript("host", "make-dir.sh"), [dir], { sudo: true, step: "create the storage directory" });
}
