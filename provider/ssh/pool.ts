// One pooled SSH client per host per process. Every caller shares it; channels are bounded per host
// (below sshd's MaxSessions) and handed out first come, first served.
import { createHash } from "node:crypto";
import { openSync, writeSync } from "node:fs";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import { Client, ClientChannel, SFTPWrapper } from "ssh2";
import { ConnectionArgs, connectionSecrets, hopLabel, transportLabel, transportPoolKey } from "./connection";
import { asBytes } from "./bytes";
import { redact, registerSecret } from "./secrets";

export interface HostStats {
  /** TCP connections (or jump-host tunnels) opened, including reconnects. */
  connectionsOpened: number;
  /** Reconnects after an established connection dropped. */
  reconnects: number;
  /** Commands run (exec, script, and the command part of upload). */
  commands: number;
  /** SSH channels opened: exec channels, long-lived shell sessions, sftp. */
  channelsOpened: number;
  /** Long-lived shell sessions started (session mode). */
  sessionsOpened: number;
}

export interface PoolStats {
  global: HostStats;
  hosts: Record<string, HostStats>;
}

function emptyStats(): HostStats {
  return { connectionsOpened: 0, reconnects: 0, commands: 0, channelsOpened: 0, sessionsOpened: 0 };
}

/** FIFO counting semaphore. `onPressure` lets an owner give a permit back (close an idle session) when someone waits. */
export class Semaphore {
  private readonly waiters: Array<() => void> = [];
  /** Permits to drop at their next release (the server allows fewer channels than we thought). */
  private retiring = 0;
  onPressure?: () => void;
  constructor(private free: number) {}

  /** Whether someone waits for a permit. */
  get contended(): boolean {
    return this.waiters.length > 0;
  }

  /** One permit, held by the caller, is not handed out again after its release. */
  retire(): void {
    this.retiring++;
  }

  acquire(): Promise<void> {
    if (this.free > 0 && this.waiters.length === 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.onPressure?.();
    });
  }

  release(): void {
    if (this.retiring > 0) {
      this.retiring--;
      return;
    }
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}

/** Fingerprint as OpenSSH prints it: SHA256:<base64 without padding> of the key blob. */
export function fingerprintOf(keyBlob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(asBytes(keyBlob)).digest("base64").replace(/=+$/, "");
}

function pinnedFingerprint(hostKey: string): string {
  if (hostKey.startsWith("SHA256:")) return hostKey.replace(/=+$/, "");
  return fingerprintOf(Buffer.from(hostKey.split(/\s+/)[1], "base64"));
}

function keyType(blob: Buffer): string {
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  return blob.subarray(4, 4 + len).toString("latin1");
}

/** Host key algorithms to offer, the pinned key's type first, so the server presents the key we pinned. */
function hostKeyAlgorithms(hostKey: string | undefined): string[] | undefined {
  if (!hostKey || hostKey.startsWith("SHA256:")) return undefined;
  const type = hostKey.split(/\s+/)[0];
  const all = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  const first = type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
  return [...first, ...all.filter((a) => !first.includes(a))];
}

/** Errors of the connection itself (not of a command): dial, handshake, host key, authentication, dropped link. */
export class SshConnectionError extends Error {
  constructor(message: string) {
    super(redact(message));
    this.name = "SshConnectionError";
  }
}

/** The server refused a channel while others of ours were open: queue for one of ours to close, then open again. */
export class ChannelRefused extends SshConnectionError {}

