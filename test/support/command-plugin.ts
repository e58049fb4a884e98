// Where the pulumi-resource-command plugin is, the way the engine finds it: a complete entry of the plugin cache
// (${PULUMI_HOME:-~/.pulumi}/plugins/resource-command-v<version>) or a directory on PATH. No registry serves it here.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const COMMAND_PLUGIN = "pulumi-resource-command";

/** The plugin version the repo's @pulumi/command SDK asks the engine for. */
export function wantedCommandPluginVersion(repoRoot: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
  return pkg.devDependencies["@pulumi/command"];
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function findCommandPlugin(version: string): { cacheEntry?: string; pathDir?: string } | undefined {
  const home = process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi");
  const entry = path.join(home, "plugins", `resource-command-v${version}`);
  if (isExecutable(path.join(entry, COMMAND_PLUGIN)) && !fs.existsSync(`${entry}.partial`)) return { cacheEntry: entry };
  const pathDir = (process.env.PATH ?? "").split(path.delimiter).find((d) => d && isExecutable(path.join(d, COMMAND_PLUGIN)));
  return pathDir ? { pathDir } : undefined;
}

/**
 * Each test or bench stack has its own PULUMI_HOME: give it the plugin the way the user's cache holds it (a directory
 * per plugin version; the engine skips a symlinked directory, so only the binary is linked). On PATH needs nothing.
 */
export function linkCommandPlugin(found: { cacheEntry?: string }, stackDir: string): void {
  if (!found.cacheEntry) return;
  const entry = path.join(stackDir, ".pulumi-home", "plugins", path.basename(found.cacheEntry));
  fs.mkdirSync(entry, { recursive: true });
  fs.symlinkSync(path.join(found.cacheEntry, COMMAND_PLUGIN), path.join(entry, COMMAND_PLUGIN));
}
