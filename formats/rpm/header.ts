// RPM v4 headers (the signature header and the main header): an index of 16-byte entries (tag,
// type, offset, count; big-endian) and a data store. Every entry is checked before any is read:
// known type, offset aligned and inside the store, data inside the store, entries in ascending,
// non-overlapping order, strings NUL-terminated. The first entry must be the region tag (62 in the
// signature header, 63 in the main header) whose trailer, the last 16 bytes of the store, covers
// exactly the whole header: a header without one is rpm's v3 format, refused.
import { open, type FileHandle } from 'node:fs/promises';
import { LEAD_SIZE, parseLead, RpmFormatError } from './lead.js';
import { HEADER_IMMUTABLE, HEADER_SIGNATURES, RpmType, TYPE_NAMES, TYPE_SIZE, tagName } from './tags.js';

export const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01]);
export const HEADER_INTRO_SIZE = 16;
export const ENTRY_SIZE = 16;
/** rpm's limits (HEADER_TAGS_MAX, HEADER_DATA_MAX). */
export const MAX_INDEX_ENTRIES = 0xffff;
export const MAX_DATA_BYTES = 0x0fffffff;
const HEADER_IMAGE = 61;

export type HeaderKind = 'signature' | 'main';

export interface HeaderEntry {
  tag: number;
  type: number;
  offset: number;
  count: number;
  /** Bytes of data in the store. */
  length: number;
}

export interface RpmHeader {
  kind: HeaderKind;
  /** The whole header from its magic to the end of its store (what header digests and signatures cover). */
  bytes: Buffer;
  entries: Map<number, HeaderEntry>;
  has(tag: number): boolean;
  string(tag: number): string | undefined;
  /** STRING_ARRAY (and STRING, I18NSTRING as one element). */
  strings(tag: number): string[] | undefined;
  /** The first element of an integer entry. */
  int(tag: number): number | undefined;
  /** INT8/16/32/64 elements, unsigned. */
  ints(tag: number): number[] | undefined;
  bin(tag: number): Buffer | undefined;
}

/** Bytes that the header at the start of `head` occupies, from its 16-byte intro (no padding). */
export function headerLength(intro: Uint8Array, kind: HeaderKind, label: string, offset = 0): { nindex: number; dlen: number; length: number } {
  const buf = Buffer.from(intro.buffer, intro.byteOffset, intro.byteLength);
  if (buf.length < HEADER_INTRO_SIZE) throw new RpmFormatError(`${label}: file ends inside the ${kind} header's intro: truncated`, offset + buf.length);
  if (!buf.subarray(0, 4).equals(HEADER_MAGIC)) {
    throw new RpmFormatError(`${label}: ${kind} header magic ${buf.subarray(0, 4).toString('hex')}, expected 8eade801`, offset);
  }
  const nindex = buf.readUInt32BE(8);
  const dlen = buf.readUInt32BE(12);
  if (nindex < 1 || nindex > MAX_INDEX_ENTRIES) throw new RpmFormatError(`${label}: ${kind} header declares ${nindex} index entries (1..${MAX_INDEX_ENTRIES})`, offset + 8);
  if (dlen > MAX_DATA_BYTES) throw new RpmFormatError(`${label}: ${kind} header declares ${dlen} bytes of data (at most ${MAX_DATA_BYTES})`, offset + 12);
  return { nindex, dlen, length: HEADER_INTRO_SIZE + nindex * ENTRY_SIZE + dlen };
}

/**
 * How many bytes a package's head (lead, signature header and its padding, main header) takes,
 * from its first bytes; undefined while `prefix` is too short to tell. For reading a header
 * without its payload (the lock reads scriptlets that way).
 */
export function rpmHeadLength(prefix: Uint8Array, label = 'rpm'): number | undefined {
  const buf = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (buf.length < LEAD_SIZE + HEADER_INTRO_SIZE) return undefined;
  const signature = headerLength(buf.subarray(LEAD_SIZE), 'signature', label, LEAD_SIZE).length;
  const mainOffset = LEAD_SIZE + Math.ceil(signature / 8) * 8;
  if (buf.length < mainOffset + HEADER_INTRO_SIZE) return undefined;
  return mainOffset + headerLength(buf.subarray(mainOffset), 'main', label, mainOffset).length;
}

