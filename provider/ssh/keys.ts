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