function describeDialError(conn: ConnectionArgs, err: Error & { code?: string; level?: string }): string {
  const where = transportLabel(conn);
  const msg = err.message;
  if (err.level === "client-timeout" || /timed out/i.test(msg)) {
    return `cannot connect to ${where}: no SSH handshake within ${conn.dialTimeoutMs} ms (dialTimeoutMs); is the host up and the address right?`;
  }
  if (err.code === "ECONNREFUSED") return `cannot connect to ${where}: connection refused; is sshd listening on port ${conn.port}?`;
  if (err.code === "EHOSTUNREACH" || err.code === "ENETUNREACH") return `cannot connect to ${where}: ${err.code} (no route to the host)`;
  if (/authentication methods failed/i.test(msg)) {
    const tried = [conn.privateKey && "privateKey", conn.password !== undefined && "password", conn.agentSocket && "agentSocket"].filter(Boolean).join(", ");
    return `cannot log in to ${where}: the server refused every credential given (${tried}); check user "${conn.user}" and the credentials`;
  }
  if (/passphrase|encrypted private key|Cannot parse privateKey/i.test(msg)) {
    return `cannot use the privateKey for ${where}: ${msg}; check privateKey and privateKeyPassword`;
  }
  return `cannot connect to ${where}: ${msg}`;
}

/** Keepalive on the TCP socket itself: the kernel probes an idle link, and no timer keeps node alive. */
const TCP_KEEPALIVE_MS = 15_000;
/**
 * Liveness while commands are in flight: a command that prints nothing for minutes (a container's create) would
 * otherwise learn of a cut link only from the kernel's TCP keepalive (tens of seconds to many minutes). After this
 * long without a byte from the host, the connection sends an SSH keepalive request, which sshd always answers; no
 * answer within dialTimeoutMs and the connection is declared dead (its commands fail, the next command reconnects).
 */
const LIVENESS_PROBE_AFTER_MS = 5_000;
const LIVENESS_TICK_MS = 1_000;

/** The pooled connection to one host (through its jump chain). */
export class HostConnection {
  readonly label: string;
  readonly stats = emptyStats();
  /** Bounds open channels on this connection (sessions hold one each for their lifetime). */
  readonly channels: Semaphore;
  private client?: Client;
  private connecting?: Promise<Client>;
  private sock?: net.Socket;
  private everConnected = false;
  private refs = 0;
  /** The stream under the SSH client (TCP socket, or a channel of the jump host's connection). */
  private transport?: Duplex;
  private lastReceived = 0;
  private probeSentAt?: number;
  private liveness?: NodeJS.Timeout;
  private readonly jump?: HostConnection;
  private readonly closeListeners = new Set<() => void>();
  /** Channels of ours open or being opened now. */
  private openChannels = 0;
  /** Channel opens the server refused while ours were open (each lowered this connection's limit by one). */
  channelsRefused = 0;

  constructor(
    readonly conn: ConnectionArgs,
    private readonly pool: SshPool,
  ) {
    this.label = transportLabel(conn);
    this.channels = new Semaphore(conn.maxChannels);
    for (const s of connectionSecrets(conn)) registerSecret(s);
    if (conn.proxy) this.jump = pool.host(conn.proxy);
  }

  /** Keeps node's event loop alive while work is in flight; an idle pool lets the process exit. */
  retain(): void {
    if (++this.refs === 1) {
      if (this.jump) this.jump.retain();
      else this.sock?.ref();
      this.lastReceived = Date.now();
      this.probeSentAt = undefined;
      this.liveness = setInterval(() => this.checkLiveness(), LIVENESS_TICK_MS);
    }
  }

  release(): void {
    if (--this.refs === 0) {
      if (this.jump) this.jump.release();
      else this.sock?.unref();
      clearInterval(this.liveness);
      this.liveness = undefined;
    }
  }

