// End-to-end harness: drives the real `pulumi` CLI against programs that consume pulumi-virt the
// way users do, as an npm dependency installed from this checkout's packed tarball.
//
// Per test process: scripts/ensure-pulumi.sh runs once, and the repo is built and packed once.
// A consumer directory (tarball + npm install) is keyed by the tarball's hash and the
// @pulumi/pulumi version it installs, so the test files of one run (and later runs without
// source changes) share it. Set PULUMI_VIRT_E2E_CONSUMER to a prepared consumer directory (of
// the repo's own SDK version) to skip building and packing.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "../../..");
const WORK_ROOT = path.join(os.tmpdir(), "pulumi-virt-e2e");
/** Long enough for a TCG guest boot inside `up`; only a guard against hung CLIs, never asserted on. */
const DEFAULT_TIMEOUT_MS = 20 * 60_000;
/** Not a secret: it only guards throwaway test stacks. */
const TEST_PASSPHRASE = "pulumi-virt-e2e-passphrase";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CliError extends Error {
  constructor(
    readonly command: string,
    readonly result: CliResult,
  ) {
    super(
      `\`${command}\` exited with ${result.code}\n--- stdout ---\n${tail(result.stdout)}\n--- stderr ---\n${tail(result.stderr)}`,
    );
  }
}

function tail(s: string, max = 12_000): string {
  return s.length > max ? `[... ${s.length - max} chars cut]\n` + s.slice(-max) : s;
}

interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  okCodes?: number[];
  timeoutMs?: number;
}

/** Runs a command with captured output; throws CliError (with both streams) on unexpected codes. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<CliResult> {
  const shown = [cmd, ...args].join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true, // own process group, so a timeout kills plugins too
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const res: CliResult = {
        code: code ?? (signal ? 128 : -1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString() + (signal ? `\n[killed by ${signal}]` : ""),
      };
      if ((opts.okCodes ?? [0]).includes(res.code)) resolve(res);
      else reject(new CliError(shown, res));
    });
    child.stdin.end(opts.stdin ?? "");
  });
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/** Directory holding pulumi, pulumi-language-nodejs and pulumi-resource-pulumi-nodejs. */
export const pulumiBinDir = once(async () => {
  const res = await run("bash", [path.join(REPO_ROOT, "scripts/ensure-pulumi.sh")]);
  const lines = res.stdout.trim().split("\n");
  return lines[lines.length - 1];
});

/** Serializes work across test processes (node --test runs each file in its own process). */
async function withDirLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, "pid"), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      if (lockHolderIsGone(lockDir)) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

function lockHolderIsGone(lockDir: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(lockDir, "pid"), "utf8"));
  } catch {
    return false; // being created right now
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** The @pulumi/pulumi version consumers install unless a test picks another: the repo's own (devDependencies). */
export function defaultSdkVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
  return pkg.devDependencies["@pulumi/pulumi"];
}

/** This checkout built and packed as `npm pack` publishes it: the tarball's path and a hash of its contents. */
export const packedTarball = once(async (): Promise<{ file: string; hash: string }> => {
  const prepared = process.env.PULUMI_VIRT_E2E_CONSUMER;
  const preparedTgz = prepared && path.join(prepared, "pulumi-virt.tgz");
  if (preparedTgz && fs.existsSync(preparedTgz)) return { file: preparedTgz, hash: hashOf(fs.readFileSync(preparedTgz)) };
  return withDirLock(path.join(WORK_ROOT, "build.lock"), async () => {
    await run("npm", ["run", "build", "--silent"], { cwd: REPO_ROOT });
    const packDir = fs.mkdtempSync(path.join(WORK_ROOT, "pack-"));
    try {
      const packed = await run("npm", ["pack", "--silent", "--pack-destination", packDir], { cwd: REPO_ROOT });
      const tgzName = packed.stdout.trim().split("\n").pop()!;
      const tgz = fs.readFileSync(path.join(packDir, tgzName));
      const hash = hashOf(tgz);
      const file = path.join(WORK_ROOT, `pulumi-virt-${hash}.tgz`);
      if (!fs.existsSync(file)) fs.renameSync(path.join(packDir, tgzName), file);
      fs.utimesSync(file, new Date(), new Date());
      return { file, hash };
    } finally {
      fs.rmSync(packDir, { recursive: true, force: true });
    }
  });
});

/** npm pack normalizes timestamps, so equal contents give equal hashes. */
function hashOf(tgz: Buffer): string {
  return createHash("sha256").update(tgz).digest("hex").slice(0, 16);
}

const consumers = new Map<string, Promise<string>>();

/**
 * A consumer directory with the packed tarball and @pulumi/pulumi `sdk` (default: the repo's own) installed, shared
 * by the test files of one run and by later runs while the tarball is unchanged.
 */