/** Parses and checks one header held whole in `bytes` (exactly its length). */
export function parseHeader(bytes: Buffer, kind: HeaderKind, label = 'rpm', fileOffset = 0): RpmHeader {
  const { nindex, dlen, length } = headerLength(bytes, kind, label, fileOffset);
  if (bytes.length < length) throw new RpmFormatError(`${label}: file ends inside the ${kind} header (${bytes.length} of ${length} bytes): truncated`, fileOffset + bytes.length);
  const storeStart = HEADER_INTRO_SIZE + nindex * ENTRY_SIZE;
  const store = bytes.subarray(storeStart, storeStart + dlen);
  const fail = (message: string, index?: number): never => {
    const at = index === undefined ? fileOffset : fileOffset + HEADER_INTRO_SIZE + index * ENTRY_SIZE;
    throw new RpmFormatError(`${label}: ${kind} header: ${message}`, at);
  };
  const raw = (i: number): { tag: number; type: number; offset: number; count: number } => {
    const at = HEADER_INTRO_SIZE + i * ENTRY_SIZE;
    return { tag: bytes.readInt32BE(at), type: bytes.readUInt32BE(at + 4), offset: bytes.readInt32BE(at + 8), count: bytes.readUInt32BE(at + 12) };
  };

  const regionTag = kind === 'signature' ? HEADER_SIGNATURES : HEADER_IMMUTABLE;
  const first = raw(0);
  if (first.tag !== regionTag) {
    fail(`no ${tagName(regionTag, kind)} region (first tag is ${first.tag}): an RPM v3 header, not supported (rebuild the package with rpm >= 4)`, 0);
  }
  if (first.type !== RpmType.BIN || first.count !== 16) fail(`region tag has type ${first.type} and count ${first.count}, expected BIN and 16`, 0);
  // The main header's region is the whole header. rpm reads the signature header less strictly
  // (rpmsign adds entries after its region: IMA file signatures, say), so there the region only
  // has to fit.
  const exact = kind === 'main';
  if (first.offset < 0 || first.offset + 16 > dlen || (exact && first.offset + 16 !== dlen)) {
    fail(`region trailer at offset ${first.offset} is not ${exact ? 'the last 16 bytes' : 'inside'} of the ${dlen}-byte store`, 0);
  }
  const trailer = {
    tag: store.readInt32BE(first.offset),
    type: store.readUInt32BE(first.offset + 4),
    offset: store.readInt32BE(first.offset + 8),
    count: store.readUInt32BE(first.offset + 12),
  };
  // Old packages put HEADERIMAGE in the signature region's trailer; rpm accepts it.
  const trailerTag = kind === 'signature' && trailer.tag === HEADER_IMAGE ? HEADER_SIGNATURES : trailer.tag;
  if (trailerTag !== regionTag || trailer.type !== RpmType.BIN || trailer.count !== 16) {
    fail(`region trailer is (tag ${trailer.tag}, type ${trailer.type}, count ${trailer.count}), expected (${regionTag}, BIN, 16)`, 0);
  }
  const regionEntries = -trailer.offset / ENTRY_SIZE;
  if (!Number.isInteger(regionEntries) || regionEntries < 1 || regionEntries > nindex || (exact && regionEntries !== nindex)) {
    fail(`region covers ${regionEntries} of the ${nindex} index entries${exact ? ': every entry must be inside the region' : ''}`, 0);
  }
  const regionEnd = first.offset + 16;

  const entries = new Map<number, HeaderEntry>();
  let end = 0;
  for (let i = 1; i < nindex; i++) {
    const e = raw(i);
    const what = `entry ${i} (${tagName(e.tag, kind)})`;
    if (e.tag === HEADER_SIGNATURES || e.tag === HEADER_IMMUTABLE || e.tag === HEADER_IMAGE) fail(`${what}: a second region tag`, i);
    if (e.type < RpmType.CHAR || e.type > RpmType.I18NSTRING) fail(`${what}: unknown data type ${e.type}`, i);
    if (e.count < 1 || e.count > MAX_DATA_BYTES) fail(`${what}: count ${e.count}`, i);
    if (e.type === RpmType.STRING && e.count !== 1) fail(`${what}: a STRING with count ${e.count}`, i);
    const size = TYPE_SIZE[e.type];
    // Entries of the region hold data before its trailer; entries after it (signature header only), after it.
    const [lo, hi] = i < regionEntries ? [0, first.offset] : [Math.max(end, regionEnd), dlen];
    if (i === regionEntries) end = regionEnd;
    if (e.offset < lo || e.offset >= hi) fail(`${what}: offset ${e.offset} outside its part of the data store (${lo}..${hi})`, i);
    if (size > 1 && e.offset % size !== 0) fail(`${what}: offset ${e.offset} not aligned for ${TYPE_NAMES[e.type]}`, i);
    if (e.offset < end) fail(`${what}: data at ${e.offset} overlaps the previous entry's (ends at ${end})`, i);
    let length: number;
    if (e.type === RpmType.STRING || e.type === RpmType.STRING_ARRAY || e.type === RpmType.I18NSTRING) {
      let at = e.offset;
      for (let n = 0; n < e.count; n++) {
        const nul = store.indexOf(0, at);
        if (nul < 0 || nul >= hi) fail(`${what}: string ${n + 1} of ${e.count} runs past the data store`, i);
        at = nul + 1;
      }
      length = at - e.offset;
    } else {
      length = size * e.count;
      if (e.offset + length > hi) fail(`${what}: ${length} bytes of data at ${e.offset} run past the data store`, i);
    }
    if (entries.has(e.tag)) fail(`${what}: tag appears twice`, i);
    entries.set(e.tag, { ...e, length });
    end = e.offset + length;
  }
  return makeHeader(kind, bytes.subarray(0, length), store, entries, label);
}

