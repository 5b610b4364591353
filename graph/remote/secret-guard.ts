// The last check before an archive leaves the machine: does it hold any secret's bytes (a
// private key file the build was given, the cache token)? Streamed, with each chunk searched
// together with the tail of the one before, so a secret split across two reads is still found.
import { createReadStream } from 'node:fs';

export interface Secret {
  /** What to call it in a message (never the secret itself). */
  name: string;
  bytes: Buffer;
}

/** The name of the first secret found in the file, or undefined. */
export async function findSecret(file: string, secrets: readonly Secret[]): Promise<string | undefined> {
  const needles = secrets.filter((s) => s.bytes.length > 0);
  if (needles.length === 0) return undefined;
  const keep = Math.max(...needles.map((s) => s.bytes.length)) - 1;
  let tail = Buffer.alloc(0);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const window = Buffer.concat([tail, chunk as Buffer]);
    const found = needles.find((s) => window.includes(s.bytes));
    if (found) return found.name;
    tail = window.subarray(Math.max(0, window.length - keep));
  }
  return undefined;
}

/**
 * The part of a PEM private key worth searching for: its base64 body without line breaks would
 * miss a copy that kept them, so the first body line (64 characters of key material) stands for it.
 */
export function pemNeedle(pem: string): Buffer | undefined {
  const line = pem.split(/\r?\n/).find((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l.trim()));
  return line ? Buffer.from(line.trim()) : undefined;
}