export function consumerDir(sdk: string = defaultSdkVersion()): Promise<string> {
  const prepared = process.env.PULUMI_VIRT_E2E_CONSUMER;
  if (prepared && sdk === defaultSdkVersion()) return Promise.resolve(prepared);
  let dir = consumers.get(sdk);
  if (!dir) consumers.set(sdk, (dir = makeConsumer(sdk)));
  return dir;
}

async function makeConsumer(sdk: string): Promise<string> {
  const { file: tarball, hash } = await packedTarball();
  return withDirLock(path.join(WORK_ROOT, "build.lock"), async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
    const manifest = JSON.stringify(
      {
        name: "pulumi-virt-e2e-consumer",
        private: true,
        dependencies: {
          "pulumi-virt": "file:./pulumi-virt.tgz",
          // pulumi-virt takes the SDK as a peer dependency: the program's copy is the only one.
          "@pulumi/pulumi": sdk,
          // For the @pulumi/command interop example (its plugin is not installed by npm: see allowScripts).
          "@pulumi/command": pkg.devDependencies["@pulumi/command"],
          // Programs are TypeScript: the Node SDK compiles them with the consumer's typescript.
          typescript: pkg.devDependencies.typescript,
          "@types/node": pkg.devDependencies["@types/node"],
        },
        // Nothing pulumi-virt or the SDK needs runs at install time (see package.json's allowScripts).
        allowScripts: pkg.allowScripts,
      },
      null,
      2,
    );
    // Keyed by what is installed: the tarball, the SDK version and the rest of the manifest.
    const dir = path.join(WORK_ROOT, `consumer-${hash}-sdk-${sdk}-${hashOf(Buffer.from(manifest)).slice(0, 8)}`);
    removeStaleConsumers(dir);
    if (fs.existsSync(path.join(dir, ".ready"))) {
      fs.utimesSync(path.join(dir, ".ready"), new Date(), new Date());
      return dir;
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(tarball, path.join(dir, "pulumi-virt.tgz"));
    fs.writeFileSync(path.join(dir, "package.json"), manifest);
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir });
    fs.writeFileSync(path.join(dir, ".ready"), new Date().toISOString());
    return dir;
  });
}

