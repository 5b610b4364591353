// The cryptographic check itself, with node:crypto: the digest of (signed bytes ‖ hashed part ‖
// trailer), then PKCS#1 v1.5 (RSA) or Ed25519 (EdDSA) over that digest.
import { constants, createHash, publicDecrypt, verify } from 'node:crypto';
import { hashAlgorithm, type HashAlgorithm } from './algorithms.js';
import type { KeyPacket } from './key-packet.js';
import { signatureTrailer, type SignaturePacket } from './signature-packet.js';

/** Hashes the signed bytes followed by the signature's hashed part and trailer. */
export function signatureDigest(sig: SignaturePacket, signed: Iterable<Uint8Array>, context: string): { digest: Buffer; hash: HashAlgorithm } {
  const hash = hashAlgorithm(sig.hashAlgorithm, context);
  const h = createHash(hash.node);
  for (const chunk of signed) h.update(chunk);
  h.update(sig.hashedPart);
  h.update(signatureTrailer(sig));
  return { digest: h.digest(), hash };
}

/** True when the digest's first two bytes are the ones the signature carries (a cheap pre-check). */
export function left16Matches(sig: SignaturePacket, digest: Buffer): boolean {
  return digest[0] === sig.left16[0] && digest[1] === sig.left16[1];
}

/** Does the key's algorithm match the one the signature says it was made with? */
export function algorithmsMatch(sig: SignaturePacket, key: KeyPacket): boolean {
  const family = (a: number): number => (a === 3 ? 1 : a);
  return family(sig.publicKeyAlgorithm) === family(key.algorithm);
}

/** The cryptographic verification of `digest` with `key`. */
export function verifyDigest(sig: SignaturePacket, key: KeyPacket, digest: Buffer, hash: HashAlgorithm): boolean {
  if (!key.verifier || !algorithmsMatch(sig, key)) return false;
  if (key.algorithm === 1 || key.algorithm === 3) {
    const size = (key.bits + 7) >> 3;
    let s = sig.values[0]!;
    while (s.length > 0 && s[0] === 0) s = s.subarray(1);
    if (s.length > size) return false;
    const padded = Buffer.alloc(size);
    s.copy(padded, size - s.length);
    let recovered: Buffer;
    try {
      recovered = publicDecrypt({ key: key.verifier, padding: constants.RSA_PKCS1_PADDING }, padded);
    } catch {
      return false; // not PKCS#1 v1.5 type 1 padding: a wrong key or a forged signature
    }
    return recovered.equals(Buffer.concat([hash.digestInfo, digest]));
  }
  let raw: Buffer;
  if (key.algorithm === 22) {
    const [r, s] = sig.values as [Buffer, Buffer];
    if (r.length > 32 || s.length > 32) return false;
    raw = Buffer.alloc(64);
    r.copy(raw, 32 - r.length);
    s.copy(raw, 64 - s.length);
  } else {
    raw = sig.values[0]!;
  }
  return verify(null, digest, key.verifier, raw);
}

/** Text signatures (type 0x01) hash the data with every line ending as CR LF (RFC 4880 5.2.1). */
export function* canonicalText(chunks: Iterable<Uint8Array>): Generator<Uint8Array> {
  let previous = -1;
  for (const chunk of chunks) {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 0x0a && (i > 0 ? chunk[i - 1] : previous) !== 0x0d) {
        if (i > start) yield chunk.subarray(start, i);
        yield CRLF;
        start = i + 1;
      }
    }
    if (start < chunk.length) yield chunk.subarray(start);
    if (chunk.length > 0) previous = chunk[chunk.length - 1]!;
  }
}

const CRLF = Buffer.from('\r\n');
