// How to reach a host. Shaped like @pulumi/command's `remote.Connection` (same property names), so a
// user can pass the connection object they already have; our additions are optional and defaulted.
import { createHash } from "node:crypto";
import { z } from "zod";

const HOST_KEY_LINE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,2}( .*)?$/;
const HOST_KEY_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

const HOST_RE = /^([A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/;

/**
 * Bounds of every timeout. Node turns a delay of 2^31 ms or more into 1 ms, so an unbounded value would make every
 * dial or command time out at once; these maxima stay far below that.
 */
export const MAX_DIAL_TIMEOUT_MS = 600_000;
export const MAX_COMMAND_TIMEOUT_MS = 86_400_000;
/** How many hops a proxy chain may have below the host itself (a deeper or cyclic chain is refused at check). */
export const MAX_PROXY_DEPTH = 8;

function keyscanHint(host: string, port: number): string {
  // The hint is a shell command for the user to run: only a host that passed validation is put into it.
  if (!HOST_RE.test(host)) host = "HOST";
  const p = Number.isInteger(port) && port >= 1 && port <= 65535 ? (port === 22 ? "" : `-p ${port} `) : "-p PORT ";
  return `pin the server's key with hostKey: "ssh-ed25519 AAAA..." (from \`ssh-keyscan ${p}-t ed25519 ${host}\`) or its fingerprint "SHA256:..." (from \`ssh-keyscan ${p}${host} | ssh-keygen -lf -\`), checked out of band`;
}

const baseFields = {
  host: z
    .string({ error: "is required: a hostname or IP address" })
    .min(1, "must not be empty: a hostname or IP address")
    .regex(HOST_RE, {
      message: "must be a hostname (letters, digits, '.', '-', not starting with '-') or an IP address",
    }),
  port: z.number().int().min(1).max(65535).default(22),
  user: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, { message: "must be a user name: letters, digits, '_', '.', '-', starting with a letter or '_' (at most 32)" })
    .default("root"),
  privateKey: z.string().min(1).optional(),
  privateKeyPassword: z.string().optional(),
  password: z.string().optional(),
  agentSocket: z.string().min(1).optional(),
  /** @pulumi/command's name for agentSocket; accepted so an existing connection object works. */
  agentSocketPath: z.string().min(1).optional(),
  hostKey: z
    .string()
    .trim()
    .refine((v) => HOST_KEY_LINE.test(v) || HOST_KEY_FINGERPRINT.test(v), {
      message: 'must be an OpenSSH public key line ("ssh-ed25519 AAAA...") or a fingerprint ("SHA256:" + 43 base64 characters)',
    })
    .optional(),
  insecureSkipHostKeyCheck: z.boolean().default(false),
  sudo: z.boolean().default(false),
  dialTimeoutMs: z.number().int().positive().max(MAX_DIAL_TIMEOUT_MS, { message: `must be at most ${MAX_DIAL_TIMEOUT_MS} ms (10 minutes)` }).optional(),
  /** @pulumi/command's per-dial timeout in seconds; used when dialTimeoutMs is not given. */
  perDialTimeout: z.number().positive().max(MAX_DIAL_TIMEOUT_MS / 1000, { message: `must be at most ${MAX_DIAL_TIMEOUT_MS / 1000} seconds` }).optional(),
  /** Accepted for compatibility with @pulumi/command; a failed dial is not retried here (a dropped connection is, once). */
  dialErrorLimit: z.number().int().min(-1).max(1000).optional(),
  commandTimeoutMs: z.number().int().positive().max(MAX_COMMAND_TIMEOUT_MS, { message: `must be at most ${MAX_COMMAND_TIMEOUT_MS} ms (24 hours)` }).default(300_000),
  maxChannels: z.number().int().min(1).max(64).default(8),
  execMode: z.enum(["session", "exec"]).default("session"),
};

type Fields = { [K in keyof typeof baseFields]: z.output<(typeof baseFields)[K]> };
export type ConnectionArgs = Omit<Fields, "dialTimeoutMs"> & { dialTimeoutMs: number; proxy?: ConnectionArgs };

/**
 * Walks the proxy chain before anything recurses into it: a cyclic or very deep chain gets one failure on the
 * `proxy` that goes too far, instead of a stack overflow.
 */
function proxyChainProblem(v: unknown): { path: string[]; message: string } | undefined {
  const seen = new Set<unknown>();
  const path: string[] = [];
  for (let hop = v; hop && typeof hop === "object"; hop = (hop as { proxy?: unknown }).proxy) {
    if (seen.has(hop)) return { path, message: "the proxy chain is cyclic: a hop proxies through itself or an earlier hop" };
    seen.add(hop);
    if (path.length > MAX_PROXY_DEPTH) return { path, message: `the proxy chain is longer than ${MAX_PROXY_DEPTH} hops; reach the host through at most ${MAX_PROXY_DEPTH} proxies` };
    if ((hop as { proxy?: unknown }).proxy === undefined) break;
    path.push("proxy");
  }
  return undefined;
}

const connectionObject: z.ZodType<ConnectionArgs, unknown> = z
  .strictObject({
    ...baseFields,
    get proxy(): z.ZodOptional<z.ZodType<ConnectionArgs, unknown>> {
      return connectionSchema.optional();
    },
  })
  .superRefine((c, ctx) => {
    if (!c.hostKey && !c.insecureSkipHostKeyCheck) {
      ctx.addIssue({
        code: "custom",
        path: ["hostKey"],
        message: `is required: ${keyscanHint(c.host, c.port)}; or set insecureSkipHostKeyCheck: true to accept any key (unsafe)`,
      });
    }
    if (c.agentSocket && c.agentSocketPath && c.agentSocket !== c.agentSocketPath) {
      ctx.addIssue({ code: "custom", path: ["agentSocketPath"], message: "differs from agentSocket: give only one" });
    }
    if (!c.privateKey && c.password === undefined && !c.agentSocket && !c.agentSocketPath) {
      ctx.addIssue({ code: "custom", path: [], message: "no credentials: give privateKey, password or agentSocket" });
    }
    if (c.privateKeyPassword !== undefined && !c.privateKey) {
      ctx.addIssue({ code: "custom", path: ["privateKeyPassword"], message: "is set but privateKey is not" });
    }
  })
  .transform((c): ConnectionArgs => {
    const { perDialTimeout, agentSocketPath, ...rest } = c;
    return {
      ...rest,
      agentSocket: c.agentSocket ?? agentSocketPath,
      dialTimeoutMs: c.dialTimeoutMs ?? (perDialTimeout !== undefined ? Math.round(perDialTimeout * 1000) : 10_000),
    } as ConnectionArgs;
  }) as unknown as z.ZodType<ConnectionArgs, unknown>;

export const connectionSchema: z.ZodType<ConnectionArgs, unknown> = z
  .unknown()
  .superRefine((v, ctx) => {
    const problem = proxyChainProblem(v);
    if (problem) ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
  })
  .pipe(connectionObject) as unknown as z.ZodType<ConnectionArgs, unknown>;

/** Input type: what a user writes (defaults optional). */
export type ConnectionInput = z.input<typeof connectionSchema>;

/** Validate a connection; throws one Error listing every problem as `connection.<path>: <message>`. */
export function parseConnection(input: unknown): ConnectionArgs {
  const r = connectionSchema.safeParse(input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const path = ["connection", ...i.path.map(String)].join(".");
    return `${path}: ${i.message}`;
  });
  throw new Error(`invalid SSH connection:\n  ${lines.join("\n  ")}`);
}

