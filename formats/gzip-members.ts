// Concatenated gzip streams, member by member, with each member's compressed byte range.
// APK signatures are taken over compressed bytes: a package's signature covers its 2nd member
// (the control segment), an APKINDEX's covers everything from its 2nd member to EOF. So we must
// know exactly where each member starts and ends, which zlib's multi-member gunzip hides.
// Every decode is bounded: a few KiB of deflate data can expand a thousandfold (a decompression
// bomb), and these members are decoded in memory.
import { open } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';

/** Where one gzip member sits in the stream. */
export interface GzipMember {
  /** Offset of the member's first byte (the 1f 8b magic). */
  start: number;
  /** Offset just past the member's 8-byte trailer. */
  end: number;
  /** Offset where the deflate data begins (after the gzip header). */
  deflateStart: number;
  /** Length of the decompressed data (checked against the trailer's ISIZE, mod 2^32). */
  uncompressedSize: number;
}

export interface DecodedGzipMember extends GzipMember {
  data: Buffer;
}

/** Not gzip, or a corrupt member (bad header, bad deflate data, CRC or size mismatch). */
export class GzipFormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'GzipFormatError';
  }
}

/** The members decompress to more than the caller allows (a decompression bomb, or just too big). */
export class GzipSizeLimitError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    /** The limit, in decompressed bytes, that was passed. */
    readonly limit: number,
  ) {
    super(message);
    this.name = 'GzipSizeLimitError';
  }
}

/** What an in-memory decode may produce when the caller names no limit. */
export const DEFAULT_MAX_UNPACKED_BYTES = 64 << 20;

/** The bytes end in the middle of a member. */
export class GzipTruncatedError extends GzipFormatError {
  constructor(message: string, offset: number) {
    super(message, offset);
    this.name = 'GzipTruncatedError';
  }
}

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

/**
 * Decodes the member that starts at `offset`. Throws GzipTruncatedError when `buf` ends inside
 * it (read more and retry, or report truncation if `buf` was the whole input), and
 * GzipSizeLimitError when it decompresses to more than `maxUnpackedBytes`.
 */
export function decodeGzipMember(
  buf: Buffer,
  offset: number,
  label = 'gzip stream',
  maxUnpackedBytes = DEFAULT_MAX_UNPACKED_BYTES,
): DecodedGzipMember {
  const deflateStart = parseGzipHeader(buf, offset, label);
  let inflated: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    // zlib stops inflating once the output would pass maxOutputLength: the bomb never lands in memory.
    const options = { info: true, maxOutputLength: Math.max(1, maxUnpackedBytes) };
    inflated = inflateRawSync(buf.subarray(deflateStart), options) as unknown as typeof inflated;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw sizeLimit(label, offset, maxUnpackedBytes);
    if (code === 'Z_BUF_ERROR') {
      throw new GzipTruncatedError(`${label}: data ends inside the gzip member at byte ${offset}`, offset);
    }
    throw new GzipFormatError(
      `${label}: corrupt deflate data in the gzip member at byte ${offset}: ${(err as Error).message}`,
      offset,
    );
  }
  const trailer = deflateStart + inflated.engine.bytesWritten;
  if (trailer + 8 > buf.length) {
    throw new GzipTruncatedError(`${label}: data ends inside the trailer of the gzip member at byte ${offset}`, offset);
  }
  const data = inflated.buffer;
  if (data.length > maxUnpackedBytes) throw sizeLimit(label, offset, maxUnpackedBytes);
  const crc = buf.readUInt32LE(trailer);
  const isize = buf.readUInt32LE(trailer + 4);
  if (crc32(data) !== crc) throw new GzipFormatError(`${label}: CRC mismatch in the gzip member at byte ${offset}`, offset);
  if (data.length % 2 ** 32 !== isize) {
    throw new GzipFormatError(`${label}: size mismatch in the gzip member at byte ${offset}`, offset);
  }
  return { start: offset, end: trailer + 8, deflateStart, uncompressedSize: data.length, data };
}

function sizeLimit(label: string, offset: number, limit: number): GzipSizeLimitError {
  return new GzipSizeLimitError(`${label}: unpacks to more than ${limit} bytes (gzip member at byte ${offset})`, offset, limit);
}

/** Decodes one member within what is left of a limit shared by several members. */
function decodeWithin(buf: Buffer, offset: number, label: string, limit: number, used: number): DecodedGzipMember {
  try {
    return decodeGzipMember(buf, offset, label, limit - used);
  } catch (err) {
    if (err instanceof GzipSizeLimitError) throw sizeLimit(label, offset, limit);
    throw err;
  }
}

/**
 * Every member of an in-memory gzip stream, decoded. The buffer must hold the whole stream;
 * together the members may decompress to `maxUnpackedBytes`. `from`: the offset of the first
 * member to decode (the members before it are left alone).
 */