  /** See LIVENESS_PROBE_AFTER_MS. Runs only while work is in flight (retain .. release). */
  private checkLiveness(): void {
    const client = this.client;
    if (!client) return;
    const now = Date.now();
    if (this.probeSentAt !== undefined) {
      if (this.lastReceived >= this.probeSentAt) this.probeSentAt = undefined;
      else if (now - this.probeSentAt > this.conn.dialTimeoutMs) {
        this.probeSentAt = undefined;
        // Nothing can be sent on a dead link: drop the stream, which fails every channel in use ("the SSH connection
        // dropped while the command ran"); the next command reconnects.
        this.close();
        return;
      }
      return;
    }
    if (now - this.lastReceived < LIVENESS_PROBE_AFTER_MS) return;
    // keepalive@openssh.com with want-reply: sshd answers it (with "failure", as for any request it does not
    // implement). ssh2 has no public call for it; its own keepalive timer would keep idle processes alive.
    const internals = client as unknown as { _protocol?: { ping?: () => void }; _callbacks?: Array<(err: boolean) => void> };
    const proto = internals._protocol;
    if (typeof proto?.ping !== "function" || !Array.isArray(internals._callbacks)) return;
    this.probeSentAt = now;
    try {
      // ssh2 answers global-request replies in order from this queue: the probe takes its place in it, as ssh2's own
      // keepalive does, so a reply is never handed to another request's callback.
      internals._callbacks.push(() => undefined);
      proto.ping();
    } catch {
      // A failed write means the stream is already closing; "close" follows.
    }
  }