/** "user@host:port" of this hop only. */
export function hopLabel(c: ConnectionArgs): string {
  const host = c.host.includes(":") ? `[${c.host}]` : c.host;
  return `${c.user}@${host}:${c.port}`;
}

/** Stable, printable identity: user@host:port, the jump chain, and sudo. Never contains secrets. */
export function connectionKey(c: ConnectionArgs): string {
  return transportLabel(c) + (c.sudo ? " (sudo)" : "");
}

/** user@host:port via the jump chain: what one pooled TCP connection serves. */
export function transportLabel(c: ConnectionArgs): string {
  return c.proxy ? `${hopLabel(c)} via ${transportLabel(c.proxy)}` : hopLabel(c);
}

/**
 * Identity of one pooled SSH client. Besides the printable label it covers the host-key pin and a digest
 * of the credentials, so a config with a different pin or a wrong password never rides on a connection
 * someone else authenticated. In-memory only; never printed.
 */
export function transportPoolKey(c: ConnectionArgs): string {
  const auth = createHash("sha256")
    .update(JSON.stringify([c.privateKey ?? null, c.privateKeyPassword ?? null, c.password ?? null, c.agentSocket ?? null]))
    .digest("hex");
  const own = `${hopLabel(c)}|${c.hostKey ?? "insecure"}|${auth}`;
  return c.proxy ? `${own} via ${transportPoolKey(c.proxy)}` : own;
}

/** Every secret of a connection chain, for redaction. */
export function connectionSecrets(c: ConnectionArgs): string[] {
  const out: string[] = [];
  for (let hop: ConnectionArgs | undefined = c; hop; hop = hop.proxy) {
    for (const s of [hop.password, hop.privateKeyPassword, hop.privateKey]) if (s) out.push(s);
  }
  return out;
}
