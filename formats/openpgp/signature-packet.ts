// Signature packets (tag 2). Only v4 is verified (RFC 4880 5.2.3); v3 (whose unhashed metadata
// lets an attacker pick the key id and time) and v5/v6 are refused by version.
import { PgpError } from './errors.js';
import { BodyReader } from './packets.js';
import { readSubpackets, SUBPACKET, unknownCriticalSubpacket, type Subpacket } from './subpackets.js';

export const SIG_TYPE = {
  binary: 0x00,
  text: 0x01,
  certGeneric: 0x10,
  certPositive: 0x13,
  subkeyBinding: 0x18,
  primaryKeyBinding: 0x19,
  directKey: 0x1f,
  keyRevocation: 0x20,
  subkeyRevocation: 0x28,
  certRevocation: 0x30,
} as const;

export interface SignaturePacket {
  version: 4;
  type: number;
  publicKeyAlgorithm: number;
  hashAlgorithm: number;
  /** Version byte through the hashed subpackets: hashed, then its length in the trailer. */
  hashedPart: Buffer;
  /** The first two bytes of the digest, as the signer saw them. */
  left16: Buffer;
  /** RSA: [s]; EdDSA (22): [r, s]; Ed25519 (27): [the 64 raw bytes]. */
  values: Buffer[];
  subpackets: Subpacket[];
  /** From the hashed area only: unhashed values are not covered by the signature. */
  created?: Date;
  keyExpirationSeconds?: number;
  keyFlags?: number;
  revocationReason?: number;
  /** Issuer key id (16 upper-case hex digits) from subpacket 16, hashed or not. */
  issuerKeyId?: string;
  /** Issuer v4 fingerprint (40 upper-case hex digits) from subpacket 33, hashed or not. */
  issuerFingerprint?: string;
  /** Body of an embedded signature (subpacket 32): a subkey's primary-key binding. */
  embedded?: Buffer;
  /** An unknown subpacket type flagged critical: the signature must not be used. */
  unknownCritical?: number;
}

/** Parses a signature packet body. `what` names it in messages (file, position). */
export function parseSignaturePacket(body: Buffer, what: string): SignaturePacket {
  const r = new BodyReader(body, what);
  const version = r.u8();
  if (version === 3 || version === 2) {
    let by = '';
    if (r.remaining >= 14 && r.u8() === 5) {
      r.u8(); // type
      r.u32(); // creation time
      by = ` by key ${r.bytes(8).toString('hex').toUpperCase()}`;
    }
    throw new PgpError(`${what} is a v3 signature packet${by}; v3 signature packets are refused (their key id and time are not covered by the signature)`, 'unsupported-version');
  }
  if (version !== 4) {
    throw new PgpError(`${what} is a v${version} signature packet; only v4 signatures are supported`, 'unsupported-version');
  }
  const type = r.u8();
  const publicKeyAlgorithm = r.u8();
  const hashAlgorithm = r.u8();
  const hashedLength = r.u16();
  const hashedArea = r.bytes(hashedLength);
  const hashedPart = body.subarray(0, r.pos);
  const unhashedArea = r.bytes(r.u16());
  const left16 = r.bytes(2);
  const values: Buffer[] = [];
  if (publicKeyAlgorithm === 1 || publicKeyAlgorithm === 3) values.push(r.mpi().value);
  else if (publicKeyAlgorithm === 22) values.push(r.mpi().value, r.mpi().value);
  else if (publicKeyAlgorithm === 27) values.push(r.bytes(64));
  else values.push(r.bytes(r.remaining));
  const subpackets = [...readSubpackets(hashedArea, true, what), ...readSubpackets(unhashedArea, false, what)];
  const sig: SignaturePacket = { version: 4, type, publicKeyAlgorithm, hashAlgorithm, hashedPart, left16, values, subpackets };
  for (const sp of subpackets) {
    const d = sp.data;
    switch (sp.type) {
      case SUBPACKET.creationTime:
        if (sp.hashed && d.length === 4) sig.created ??= new Date(d.readUInt32BE(0) * 1000);
        break;
      case SUBPACKET.keyExpiration:
        if (sp.hashed && d.length === 4) sig.keyExpirationSeconds ??= d.readUInt32BE(0);
        break;
      case SUBPACKET.keyFlags:
        if (sp.hashed && d.length >= 1) sig.keyFlags ??= d[0]!;
        break;
      case SUBPACKET.revocationReason:
        if (sp.hashed && d.length >= 1) sig.revocationReason ??= d[0]!;
        break;
      case SUBPACKET.issuerKeyId:
        if (d.length === 8) sig.issuerKeyId ??= d.toString('hex').toUpperCase();
        break;
      case SUBPACKET.issuerFingerprint:
        if (d.length === 21 && d[0] === 4) sig.issuerFingerprint ??= d.subarray(1).toString('hex').toUpperCase();
        break;
      case SUBPACKET.embeddedSignature:
        sig.embedded ??= d;
        break;
    }
  }
  sig.unknownCritical = unknownCriticalSubpacket(subpackets);
  return sig;
}

/** RFC 4880 5.2.4: what follows the signed data in the hash (the hashed part, then its trailer). */
export function signatureTrailer(sig: SignaturePacket): Buffer {
  const trailer = Buffer.alloc(6);
  trailer[0] = 0x04;
  trailer[1] = 0xff;
  trailer.writeUInt32BE(sig.hashedPart.length, 2);
  return trailer;
}
