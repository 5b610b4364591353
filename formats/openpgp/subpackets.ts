// Signature subpackets (RFC 4880 5.2.3.1, RFC 9580 5.2.3.7): what we read from them, and the
// rule that an unknown subpacket marked critical makes the signature unusable.
import { PgpError } from './errors.js';

export interface Subpacket {
  type: number;
  critical: boolean;
  data: Buffer;
  hashed: boolean;
}

/** Subpacket types we understand (or may safely ignore even when critical). */
const KNOWN = new Set([2, 3, 4, 5, 7, 9, 11, 12, 16, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 39]);

export const SUBPACKET = {
  creationTime: 2,
  signatureExpiration: 3,
  keyExpiration: 9,
  issuerKeyId: 16,
  primaryUserId: 25,
  keyFlags: 27,
  revocationReason: 29,
  embeddedSignature: 32,
  issuerFingerprint: 33,
} as const;

export function readSubpackets(area: Buffer, hashed: boolean, what: string): Subpacket[] {
  const out: Subpacket[] = [];
  let pos = 0;
  while (pos < area.length) {
    const o1 = area[pos++]!;
    let len: number;
    if (o1 < 192) len = o1;
    else if (o1 < 255) {
      if (pos >= area.length) throw truncated(what);
      len = ((o1 - 192) << 8) + area[pos++]! + 192;
    } else {
      if (pos + 4 > area.length) throw truncated(what);
      len = area.readUInt32BE(pos);
      pos += 4;
    }
    if (len === 0 || pos + len > area.length) throw truncated(what);
    const typeByte = area[pos]!;
    out.push({ type: typeByte & 0x7f, critical: (typeByte & 0x80) !== 0, data: area.subarray(pos + 1, pos + len), hashed });
    pos += len;
  }
  return out;
}

function truncated(what: string): PgpError {
  return new PgpError(`${what} has a truncated subpacket area`, 'malformed');
}

/** The first critical subpacket we do not understand, if any (such a signature must be rejected). */
export function unknownCriticalSubpacket(subpackets: Subpacket[]): number | undefined {
  return subpackets.find((s) => s.hashed && s.critical && !KNOWN.has(s.type))?.type;
}
