// Algorithm numbers (RFC 4880 9.1/9.4, RFC 9580 9.1/9.5) and what we do with each: verified,
// refused by policy, or named in an 'unsupported-algorithm' error.
import { PgpError } from './errors.js';

const PUBLIC_KEY_NAMES: Record<number, string> = {
  1: 'RSA',
  2: 'RSA (encrypt-only)',
  3: 'RSA (sign-only)',
  16: 'Elgamal',
  17: 'DSA',
  18: 'ECDH',
  19: 'ECDSA',
  20: 'Elgamal (sign and encrypt)',
  22: 'EdDSA',
  25: 'X25519',
  26: 'X448',
  27: 'Ed25519',
  28: 'Ed448',
  30: 'ML-DSA-65+Ed25519',
  31: 'ML-DSA-87+Ed448',
  32: 'SLH-DSA-SHAKE-128s',
  33: 'SLH-DSA-SHAKE-128f',
  34: 'SLH-DSA-SHAKE-256s',
  35: 'ML-KEM-768+X25519',
  36: 'ML-KEM-1024+X448',
};

/** Public-key algorithms whose signatures we verify. */
export const SIGNING_ALGORITHMS = new Set([1, 3, 22, 27]);

/** `ECDSA (19)`: the name and number, for messages. */
export function publicKeyAlgorithmName(algo: number): string {
  return `${PUBLIC_KEY_NAMES[algo] ?? 'unknown algorithm'} (${algo})`;
}

/** The short name a PgpPublicKey carries. */
export function publicKeyAlgorithmLabel(algo: number): string {
  if (algo === 1 || algo === 3) return 'RSA';
  return PUBLIC_KEY_NAMES[algo] ?? `algorithm ${algo}`;
}

export interface HashAlgorithm {
  id: number;
  /** As rpm prints it: SHA256, SHA512... */
  name: string;
  /** node:crypto's name. */
  node: string;
  /** DER DigestInfo prefix for PKCS#1 v1.5 (RFC 8017 9.2 note 1). */
  digestInfo: Buffer;
}

const digestInfo = (oidLast: number, len: number): Buffer =>
  Buffer.from([0x30, len + 0x11, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, oidLast, 0x05, 0x00, 0x04, len]);

const HASHES: Record<number, HashAlgorithm> = {
  8: { id: 8, name: 'SHA256', node: 'sha256', digestInfo: digestInfo(0x01, 32) },
  9: { id: 9, name: 'SHA384', node: 'sha384', digestInfo: digestInfo(0x02, 48) },
  10: { id: 10, name: 'SHA512', node: 'sha512', digestInfo: digestInfo(0x03, 64) },
  11: { id: 11, name: 'SHA224', node: 'sha224', digestInfo: digestInfo(0x04, 28) },
  12: { id: 12, name: 'SHA3-256', node: 'sha3-256', digestInfo: digestInfo(0x08, 32) },
  14: { id: 14, name: 'SHA3-512', node: 'sha3-512', digestInfo: digestInfo(0x0a, 64) },
};

/** Known but refused: collisions are practical (MD5, SHA-1) or the hash is obsolete. */
const REFUSED_HASHES: Record<number, string> = {
  1: 'MD5',
  2: 'SHA-1',
  3: 'RIPEMD-160',
};

/** The hash algorithm, or 'unsupported-algorithm' for a weak or unknown one. */
export function hashAlgorithm(id: number, context: string): HashAlgorithm {
  const known = HASHES[id];
  if (known) return known;
  const refused = REFUSED_HASHES[id];
  if (refused) throw new PgpError(`${context} uses the ${refused} hash (algorithm ${id}), which is refused: collisions against it are practical`, 'unsupported-algorithm');
  throw new PgpError(`${context} uses hash algorithm ${id}, which is not supported`, 'unsupported-algorithm');
}
