// The connection schema: defaults, @pulumi/command compatibility, and errors that name the property and
// say what to do.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectionKey, parseConnection } from "../../provider/ssh/connection";
import { redact } from "../../provider/ssh/secrets";
import { SshRemote } from "../../provider/ssh/remote";

const PIN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq5nB0c0p5x3Zb0c1m8yF6d2W3lQ9J1o4c7rY8wX2aB";
const FP = "SHA256:" + "a".repeat(43);

function problems(input: unknown): string {
  try {
    parseConnection(input);
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail("expected a validation error");
}

test("defaults", () => {
  const c = parseConnection({ host: "h", hostKey: PIN, privateKey: "k" });
  assert.equal(c.port, 22);
  assert.equal(c.user, "root");
  assert.equal(c.sudo, false);
  assert.equal(c.dialTimeoutMs, 10_000);
  assert.equal(c.commandTimeoutMs, 300_000);
  assert.equal(c.maxChannels, 8);
  assert.equal(c.execMode, "session");
  assert.equal(c.insecureSkipHostKeyCheck, false);
});

test("an unpinned host key fails with how to get the key", () => {
  const msg = problems({ host: "10.0.0.5", port: 2222, password: "x" });
  assert.match(msg, /connection\.hostKey: is required/);
  assert.match(msg, /ssh-keyscan -p 2222 10\.0\.0\.5 \| ssh-keygen -lf -/);
  assert.match(msg, /insecureSkipHostKeyCheck/);
  // the explicit opt-in is accepted
  assert.equal(parseConnection({ host: "h", password: "x", insecureSkipHostKeyCheck: true }).hostKey, undefined);
});

test("a fingerprint pin and a key line are both accepted; garbage is not", () => {
  assert.equal(parseConnection({ host: "h", hostKey: FP, password: "p" }).hostKey, FP);
  assert.match(problems({ host: "h", hostKey: "not a key", password: "p" }), /connection\.hostKey: must be an OpenSSH public key line/);
});

test("every problem is listed with its property path and the allowed values", () => {
  const msg = problems({ host: "", port: 70000, execMode: "fast", maxChannels: 0, hots: "x", hostKey: PIN, password: "p" });
  assert.match(msg, /connection\.host: must not be empty/);
  assert.match(msg, /connection\.port: .*65535/);
  assert.match(msg, /connection\.execMode: .*"session"\|"exec"/);
  assert.match(msg, /connection\.maxChannels: /);
  assert.match(msg, /connection: Unrecognized key: "hots"/);
});

test("nested proxy errors carry the nested path", () => {
  const msg = problems({ host: "t", hostKey: PIN, password: "p", proxy: { host: "j", port: "22", password: "p" } });
  assert.match(msg, /connection\.proxy\.port: .*expected number/);
});

test("a missing host and missing credentials are reported", () => {
  assert.match(problems({ hostKey: PIN, password: "p" }), /connection\.host: is required/);
  assert.match(problems({ host: "h", hostKey: PIN }), /no credentials: give privateKey, password or agentSocket/);
});

test("@pulumi/command's connection shape is accepted (agentSocketPath, perDialTimeout, dialErrorLimit)", () => {
  const c = parseConnection({ host: "h", hostKey: PIN, agentSocketPath: "/run/a.sock", perDialTimeout: 3, dialErrorLimit: 5 });
  assert.equal(c.agentSocket, "/run/a.sock");
  assert.equal(c.dialTimeoutMs, 3000);
  // a parsed connection parses again to the same thing (resources store the parsed form)
  assert.deepEqual(parseConnection(JSON.parse(JSON.stringify(c))), JSON.parse(JSON.stringify(c)));
});

test("connectionKey names user, host, port, jump chain and sudo, and no secret", () => {
  const c = parseConnection({
    host: "t",
    user: "ops",
    password: "hunter2-secret",
    sudo: true,
    hostKey: PIN,
    proxy: { host: "j", port: 2200, privateKey: "PRIVATE-KEY-TEXT", privateKeyPassword: "passphrase-x", hostKey: FP },
  });
  const key = connectionKey(c);
  assert.equal(key, "ops@t:22 via root@j:2200 (sudo)");
  assert.doesNotMatch(key, /hunter2|PRIVATE|passphrase/);
});

test("secrets of a connection are redacted from messages once it is in use", () => {
  const c = parseConnection({ host: "t", password: "s3cret-pw-123", hostKey: PIN, proxy: { host: "j", privateKey: "KEY\nLINE-OF-KEY-MATERIAL-1234\nEND", privateKeyPassword: "pp-secret", hostKey: FP } });
  new SshRemote(c); // registers the chain's secrets; connects lazily, so nothing is sent
  assert.equal(redact("x s3cret-pw-123 y pp-secret LINE-OF-KEY-MATERIAL-1234"), "x *** y *** ***");
});
