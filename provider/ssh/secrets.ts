// Process-wide registry of secrets (passwords, passphrases, private keys) that must never reach an error
// message or a log line. Every message the transport builds goes through redact().

const secrets = new Set<string>();

/** Shorter strings would blank out ordinary words; a 1-3 character secret is not protected by anything anyway. */
const MIN_SECRET_LENGTH = 4;

export function registerSecret(secret: string | undefined): void {
  if (!secret) return;
  if (secret.length >= MIN_SECRET_LENGTH) secrets.add(secret);
  // A key file may be echoed back line by line (or with other line endings): hide each line too.
  if (secret.includes("\n")) {
    for (const line of secret.split(/\r?\n/)) if (line.trim().length >= 16) secrets.add(line.trim());
  }
}

export function redact(text: string): string {
  let out = text;
  // Longest first, so a secret containing another is hidden whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join("***");
  }
  return out;
}
