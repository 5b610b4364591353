// Which keys we trust, and checking APK v2 signatures against them.
// A signature is a tar entry `.SIGN.<scheme>.<keyname>` whose body is a PKCS#1 v1.5 signature
// (RSA: SHA-1, RSA256: SHA-256, RSA512: SHA-512; DSA: SHA-1) over compressed bytes: a package's
// control member, or an index from its 2nd gzip member to EOF. The key name is the file name of
// the public key (`alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub`), as in /etc/apk/keys.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readBody, readTar } from '../../../formats/tar.js';

export type SignatureScheme = 'RSA' | 'RSA256' | 'RSA512' | 'DSA';
export type SignatureDigest = 'sha1' | 'sha256' | 'sha512';

const DIGEST_OF: Record<SignatureScheme, SignatureDigest> = {
  RSA: 'sha1',
  RSA256: 'sha256',
  RSA512: 'sha512',
  DSA: 'sha1',
};

export interface ApkSignature {
  /** The tar entry name (`.SIGN.RSA.<keyname>`). */
  entry: string;
  scheme: SignatureScheme;
  digest: SignatureDigest;
  keyName: string;
  signature: Buffer;
}

/** Base of the errors below: the thing being checked is not trustworthy. */
export class ApkTrustError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The file carries no `.SIGN.*` entry at all. */
export class MissingSignatureError extends ApkTrustError {}

/** Signed, but by none of the trusted keys. */
export class UnknownSigningKeyError extends ApkTrustError {
  constructor(
    message: string,
    readonly keyNames: string[],
  ) {
    super(message);
  }
}

/** Signed by a trusted key, but the signature does not match the bytes. */
export class BadSignatureError extends ApkTrustError {
  constructor(
    message: string,
    readonly keyName: string,
  ) {
    super(message);
  }
}

/** The trust store could not be loaded (missing directory, unreadable or non-PEM key). */
export class TrustStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrustStoreError';
  }
}

/** Public keys by name (the key file's name). */
export class TrustedKeys {
  constructor(
    private readonly keys: ReadonlyMap<string, KeyObject>,
    /** Where the keys came from, for error messages. */
    readonly source: string,
  ) {}

  /** Keys from PEM text, for callers that hold keys in memory. */
  static fromPem(entries: ReadonlyArray<{ name: string; pem: string | Buffer }>, source = 'in-memory keys'): TrustedKeys {
    const keys = new Map<string, KeyObject>();
    for (const { name, pem } of entries) keys.set(name, parsePublicKey(pem, `${source}: ${name}`));
    return new TrustedKeys(keys, source);
  }

  get(name: string): KeyObject | undefined {
    return this.keys.get(name);
  }

  names(): string[] {
    return [...this.keys.keys()].sort();
  }
}

/**
 * Loads every `*.rsa.pub` PEM file of a directory; the key name is the file name. `shownAs`
 * names the directory in every message, here and in later signature errors: nodes pass the
 * project-relative path the variant wrote, so no machine's absolute path reaches a log or a user.
 */
export async function loadTrustedKeys(dir: string, shownAs = dir): Promise<TrustedKeys> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((name) => name.endsWith('.rsa.pub')).sort();
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (err as Error).message.replaceAll(dir, shownAs);
    throw new TrustStoreError(`cannot read the trusted-keys directory ${shownAs}: ${reason}`);
  }
  if (files.length === 0) {
    throw new TrustStoreError(`no *.rsa.pub keys in ${shownAs}: put the repository's public keys there`);
  }
  const keys = new Map<string, KeyObject>();
  for (const name of files) {
    keys.set(name, parsePublicKey(await readFile(join(dir, name)), join(shownAs, name)));
  }
  return new TrustedKeys(keys, shownAs);
}

function parsePublicKey(pem: string | Buffer, where: string): KeyObject {
  try {
    return createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new TrustStoreError(`${where}: not a PEM public key (${(err as Error).message})`);
  }
}

/** Splits `.SIGN.RSA256.<keyname>`; undefined for names that are not signature entries. */
export function parseSignatureEntryName(entry: string): Omit<ApkSignature, 'signature'> | undefined {
  const match = /^\.SIGN\.(RSA512|RSA256|RSA|DSA)\.(.+)$/.exec(entry);
  if (!match) return undefined;
  const scheme = match[1] as SignatureScheme;
  return { entry, scheme, digest: DIGEST_OF[scheme], keyName: match[2] };
}

/**
 * The signatures in a decompressed signature segment (a tar cut before its end blocks).
 * Entries of unknown schemes are skipped, as apk does; any non-`.SIGN.` entry ends the list.
 */
export async function readSignatureSegment(tar: Buffer, label: string): Promise<ApkSignature[]> {
  const signatures: ApkSignature[] = [];
  for await (const entry of readTar(tar, { allowMissingEnd: true, label: `${label} signature segment` })) {
    if (!entry.path.startsWith('.SIGN.')) break;
    const parsed = parseSignatureEntryName(entry.path);
    if (!parsed || entry.type !== 'file') continue;
    signatures.push({ ...parsed, signature: await readBody(entry, 64 << 10) });
  }
  return signatures;
}

/**
 * Checks that at least one signature by a trusted key verifies over `signed`. Returns the
 * signature that did. `what` names the file in errors (a URL or path).
 */
export function verifyApkSignatures(
  keys: TrustedKeys,
  signatures: readonly ApkSignature[],
  signed: Buffer,
  what: string,
): ApkSignature {
  if (signatures.length === 0) {
    throw new MissingSignatureError(
      `${what} is not signed (no .SIGN.* entry): refusing it. Use a repository that signs its files.`,
    );
  }
  const known = signatures.filter((sig) => keys.get(sig.keyName));
  if (known.length === 0) {
    const names = signatures.map((sig) => sig.keyName);
    throw new UnknownSigningKeyError(
      `${what} is signed by ${names.join(', ')}, which is not among the trusted keys ` +
        `(${keys.names().join(', ') || 'none'} from ${keys.source}): add the repository's public key there if you trust it`,
      names,
    );
  }
  for (const sig of known) {
    if (verify(sig.digest, signed, keys.get(sig.keyName)!, sig.signature)) return sig;
  }
  const first = known[0];
  throw new BadSignatureError(
    `${what}: the ${first.scheme} signature by ${first.keyName} does not match the signed bytes ` +
      `(corrupt or tampered download): refusing it`,
    first.keyName,
  );
}
