// Minimal DER (ASN.1 Distinguished Encoding Rules) writer and reader: enough for Authenticode
// signatures (PKCS#7 SignedData) and for picking fields out of X.509 certificates.
// DER has exactly one encoding per value, which is what makes signatures byte-reproducible.

export class Asn1Error extends Error {
  override name = 'Asn1Error';
}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV: a single-byte tag (all tags we use are low-numbered) and its content. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export function sequence(...items: Uint8Array[]): Buffer {
  return tlv(TAG.SEQUENCE, Buffer.concat(items));
}

/** Sorts DER encodings as DER requires for SET OF: bytewise, a shorter prefix first. */
export function sortDer(items: Uint8Array[]): Buffer[] {
  return items.map((item) => Buffer.from(item)).sort(Buffer.compare);
}

/** SET OF with its elements in DER order (OpenSSL re-sorts when it verifies a signature). */
export function setOf(...items: Uint8Array[]): Buffer {
  return tlv(TAG.SET, Buffer.concat(sortDer(items)));
}

/** `[n] EXPLICIT`: a constructed context tag around one complete encoding. */
export function explicit(n: number, item: Uint8Array): Buffer {
  return tlv(0xa0 | n, item);
}

/** `[n] IMPLICIT` over a value's content octets (constructed or primitive). */
export function implicit(n: number, content: Uint8Array, constructed: boolean): Buffer {
  return tlv((constructed ? 0xa0 : 0x80) | n, content);
}

export function nullValue(): Buffer {
  return Buffer.from([TAG.NULL, 0]);
}

export function octetString(bytes: Uint8Array): Buffer {
  return tlv(TAG.OCTET_STRING, bytes);
}

export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  return tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

/** A non-negative INTEGER (shortest two's-complement form). */
export function integer(value: number | bigint): Buffer {
  let n = BigInt(value);
  if (n < 0n) throw new Asn1Error(`negative INTEGER ${n} is not supported`);
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  } while (n > 0n);
  if (bytes[0] & 0x80) bytes.unshift(0);
  return tlv(TAG.INTEGER, Buffer.from(bytes));
}

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((part) => {
    if (!/^\d+$/.test(part)) throw new Asn1Error(`bad OBJECT IDENTIFIER '${dotted}'`);
    return BigInt(part);
  });
  if (arcs.length < 2) throw new Asn1Error(`OBJECT IDENTIFIER '${dotted}' needs at least two arcs`);
  const out: number[] = [];
  const values = [arcs[0] * 40n + arcs[1], ...arcs.slice(2)];
  for (const value of values) {
    const group: number[] = [Number(value & 0x7fn)];
    for (let rest = value >> 7n; rest > 0n; rest >>= 7n) group.unshift(Number(rest & 0x7fn) | 0x80);
    out.push(...group);
  }
  return tlv(TAG.OID, Buffer.from(out));
}

/** BMPString content: UTF-16 big-endian code units. */
export function bmpStringContent(text: string): Buffer {
  const le = Buffer.from(text, 'utf16le');
  for (let i = 0; i < le.length; i += 2) le.writeUInt16BE(le.readUInt16LE(i), i);
  return le;
}

/** RFC 5652 Time: UTCTime for 1950-2049, GeneralizedTime otherwise; seconds precision, UTC. */
export function time(date: Date): Buffer {
  if (Number.isNaN(date.getTime())) throw new Asn1Error('invalid date for an ASN.1 time');
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(TAG.UTC_TIME, Buffer.from(digits.slice(2) + 'Z', 'ascii'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(digits + 'Z', 'ascii'));
}

/** A decoded TLV: where its header and content sit inside the buffer it was read from. */
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

/** Reads the TLV at `offset` (definite lengths only, as DER requires). */
export function readTlv(buf: Uint8Array, offset: number, what = 'DER data'): Tlv {
  if (offset + 2 > buf.length) throw new Asn1Error(`${what}: truncated at offset ${offset}`);
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new Asn1Error(`${what}: multi-byte tag at offset ${offset} is not supported`);
  let pos = offset + 1;
  const first = buf[pos++];
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new Asn1Error(`${what}: unsupported length form at offset ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos++];
  }
  const end = pos + length;
  if (end > buf.length) throw new Asn1Error(`${what}: value at offset ${offset} runs past the end of the data`);
  return { tag, start: offset, contentStart: pos, end };
}

/** The TLVs directly inside a constructed TLV. */
export function children(buf: Uint8Array, parent: Tlv, what = 'DER data'): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = parent.contentStart; pos < parent.end; ) {
    const child = readTlv(buf, pos, what);
    if (child.end > parent.end) throw new Asn1Error(`${what}: value at offset ${pos} overruns its parent`);
    out.push(child);
    pos = child.end;
  }
  return out;
}

/** The complete encoding (header + content) of a decoded TLV. */
export function encodingOf(buf: Uint8Array, node: Tlv): Buffer {
  return Buffer.from(buf.subarray(node.start, node.end));
}

/** The content octets of a decoded TLV (Authenticode hashes these for SpcIndirectDataContent). */
export function contentOf(buf: Uint8Array, node: Tlv): Buffer {
  return Buffer.from(buf.subarray(node.contentStart, node.end));
}