function makeHeader(kind: HeaderKind, bytes: Buffer, store: Buffer, entries: Map<number, HeaderEntry>, label: string): RpmHeader {
  const typeError = (tag: number, entry: HeaderEntry, wanted: string): never => {
    throw new RpmFormatError(`${label}: ${kind} header: ${tagName(tag, kind)} has type ${TYPE_NAMES[entry.type]}, expected ${wanted}`);
  };
  const strings = (tag: number): string[] | undefined => {
    const entry = entries.get(tag);
    if (!entry) return undefined;
    if (entry.type !== RpmType.STRING && entry.type !== RpmType.STRING_ARRAY && entry.type !== RpmType.I18NSTRING) typeError(tag, entry, 'a string');
    // I18NSTRING: the first element is the C locale's, the one we use.
    const out = store.subarray(entry.offset, entry.offset + entry.length - 1).toString('utf8').split('\0');
    return entry.type === RpmType.I18NSTRING ? out.slice(0, 1) : out;
  };
  const ints = (tag: number): number[] | undefined => {
    const entry = entries.get(tag);
    if (!entry) return undefined;
    const out: number[] = [];
    const { offset, count } = entry;
    switch (entry.type) {
      case RpmType.CHAR:
      case RpmType.INT8:
        for (let i = 0; i < count; i++) out.push(store[offset + i]);
        break;
      case RpmType.INT16:
        for (let i = 0; i < count; i++) out.push(store.readUInt16BE(offset + 2 * i));
        break;
      case RpmType.INT32:
        for (let i = 0; i < count; i++) out.push(store.readUInt32BE(offset + 4 * i));
        break;
      case RpmType.INT64:
        for (let i = 0; i < count; i++) {
          const value = store.readBigUInt64BE(offset + 8 * i);
          if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RpmFormatError(`${label}: ${kind} header: ${tagName(tag, kind)} value ${value} is too large`);
          out.push(Number(value));
        }
        break;
      default:
        typeError(tag, entry, 'an integer');
    }
    return out;
  };
  return {
    kind,
    bytes,
    entries,
    has: (tag) => entries.has(tag),
    string: (tag) => strings(tag)?.[0],
    strings,
    int: (tag) => ints(tag)?.[0],
    ints,
    bin(tag) {
      const entry = entries.get(tag);
      if (!entry) return undefined;
      if (entry.type !== RpmType.BIN) typeError(tag, entry, 'BIN');
      return store.subarray(entry.offset, entry.offset + entry.count);
    },
  };
}

/** Where the parts of a package lie, and its two headers. */
export interface RpmHead {
  lead: Buffer;
  signature: RpmHeader;
  header: RpmHeader;
  /** File offsets. */
  signatureOffset: number;
  headerOffset: number;
  payloadOffset: number;
  fileSize: number;
}

export interface ReadHeadOptions {
  label?: string;
  /** Refuse a signature header larger than this (default 64 MiB; real ones are a few KiB). */
  maxSignatureBytes?: number;
  /** Refuse a main header larger than this (default 256 MiB, rpm's own limit). */
  maxHeaderBytes?: number;
}

/** Reads the lead and both headers of an .rpm file (not the payload). Throws RpmFormatError. */
export async function readRpmHead(path: string, options: ReadHeadOptions = {}): Promise<RpmHead> {
  const label = options.label ?? path;
  const handle = await open(path, 'r');
  try {
    const { size: fileSize } = await handle.stat();
    const lead = await readExactly(handle, 0, LEAD_SIZE, label, 'lead');
    parseLead(lead, label);
    const signatureOffset = LEAD_SIZE;
    const signature = await readHeaderAt(handle, signatureOffset, 'signature', label, options.maxSignatureBytes ?? 64 << 20);
    const headerOffset = signatureOffset + Math.ceil(signature.bytes.length / 8) * 8;
    const header = await readHeaderAt(handle, headerOffset, 'main', label, options.maxHeaderBytes ?? MAX_DATA_BYTES);
    const payloadOffset = headerOffset + header.bytes.length;
    if (payloadOffset > fileSize) throw new RpmFormatError(`${label}: file ends inside the main header: truncated`, fileSize);
    return { lead, signature, header, signatureOffset, headerOffset, payloadOffset, fileSize };
  } finally {
    await handle.close();
  }
}

async function readHeaderAt(handle: FileHandle, offset: number, kind: HeaderKind, label: string, maxBytes: number): Promise<RpmHeader> {
  const intro = await readExactly(handle, offset, HEADER_INTRO_SIZE, label, `${kind} header`);
  const { length } = headerLength(intro, kind, label, offset);
  if (length > maxBytes) throw new RpmFormatError(`${label}: ${kind} header of ${length} bytes, more than the ${maxBytes} allowed`, offset);
  const bytes = await readExactly(handle, offset, length, label, `${kind} header`);
  return parseHeader(bytes, kind, label, offset);
}

async function readExactly(handle: FileHandle, position: number, length: number, label: string, what: string): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let have = 0;
  while (have < length) {
    const { bytesRead } = await handle.read(buf, have, length - have, position + have);
    if (bytesRead === 0) throw new RpmFormatError(`${label}: file ends inside the ${what} (${have} of ${length} bytes): truncated`, position + have);
    have += bytesRead;
  }
  return buf;
}
