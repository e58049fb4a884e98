// How to reach a host. Shaped like @pulumi/command's `remote.Connection` (same property names), so a
// user can pass the connection object they already have; our additions are optional and defaulted.
import { createHash } from "node:crypto";
import { z } from "zod";

const HOST_KEY_LINE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,2}( .*)?$/;
const HOST_KEY_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

function keyscanHint(host: string, port: number): string {
  const p = port === 22 ? "" : `-p ${port} `;
  return `pin the server's key with hostKey: "ssh-ed25519 AAAA..." (from \`ssh-keyscan ${p}-t ed25519 ${host}\`) or its fingerprint "SHA256:..." (from \`ssh-keyscan ${p}${host} | ssh-keygen -lf -\`), checked out of band`;
}

const baseFields = {
  host: z
    .string({ error: "is required: a hostname or IP address" })
    .min(1, "must not be empty: a hostname or IP address")
    .regex(/^([A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/, {
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
  dialTimeoutMs: z.number().int().positive().optional(),
  /** @pulumi/command's per-dial timeout in seconds; used when dialTimeoutMs is not given. */
  perDialTimeout: z.number().positive().optional(),
  /** Accepted for compatibility with @pulumi/command; a failed dial is not retried here (a dropped connection is, once). */
  dialErrorLimit: z.number().int().optional(),
  commandTimeoutMs: z.number().int().positive().default(300_000),
  maxChannels: z.number().int().min(1).max(64).default(8),
  execMode: z.enum(["session", "exec"]).default("session"),
};

type Fields = { [K in keyof typeof baseFields]: z.output<(typeof baseFields)[K]> };
export type ConnectionArgs = Omit<Fields, "dialTimeoutMs"> & { dialTimeoutMs: number; proxy?: ConnectionArgs };

export const connectionSchema: z.ZodType<ConnectionArgs, unknown> = z
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