  /** Called whenever the SSH client closes (sessions listen to drop their state). */
  onClose(listener: () => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Whether the connection is up now (no dial needed for the next command). */
  get connected(): boolean {
    return this.client !== undefined;
  }

  /** The connected client; concurrent first callers share one handshake. */
  getClient(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    if (!this.connecting) {
      // A reset during the handshake (a loaded sshd dropping a new connection) is transient: dial once more.
      this.connecting = this.connect()
        .catch(async (err: Error) => {
          if (!/ECONNRESET/.test(String(err?.message))) throw err;
          await new Promise((r) => setTimeout(r, 1000));
          return this.connect();
        })
        .finally(() => {
        this.connecting = undefined;
      });
    }
    return this.connecting;
  }

  /**
   * Run `use` on the client. If it fails because an established connection dropped (sshd restarted, link
   * lost), reconnect once and try again; a failure to connect at all is not retried.
   */
  async withClient<T>(use: (c: Client) => Promise<T>): Promise<T> {
    const c = await this.getClient();
    try {
      return await use(c);
    } catch (err) {
      // Let ssh2 deliver its close event before deciding whether the link is gone.
      await new Promise((r) => setImmediate(r));
      if (this.client === c) throw err;
      this.stats.reconnects++;
      this.pool.global.reconnects++;
      this.pool.statsChanged();
      return use(await this.getClient());
    }
  }

  /** Open an exec channel. The caller holds a channel permit. */
  openExec(c: Client, command: string): Promise<ClientChannel> {
    return this.openChannel("a channel", () =>
      new Promise((resolve, reject) => {
        c.exec(command, (err, stream) => {
          if (err) return reject(err);
          // A broken channel also shows up as "close", which the owner handles; an unhandled "error" would crash node.
          stream.on("error", () => undefined);
          resolve(stream);
        });
      }),
    );
  }

  openSftp(c: Client): Promise<SFTPWrapper> {
    return this.openChannel("sftp", () =>
      new Promise((resolve, reject) => {
        c.sftp((err, sftp) => {
          if (err) return reject(err);
          sftp.on("error", () => undefined);
          resolve(sftp);
        });
      }),
    );
  }

  /**
   * Opens a channel; the caller holds a permit. A server below our maxChannels (sshd's MaxSessions, 10 by default,
   * may be set lower) refuses the open ("open failed") while other channels of ours are open: that permit is then
   * retired (this connection's limit learns the server's) and ChannelRefused tells the caller to queue for the next
   * channel instead of failing. Bounded: each refusal retires one permit; with none of ours open it is an error.
   */
  private async openChannel<T extends { once(event: "close", l: () => void): unknown }>(what: string, open: () => Promise<T>): Promise<T> {
    let ch: T;
    // Counted from the request on: the server answers opens before it confirms the exec of earlier ones.
    this.openChannels++;
    try {
      ch = await open();
    } catch (e) {
      this.openChannels--;
      const msg = (e as Error).message;
      if (!/open failed|administratively prohibited/i.test(msg) || this.openChannels === 0) {
        throw new SshConnectionError(`cannot open ${what} on ${this.label}: ${msg}`);
      }
      // The permit the caller holds is not handed out again after its release: one fewer channel from now on.
      this.channels.retire();
      this.channelsRefused++;
      throw new ChannelRefused(`${this.label} refused ${what} while ${this.openChannels} other channels of ours were open or opening (its MaxSessions)`);
    }
    ch.once("close", () => this.openChannels--);
    this.countChannel();
    return ch;
  }

  countCommand(): void {
    this.stats.commands++;
    this.pool.global.commands++;
    this.pool.statsChanged();
  }

  countSession(): void {
    this.stats.sessionsOpened++;
    this.pool.global.sessionsOpened++;
    this.pool.statsChanged();
  }

  private countChannel(): void {
    this.stats.channelsOpened++;
    this.pool.global.channelsOpened++;
    this.pool.statsChanged();
  }

  /** A tunnel to host:port through this connection, used as the socket of the next hop. */
  forward(host: string, port: number): Promise<Duplex> {
    return this.withClient(
      (c) =>
        new Promise<Duplex>((resolve, reject) => {
          c.forwardOut("127.0.0.1", 0, host, port, (err, stream) => {
            if (err) return reject(new SshConnectionError(`jump host ${this.label} cannot reach ${host}:${port}: ${err.message}`));
            resolve(stream);
          });
        }),
    );
  }

  /**
   * The jump host's tunnel, bounded by dialTimeoutMs: the jump's sshd waits for its own TCP connect to the
   * target (minutes for a blackholed address), and ssh2's handshake timer only starts once we have a socket.
   */
  private tunnelWithin(ms: number): Promise<Duplex> {
    return new Promise<Duplex>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(new SshConnectionError(describeDialError(this.conn, Object.assign(new Error("timed out"), { level: "client-timeout" }))));
      }, ms);
      this.jump!.forward(this.conn.host, this.conn.port).then(
        (stream) => {
          clearTimeout(timer);
          if (timedOut) stream.destroy();
          else resolve(stream);
        },
        (err) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  private async connect(): Promise<Client> {
    const conn = this.conn;
    const reconnect = this.everConnected;
    let sock: Duplex;
    if (this.jump) {
      sock = await this.tunnelWithin(conn.dialTimeoutMs);
    } else {
      const tcp = net.connect({ host: conn.host, port: conn.port });
      tcp.setKeepAlive(true, TCP_KEEPALIVE_MS);
      tcp.setNoDelay(true);
      if (this.refs === 0) tcp.unref();
      this.sock = tcp;
      sock = tcp;
    }
    this.stats.connectionsOpened++;
    this.pool.global.connectionsOpened++;
    this.pool.statsChanged();
    const client = new Client();
    let mismatch: string | undefined;
    const verifyHostKey = (key: Buffer): boolean => {
      if (conn.insecureSkipHostKeyCheck && !conn.hostKey) return true;
      const expected = pinnedFingerprint(conn.hostKey!);
      const received = fingerprintOf(key);
      if (expected === received) return true;
      mismatch =
        `host key mismatch for ${hopLabel(conn)}: expected ${expected}, received ${received} (${keyType(key)}). ` +
        `Refusing to connect: the host was reinstalled, or someone is in the middle. If the change is expected, ` +
        `pin the new key in hostKey after checking it out of band (ssh-keyscan -p ${conn.port} ${conn.host} | ssh-keygen -lf -)`;
      return false;
    };
    return new Promise<Client>((resolve, reject) => {
      let ready = false;
      client.on("ready", () => {
        ready = true;
        // Added once ssh2 reads the stream (a "data" listener added earlier would start it flowing too soon).
        this.transport = sock;
        this.lastReceived = Date.now();
        sock.on("data", () => {
          this.lastReceived = Date.now();
        });
        this.everConnected = true;
        this.client = client;
        resolve(client);
      });
      client.on("error", (err: Error) => {
        if (ready) return; // a dropped link surfaces as "close" and fails the channels in use
        sock.destroy();
        reject(new SshConnectionError(mismatch ?? describeDialError(conn, err)));
      });
      client.on("close", () => {
        if (this.client === client) this.client = undefined;
        if (this.sock === sock) this.sock = undefined;
        if (!ready) reject(new SshConnectionError(mismatch ?? `cannot connect to ${this.label}: the server closed the connection during the handshake`));
        for (const l of [...this.closeListeners]) l();
      });
      const algorithms = hostKeyAlgorithms(conn.hostKey);
      client.connect({
        sock: sock as never,
        username: conn.user,
        privateKey: conn.privateKey,
        passphrase: conn.privateKeyPassword,
        password: conn.password,
        agent: conn.agentSocket,
        readyTimeout: conn.dialTimeoutMs,
        hostVerifier: verifyHostKey,
        ...(algorithms ? { algorithms: { serverHostKey: algorithms as never } } : {}),
      });
    }).catch((err) => {
      if (reconnect) throw new SshConnectionError(`reconnect after a dropped connection failed: ${err.message}`);
      throw err;
    });
  }

  /** Close the client; the next use reconnects. */
  close(): void {
    const c = this.client;
    this.client = undefined;
    c?.end();
    this.sock?.destroy();
    // A tunnel through a jump host: end its channel too (on a dead link `end` alone waits forever).
    if (this.transport && this.transport !== this.sock) this.transport.destroy();
    this.transport = undefined;
  }
}

/** All pooled connections of this process. */
export class SshPool {
  private static instance?: SshPool;
  readonly global = emptyStats();
  private readonly hosts = new Map<string, HostConnection>();
  private readonly closeHooks = new Set<() => void>();

