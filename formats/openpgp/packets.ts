// OpenPGP packet framing (RFC 4880 section 4.2): old- and new-format headers. Keys and signatures
// never use partial body lengths; only the data-carrying packets may (RFC 4880 4.2.2.4).
import { PgpError } from './errors.js';

export const TAG = {
  signature: 2,
  secretKey: 5,
  publicKey: 6,
  secretSubkey: 7,
  marker: 10,
  trust: 12,
  userId: 13,
  publicSubkey: 14,
  userAttribute: 17,
} as const;

/** Packets whose body may arrive in partial-length chunks. */
const PARTIAL_ALLOWED = new Set([8, 9, 11, 18, 20]);

export interface Packet {
  tag: number;
  body: Buffer;
  /** Offset of the packet header in the input, for messages. */
  offset: number;
}

/** Splits binary OpenPGP data into packets. Throws 'malformed' on anything that does not frame. */
export function readPackets(data: Buffer, source: string): Packet[] {
  const packets: Packet[] = [];
  let pos = 0;
  const need = (n: number, offset: number, what: string): void => {
    if (pos + n > data.length) throw new PgpError(`${source}: truncated packet at offset ${offset} (${what} runs past the end of the data)`, 'malformed');
  };
  while (pos < data.length) {
    const offset = pos;
    const ctb = data[pos++]!;
    if ((ctb & 0x80) === 0) throw new PgpError(`${source}: not an OpenPGP packet at offset ${offset} (byte 0x${ctb.toString(16).padStart(2, '0')})`, 'malformed');
    let tag: number;
    let body: Buffer;
    if (ctb & 0x40) {
      tag = ctb & 0x3f;
      const chunks: Buffer[] = [];
      for (;;) {
        need(1, offset, 'the length');
        const o1 = data[pos++]!;
        let len: number;
        let partial = false;
        if (o1 < 192) len = o1;
        else if (o1 < 224) {
          need(1, offset, 'the length');
          len = ((o1 - 192) << 8) + data[pos++]! + 192;
        } else if (o1 === 255) {
          need(4, offset, 'the length');
          len = data.readUInt32BE(pos);
          pos += 4;
        } else {
          if (!PARTIAL_ALLOWED.has(tag)) throw new PgpError(`${source}: packet with tag ${tag} at offset ${offset} uses a partial body length, which only data packets may`, 'malformed');
          len = 1 << (o1 & 0x1f);
          partial = true;
        }
        need(len, offset, `a body of ${len} bytes`);
        chunks.push(data.subarray(pos, pos + len));
        pos += len;
        if (!partial) break;
      }
      body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    } else {
      tag = (ctb >> 2) & 0x0f;
      const lengthType = ctb & 3;
      let len: number;
      if (lengthType === 3) {
        len = data.length - pos; // indeterminate: the packet runs to the end of the data
      } else {
        const size = 1 << lengthType;
        need(size, offset, 'the length');
        len = data.readUIntBE(pos, size);
        pos += size;
      }
      need(len, offset, `a body of ${len} bytes`);
      body = data.subarray(pos, pos + len);
      pos += len;
    }
    packets.push({ tag, body, offset });
  }
  return packets;
}

/** The tag of the packet whose header starts `data` (undefined when it is not a packet header). */
export function firstPacketTag(data: Uint8Array): number | undefined {
  const ctb = data[0];
  if (ctb === undefined || (ctb & 0x80) === 0) return undefined;
  return ctb & 0x40 ? ctb & 0x3f : (ctb >> 2) & 0x0f;
}

/** A bounds-checked reader over one packet body: running off the end is 'malformed'. */
export class BodyReader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly what: string,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new PgpError(`${this.what} is truncated (needs ${n} more bytes at byte ${this.pos} of ${this.buf.length})`, 'malformed');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A multiprecision integer: its bit count, then the bytes (RFC 4880 3.2). */
  mpi(): { bits: number; value: Buffer } {
    const bits = this.u16();
    const value = this.bytes((bits + 7) >> 3);
    return { bits, value };
  }
}