export function splitGzipMembers(
  buf: Buffer,
  label = 'gzip stream',
  maxUnpackedBytes = DEFAULT_MAX_UNPACKED_BYTES,
  from = 0,
): DecodedGzipMember[] {
  if (buf.length === 0) throw new GzipFormatError(`${label}: empty input, expected gzip data`, 0);
  const members: DecodedGzipMember[] = [];
  let offset = from;
  let used = 0;
  while (offset < buf.length) {
    const member = decodeWithin(buf, offset, label, maxUnpackedBytes, used);
    members.push(member);
    used += member.uncompressedSize;
    offset = member.end;
  }
  return members;
}

/**
 * Decodes the first `count` members of a gzip file without reading the rest (an .apk's
 * signature and control members are a few KiB; its data member may be 100 MB). `head` holds
 * the file's bytes up to the end of the last member returned (signatures are over those bytes).
 * `maxBytes` bounds the compressed bytes read, `maxUnpackedBytes` what the members decompress to.
 */
export async function readLeadingGzipMembers(
  path: string,
  count: number,
  options: { label?: string; maxBytes?: number; maxUnpackedBytes?: number } = {},
): Promise<{ members: DecodedGzipMember[]; fileSize: number; head: Buffer }> {
  const label = options.label ?? path;
  const maxBytes = options.maxBytes ?? 64 << 20;
  const maxUnpacked = options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  const handle = await open(path, 'r');
  try {
    const fileSize = (await handle.stat()).size;
    let length = Math.min(fileSize, 256 << 10);
    for (;;) {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buf, 0, length, 0);
      const head = buf.subarray(0, bytesRead);
      try {
        const members: DecodedGzipMember[] = [];
        let offset = 0;
        let used = 0;
        while (members.length < count) {
          if (offset >= head.length) {
            if (head.length < fileSize) throw new GzipTruncatedError('need more', offset);
            throw new GzipFormatError(
              `${label}: has ${members.length} gzip member(s), expected at least ${count}`,
              offset,
            );
          }
          const member = decodeWithin(head, offset, label, maxUnpacked, used);
          members.push(member);
          used += member.uncompressedSize;
          offset = member.end;
        }
        return { members, fileSize, head: head.subarray(0, offset) };
      } catch (err) {
        if (!(err instanceof GzipTruncatedError) || head.length >= fileSize) throw err;
        if (length >= maxBytes) {
          throw new GzipFormatError(`${label}: the first ${count} gzip members exceed ${maxBytes} bytes`, 0);
        }
        length = Math.min(fileSize, length * 4, maxBytes);
      }
    }
  } finally {
    await handle.close();
  }
}

/** Offset of the deflate data after the member header at `offset`. */
export function parseGzipHeader(buf: Buffer, offset: number, label = 'gzip stream'): number {
  const truncated = (): never => {
    throw new GzipTruncatedError(`${label}: data ends inside a gzip header at byte ${offset}`, offset);
  };
  if (buf.length - offset < 10) {
    if (buf.length - offset >= 2 && (buf[offset] !== 0x1f || buf[offset + 1] !== 0x8b)) notGzip();
    truncated();
  }
  if (buf[offset] !== 0x1f || buf[offset + 1] !== 0x8b) notGzip();
  if (buf[offset + 2] !== 8) {
    throw new GzipFormatError(`${label}: unknown compression method ${buf[offset + 2]} at byte ${offset}`, offset);
  }
  const flags = buf[offset + 3];
  if (flags & 0xe0) throw new GzipFormatError(`${label}: reserved gzip flags set at byte ${offset}`, offset);
  let pos = offset + 10;
  if (flags & FEXTRA) {
    if (pos + 2 > buf.length) truncated();
    pos += 2 + buf.readUInt16LE(pos);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag) {
      const nul = buf.indexOf(0, pos);
      if (nul < 0) truncated();
      pos = nul + 1;
    }
  }
  if (flags & FHCRC) pos += 2;
  if (pos > buf.length) truncated();
  return pos;

  function notGzip(): never {
    throw new GzipFormatError(`${label}: not gzip data at byte ${offset} (bad magic)`, offset);
  }
}

let crcTable: Int32Array | undefined;

/** CRC-32 (IEEE, as gzip uses). node:zlib gains crc32() only in Node 22. */
export function crc32(data: Uint8Array): number {
  const table = (crcTable ??= makeCrcTable());
  let crc = -1;
  for (let i = 0; i < data.length; i++) crc = (crc >>> 8) ^ table[(crc ^ data[i]) & 0xff];
  return (crc ^ -1) >>> 0;
}

function makeCrcTable(): Int32Array {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
}
