// Where a domain's files live in dom0.
export const DEFAULT_CONFIG_DIR = "/etc/xen/pulumi-virt";
/** Where xenconsoled writes guest consoles when started with --log=guest (the lab dom0 does). */
export const CONSOLE_LOG_DIR = "/var/log/xen/console";

export function configPath(configDir: string, name: string): string {
  return `${configDir.replace(/\/+$/, "")}/${name}.cfg`;
}

/** The file beside the config that holds the owning resource's token (ownership by identity, not by name). */
export function ownerPath(configDir: string, name: string): string {
  return `${configDir.replace(/\/+$/, "")}/${name}.owner`;
}

/** The console log xenconsoled writes; named after the domain's name when the console was first opened. */
export function consoleLogPath(name: string): string {
  return `${CONSOLE_LOG_DIR}/guest-${name}.log`;
}

/** The driver's block hotplug script, installed beside the configs (see scripts/hotplug-block.sh). */
export function hotplugScriptPath(configDir: string): string {
  return `${configDir.replace(/\/+$/, "")}/hotplug-block.sh`;
}