/** Each consumer holds ~130 MB of node_modules: drop those (and packed tarballs) no run has used for a day. */
function removeStaleConsumers(keep: string): void {
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const name of fs.readdirSync(WORK_ROOT)) {
    const dir = path.join(WORK_ROOT, name);
    if (name.startsWith("pulumi-virt-") && name.endsWith(".tgz")) {
      if (fs.statSync(dir).mtimeMs < dayAgo) fs.rmSync(dir, { force: true });
      continue;
    }
    if (!name.startsWith("consumer-") || dir === keep) continue;
    const ready = path.join(dir, ".ready");
    if (fs.existsSync(ready) && fs.statSync(ready).mtimeMs < dayAgo) fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface StackOptions {
  /** Program directory, absolute or relative to the repo root (e.g. "examples/quickstart"). */
  program: string;
  stack?: string;
  /** Plain config values, keys without the project prefix or fully qualified ("ns:key"). */
  config?: Record<string, string>;
  /** Secret config values; passed on stdin, never on a command line. */
  secrets?: Record<string, string>;
  /** Extra environment for every pulumi command (e.g. lab settings). */
  env?: Record<string, string>;
  /** @pulumi/pulumi version of the consumer the program runs in (default: the repo's own). */
  sdk?: string;
  /** A consumer directory prepared by the test itself (overrides `sdk`). */
  consumer?: string;
  /** Directory of the `node` the program and the dynamic provider run on (default: the first on PATH). */
  nodeBinDir?: string;
}

export interface PreviewOptions {
  diff?: boolean;
  /** Pass --expect-no-changes: the CLI fails if anything would change. */
  expectNoChanges?: boolean;
  /** Return instead of throwing when the preview fails (e.g. to inspect check failures). */
  allowFailure?: boolean;
}

/** The shape of `pulumi preview --json` that tests read. */
export interface PreviewJson {
  steps: Array<{
    op: string;
    urn: string;
    oldState?: { inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
    newState?: { inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
    replaceReasons?: string[];
    diffReasons?: string[];
    detailedDiff?: Record<string, { kind: string; inputDiff?: boolean }> | null;
  }>;
  diagnostics?: Array<{ urn?: string; message: string; severity: string }>;
  changeSummary: Record<string, number>;
  config?: Record<string, string>;
}

export class TestStack {
  private constructor(
    /** The program's copy inside the consumer directory; the CLI runs here. */
    readonly dir: string,
    readonly stack: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static async create(opts: StackOptions): Promise<TestStack> {
    const [bin, consumer] = await Promise.all([pulumiBinDir(), opts.consumer ?? consumerDir(opts.sdk)]);
    const src = path.isAbsolute(opts.program) ? opts.program : path.join(REPO_ROOT, opts.program);
    const name = `${path.basename(src)}-${randomBytes(4).toString("hex")}`;
    const dir = path.join(consumer, "programs", name);
    // The copy sits under the consumer, so the program resolves pulumi-virt from its node_modules.
    fs.cpSync(src, dir, {
      recursive: true,
      filter: (p) => !/(^|\/)(node_modules|\.pulumi-state|Pulumi\.[^/]*\.yaml)$/.test(p),
    });
    const stateDir = path.join(dir, ".pulumi-state");
    fs.mkdirSync(stateDir, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...withoutPulumiEnv(process.env),
      ...opts.env,
      PATH: [bin, ...(opts.nodeBinDir ? [opts.nodeBinDir] : []), process.env.PATH ?? ""].join(path.delimiter),
      PULUMI_HOME: path.join(dir, ".pulumi-home"),
      PULUMI_BACKEND_URL: `file://${stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE,
      PULUMI_SKIP_UPDATE_CHECK: "1",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "1",
      PULUMI_SKIP_CONFIRMATIONS: "1",
    };
    const stack = new TestStack(dir, opts.stack ?? "e2e", env);
    await stack.pulumi(["stack", "init", stack.stack]);
    for (const [k, v] of Object.entries(opts.config ?? {})) await stack.setConfig(k, v);
    for (const [k, v] of Object.entries(opts.secrets ?? {})) await stack.setConfig(k, v, { secret: true });
    return stack;
  }

  /** Runs `pulumi <args>` in the program directory with the stack selected. */
  pulumi(args: string[], opts: { stdin?: string; okCodes?: number[] } = {}): Promise<CliResult> {
    const withStack = args[0] === "stack" && args[1] === "init" ? args : [...args, "--stack", this.stack];
    return run("pulumi", [...withStack, "--non-interactive", "--color", "never"], {
      cwd: this.dir,
      env: this.env,
      ...opts,
    });
  }

  async setConfig(key: string, value: string, opts: { secret?: boolean } = {}): Promise<void> {
    // The value goes on stdin, so secrets never appear in a process list or an error message.
    await this.pulumi(["config", "set", key, ...(opts.secret ? ["--secret"] : ["--plaintext"])], { stdin: value });
  }

  up(): Promise<CliResult> {
    return this.pulumi(["up", "--yes", "--skip-preview"]);
  }

  /** Text preview. */
  preview(opts?: PreviewOptions & { json?: false }): Promise<CliResult>;
  /** JSON preview, parsed. */
  preview(opts: PreviewOptions & { json: true }): Promise<PreviewJson>;
  async preview(opts: PreviewOptions & { json?: boolean } = {}): Promise<CliResult | PreviewJson> {
    const args = ["preview"];
    if (opts.json) args.push("--json");
    if (opts.diff) args.push("--diff");
    if (opts.expectNoChanges) args.push("--expect-no-changes");
    const res = await this.pulumi(args, { okCodes: opts.allowFailure ? [0, 1, 255] : [0] });
    if (!opts.json) return res;
    try {
      return JSON.parse(res.stdout) as PreviewJson;
    } catch {
      throw new CliError("pulumi preview --json (unparsable output)", res);
    }
  }

  refresh(opts: { expectNoChanges?: boolean } = {}): Promise<CliResult> {
    return this.pulumi(["refresh", "--yes", "--skip-preview", ...(opts.expectNoChanges ? ["--expect-no-changes"] : [])]);
  }

  destroy(): Promise<CliResult> {
    return this.pulumi(["destroy", "--yes", "--skip-preview"]);
  }

  /** Stack outputs; secret outputs read "[secret]" unless showSecrets. */
  async outputs(opts: { showSecrets?: boolean } = {}): Promise<Record<string, unknown>> {
    const res = await this.pulumi(["stack", "output", "--json", ...(opts.showSecrets ? ["--show-secrets"] : [])]);
    return JSON.parse(res.stdout) as Record<string, unknown>;
  }

  /** Raw text of `pulumi stack export` (secrets stay encrypted). */
  async exportState(): Promise<string> {
    return (await this.pulumi(["stack", "export"])).stdout;
  }

  /** Removes the stack (even with resources left) and the program copy. */
  async rm(): Promise<void> {
    try {
      await this.pulumi(["stack", "rm", "--yes", "--force"]);
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** Outer PULUMI_* settings (a developer's backend or access token) must not leak into tests. */
function withoutPulumiEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!k.startsWith("PULUMI_") || k.startsWith("PULUMI_VIRT_")) out[k] = v;
  return out;
}

/** Convenience: a stack for `program`, handed to `fn`, always removed afterwards. */
export async function withStack<T>(opts: StackOptions, fn: (s: TestStack) => Promise<T>): Promise<T> {
  const s = await TestStack.create(opts);
  try {
    return await fn(s);
  } finally {
    await s.rm();
  }
}
