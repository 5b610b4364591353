// Public-key and public-subkey packets (tags 6 and 14). v4 is what we verify with (RFC 4880 5.5.2);
// v3, v5 and v6 keys are recognised well enough to be named (key id, fingerprint) and refused.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { publicKeyAlgorithmLabel, publicKeyAlgorithmName } from './algorithms.js';
import { PgpError } from './errors.js';
import { BodyReader } from './packets.js';

const ED25519_OID = '2b06010401da470f01';
const CURVE_NAMES: Record<string, string> = {
  [ED25519_OID]: 'Ed25519',
  '2a8648ce3d030107': 'NIST P-256',
  '2b81040022': 'NIST P-384',
  '2b81040023': 'NIST P-521',
  '2b060104019755010501': 'Curve25519',
  '2b2403030208010107': 'brainpoolP256r1',
  '2b240303020801010b': 'brainpoolP384r1',
  '2b240303020801010d': 'brainpoolP512r1',
};

/** RSA below this is refused: 1024-bit moduli are within reach of a well-funded attacker. */
export const MIN_RSA_BITS = 2048;

export interface KeyPacket {
  version: number;
  /** Public-key algorithm number. */
  algorithm: number;
  created: Date;
  /** Upper-case hex; v4: SHA-1, v5/v6: SHA-256; '' for v3. */
  fingerprint: string;
  /** Upper-case hex, 16 digits. */
  keyId: string;
  /** RSA modulus bits, 256 for Ed25519, 0 when unknown. */
  bits: number;
  /** The packet body, as the signatures over this key hash it. */
  body: Buffer;
  /** The key node:crypto verifies with; absent when `problem` says why it cannot. */
  verifier?: KeyObject;
  /** Why this key cannot verify anything (an unsupported version or algorithm, a weak key). */
  problem?: PgpError;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
const base64url = (b: Buffer): string => b.toString('base64url');
const stripZeros = (b: Buffer): Buffer => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
};

export function parseKeyPacket(body: Buffer, what: string): KeyPacket {
  const r = new BodyReader(body, what);
  const version = r.u8();
  if (version === 4) return parseV4(body, r, what);
  if (version === 5 || version === 6) {
    const created = new Date(r.u32() * 1000);
    const algorithm = r.u8();
    const framed = Buffer.alloc(5);
    framed[0] = version === 6 ? 0x9b : 0x9a;
    framed.writeUInt32BE(body.length, 1);
    const digest = createHash('sha256').update(framed).update(body).digest();
    const fingerprint = hex(digest);
    const keyId = fingerprint.slice(0, 16); // v5 and v6 key ids are the fingerprint's first 8 bytes
    return {
      version,
      algorithm,
      created,
      fingerprint,
      keyId,
      bits: 0,
      body,
      problem: new PgpError(`${what} ${keyId} is a v${version} key (${publicKeyAlgorithmName(algorithm)}); only v4 keys are supported`, 'unsupported-version'),
    };
  }
  if (version === 2 || version === 3) {
    const created = new Date(r.u32() * 1000);
    r.u16(); // validity days
    const algorithm = r.u8();
    let keyId = '';
    let bits = 0;
    if (algorithm >= 1 && algorithm <= 3) {
      const n = r.mpi();
      bits = n.bits;
      keyId = hex(n.value.subarray(Math.max(0, n.value.length - 8)));
    }
    return {
      version,
      algorithm,
      created,
      fingerprint: '',
      keyId,
      bits,
      body,
      problem: new PgpError(`${what} ${keyId || '(no key id)'} is a v${version} key; v3 keys are refused (their key ids can be forged)`, 'unsupported-version'),
    };
  }
  throw new PgpError(`${what} has unknown version ${version}`, 'unsupported-version');
}

function parseV4(body: Buffer, r: BodyReader, what: string): KeyPacket {
  const created = new Date(r.u32() * 1000);
  const algorithm = r.u8();
  if (body.length > 0xffff) throw new PgpError(`${what} is too long for a v4 key (${body.length} bytes)`, 'malformed');
  const framed = Buffer.from([0x99, body.length >> 8, body.length & 0xff]);
  const fingerprint = hex(createHash('sha1').update(framed).update(body).digest());
  const keyId = fingerprint.slice(-16);
  const key: KeyPacket = { version: 4, algorithm, created, fingerprint, keyId, bits: 0, body };
  const label = `${what} ${keyId}`;
  try {
    switch (algorithm) {
      case 1:
      case 2:
      case 3: {
        const n = r.mpi();
        const e = r.mpi();
        key.bits = n.bits;
        if (algorithm === 2) {
          key.problem = new PgpError(`${label} is an encrypt-only RSA key (algorithm 2) and cannot sign`, 'unsupported-algorithm');
        } else if (n.bits < MIN_RSA_BITS) {
          key.problem = new PgpError(`${label} is RSA with a ${n.bits}-bit modulus; at least ${MIN_RSA_BITS} bits are required`, 'unsupported-algorithm');
        } else {
          key.verifier = createPublicKey({ key: { kty: 'RSA', n: base64url(stripZeros(n.value)), e: base64url(stripZeros(e.value)) }, format: 'jwk' });
        }
        break;
      }
      case 22: {
        const oid = r.bytes(r.u8()).toString('hex');
        const point = r.mpi().value;
        if (oid !== ED25519_OID) {
          key.problem = new PgpError(`${label} is EdDSA (22) on curve ${CURVE_NAMES[oid] ?? `OID ${oid.toUpperCase()}`}; only Ed25519 is supported`, 'unsupported-algorithm');
          break;
        }
        if (point.length !== 33 || point[0] !== 0x40) throw new PgpError(`${label}: an Ed25519 point must be 0x40 followed by 32 bytes`, 'malformed');
        key.bits = 256;
        key.verifier = ed25519Key(point.subarray(1));
        break;
      }
      case 27: {
        key.bits = 256;
        key.verifier = ed25519Key(r.bytes(32));
        break;
      }
      default: {
        let curve = '';
        if (algorithm === 18 || algorithm === 19) {
          const oid = r.bytes(r.u8()).toString('hex');
          curve = ` on ${CURVE_NAMES[oid] ?? `curve OID ${oid.toUpperCase()}`}`;
        }
        key.problem = new PgpError(`${label} uses ${publicKeyAlgorithmName(algorithm)}${curve}, which is not supported (RSA, EdDSA and Ed25519 are)`, 'unsupported-algorithm');
      }
    }
  } catch (err) {
    if (err instanceof PgpError) throw err;
    throw new PgpError(`${label}: ${publicKeyAlgorithmLabel(algorithm)} key material is invalid (${(err as Error).message})`, 'malformed');
  }
  return key;
}

function ed25519Key(x: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: base64url(x) }, format: 'jwk' });
}

/** The framing a v4 key gets inside signature hashes (RFC 4880 5.2.4): 0x99, BE16 length, body. */
export function keyHashPrefix(key: KeyPacket): Buffer {
  return Buffer.from([0x99, key.body.length >> 8, key.body.length & 0xff]);
}