  static shared(): SshPool {
    return (SshPool.instance ??= new SshPool());
  }

  /** The connection for this host (created on first use, connected lazily). */
  host(conn: ConnectionArgs): HostConnection {
    const key = transportPoolKey(conn);
    let h = this.hosts.get(key);
    if (!h) {
      h = new HostConnection(conn, this);
      this.hosts.set(key, h);
    }
    return h;
  }

  /** Register something to tear down in closeAll (session pools). */
  onCloseAll(hook: () => void): void {
    this.closeHooks.add(hook);
  }

  /** Counters per host (by user@host:port label, summed over pool entries with the same label) and in total. */
  stats(): PoolStats {
    const hosts: Record<string, HostStats> = {};
    for (const h of this.hosts.values()) {
      const s = (hosts[h.label] ??= emptyStats());
      for (const k of Object.keys(s) as (keyof HostStats)[]) s[k] += h.stats[k];
    }
    return { global: { ...this.global }, hosts };
  }

  /**
   * Stats hook for benchmarks (bench/): with PULUMI_VIRT_STATS_FILE set, every counter change rewrites that
   * file with stats() as JSON ("{pid}" in the path becomes this process's pid). Written synchronously because
   * the engine kills the dynamic-provider process without an exit hook; off unless the variable is set.
   */
  statsChanged(): void {
    const file = process.env.PULUMI_VIRT_STATS_FILE;
    if (!file) return;
    try {
      // One open file, rewritten in place (padded with spaces, which JSON ignores, so it never needs truncating):
      // an open/truncate/close per counter change cost the provider ~0.3 s of CPU in a 24-container `up`.
      const path = file.replace("{pid}", String(process.pid));
      if (!this.statsOut || this.statsOut.path !== path) this.statsOut = { path, fd: openSync(path, "w"), size: 0 };
      const out = this.statsOut;
      const json = Buffer.from(JSON.stringify({ pid: process.pid, ...this.stats() }));
      const buf = json.length >= out.size ? json : Buffer.concat([json, Buffer.alloc(out.size - json.length, 0x20)]);
      writeSync(out.fd, buf, 0, buf.length, 0);
      out.size = buf.length;
    } catch {
      // Counting must never break a deployment.
    }
  }
  private statsOut?: { path: string; fd: number; size: number };

  /** Close every connection and session, so a process can exit at once. Later use reconnects. */
  closeAll(): void {
    for (const hook of this.closeHooks) hook();
    // Targets before their jump hosts.
    for (const h of [...this.hosts.values()].reverse()) h.close();
  }
}
