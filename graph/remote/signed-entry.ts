// Remote action entries and their Ed25519 signatures. An entry says: the node with this key, of
// this kind and kind version, produced the output tree with this digest, shipped as this archive
// blob. The signature covers all of it (canonical JSON), so a reader that trusts the signer can
// take the blob, check its sha256, unpack it, check the tree digest, and use it. Keys are written
// `ed25519:<base64 of the raw 32-byte public key>`: short enough for a config file.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../canonical.js';
import type { Json } from '../node.js';

export const ENTRY_FORMAT = 'pipeline-remote-entry-1';

export interface RemoteEntry {
  format: typeof ENTRY_FORMAT;
  key: string;
  id: string;
  kind: string;
  /** The kind version the output was made with. */
  version: number;
  /** The output tree digest (graph/tree-digest.ts). */
  output: string;
  size: number;
  files: number;
  ms: number;
  builtAt: string;
  /** The archive of the tree in the CAS. */
  blob: { sha256: string; size: number };
}

export interface SignedEntry {
  entry: RemoteEntry;
  /** `ed25519:...` public key of the signer. */
  signer: string;
  /** Base64 Ed25519 signature over the entry's canonical JSON. */
  signature: string;
}

export class EntryRejected extends Error {}

const PUBLIC_PREFIX = 'ed25519:';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** `ed25519:...` */
  publicId: string;
}

/** A signing key from PEM text (PKCS#8); errors say where it came from. */
export function signingKeyFromPem(pem: string, origin: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${origin} is not a PEM private key (${(err as Error).message})`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${origin} is a ${privateKey.asymmetricKeyType} key; the cache signs with Ed25519 (make one with \`pipeline cache keys init\`)`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicId: publicIdOf(publicKey) };
}

export function publicIdOf(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' }) as { x: string };
  return PUBLIC_PREFIX + Buffer.from(jwk.x, 'base64url').toString('base64');
}

/** The public key of an `ed25519:...` line; throws on anything else. */
export function parsePublicId(text: string): KeyObject {
  const raw = text.startsWith(PUBLIC_PREFIX) ? Buffer.from(text.slice(PUBLIC_PREFIX.length), 'base64') : undefined;
  if (!raw || raw.length !== 32) throw new Error(`'${text}' is not an Ed25519 public key (expected ed25519:<base64 of 32 bytes>)`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

function message(entry: RemoteEntry): Buffer {
  return Buffer.from(canonicalJson(entry as unknown as Json));
}

export function signEntry(entry: RemoteEntry, key: SigningKey): SignedEntry {
  return { entry, signer: key.publicId, signature: sign(null, message(entry), key.privateKey).toString('base64') };
}

/**
 * Checks a signed entry read from the remote against what the reader expects; returns the entry
 * or throws EntryRejected saying why (unsigned, unknown signer, bad signature, another node).
 */
export function verifyEntry(value: unknown, trusted: ReadonlyMap<string, KeyObject>, expect: { key: string; kind: string; version: number }): RemoteEntry {
  const signed = value as Partial<SignedEntry> | null;
  const entry = signed?.entry;
  if (!signed || typeof signed !== 'object' || !entry || typeof entry !== 'object' || entry.format !== ENTRY_FORMAT) throw new EntryRejected('the entry is not a pipeline cache entry');
  if (typeof signed.signature !== 'string' || typeof signed.signer !== 'string' || !signed.signature) throw new EntryRejected('the entry is unsigned');
  const publicKey = trusted.get(signed.signer);
  if (!publicKey) throw new EntryRejected(`the entry is signed by a key this machine does not trust (${signed.signer})`);
  if (!verify(null, message(entry), publicKey, Buffer.from(signed.signature, 'base64'))) throw new EntryRejected(`the entry's signature does not verify (signer ${signed.signer})`);
  // Signed, but for what? The same key should never name another node kind, but say so if it does.
  if (entry.key !== expect.key) throw new EntryRejected(`the entry answers key ${entry.key}, not ${expect.key}`);
  if (entry.kind !== expect.kind || entry.version !== expect.version) throw new EntryRejected(`the entry is for ${entry.kind} v${entry.version}, not ${expect.kind} v${expect.version}`);
  if (!/^[0-9a-f]{64}$/.test(entry.output) || !/^[0-9a-f]{64}$/.test(entry.blob?.sha256 ?? '') || !Number.isSafeInteger(entry.blob.size)) throw new EntryRejected('the entry has malformed digests');
  return entry;
}
