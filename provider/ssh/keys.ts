// SSH key material the provider makes or derives (no I/O): a guest's host key, generated here so that the
// connection to the guest is pinned to a key pulumi-virt knows instead of whatever answers first.
import { utils } from "ssh2";

/** A fresh ed25519 key pair: the private key in OpenSSH format, the public key as an OpenSSH line. */
export function generateHostKey(): { privateKey: string; publicKey: string } {
  const k = utils.generateKeyPairSync("ed25519");
  return { privateKey: k.private, publicKey: k.public.trim() };
}

/** The OpenSSH public key line of a private key (undefined when it cannot be parsed, e.g. it needs a passphrase). */
export function publicKeyLine(privateKey: string, passphrase?: string): string | undefined {
  const parsed = utils.parseKey(privateKey, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) return undefined;
  return `${key.type} ${key.getPublicSSH().toString("base64")}`;
}

/** The login key a machine gets for root: the public half of the host connection's key (none without one). */
export function loginKeyOf(c: { privateKey?: string; privateKeyPassword?: string }): string | undefined {
  return c.privateKey ? publicKeyLine(c.privateKey, c.privateKeyPassword) : undefined;
}

/**
 * The SSH host key a machine is pinned to, for the driver contract's `prepare`: kept from the old state; generated
 * for a new machine that can receive it (`receives`); none otherwise (an existing machine is never given one).
 */
export function pinnedHostKey(olds: { sshHostKey?: { privateKey: string; publicKey: string } } | undefined, receives: boolean): { sshHostKey?: { privateKey: string; publicKey: string } } {
  if (olds?.sshHostKey) return { sshHostKey: olds.sshHostKey };
  if (olds || !receives) return {};
  return { sshHostKey: generateHostKey() };
}
