// Tar, read and written natively: ustar headers, GNU long names, pax extended headers
// (per-entry and global). The reader streams (a 100 MB kernel package never sits in memory)
// and hands every entry's pax records to the caller, because APK keeps its per-file checksum
// there (`APK-TOOLS.checksum.SHA1`). The writer is deterministic: the same entries give the
// same bytes, owners and devices come out exactly as given (mksquashfs -tar reads them).
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { ByteReader, MemberBody } from './byte-reader.js';

export const TAR_BLOCK = 512;

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** One archive member as the reader reports it (pax/GNU extensions already applied). */
export interface TarHeader {
  /** Path as stored (pax `path`, GNU long name, or ustar prefix + name); dirs keep no trailing slash. */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Bytes of body that follow the header (0 for everything but files). */
  size: number;
  /** Modification time in seconds (pax may carry a fraction). */
  mtime: number;
  /** Symlink target, or the archive path a hardlink points to. */
  linkTarget?: string;
  devmajor: number;
  devminor: number;
  /** Pax records that applied to this entry (global ones first, then the entry's own), xattrs aside. */
  pax: Record<string, string>;
  /** Extended attributes from `SCHILY.xattr.<name>` records, raw bytes (capabilities are binary). */
  xattrs: Record<string, Buffer>;
  /** Byte offset of the entry's header block in the tar stream (for error messages). */
  offset: number;
}

export interface TarEntry extends TarHeader {
  /**
   * The entry's body, streamed. Read it before asking for the next entry, or leave it:
   * the reader skips what was not read.
   */
  body: AsyncIterable<Buffer>;
}

/** The archive is longer than the caller allows (TarReadOptions.maxBytes): a decompression bomb, or just too big. */
export class TarSizeLimitError extends Error {
  constructor(
    message: string,
    /** Where the archive would pass the limit. */
    readonly offset: number,
    /** The limit, in archive bytes, that applied there. */
    readonly limit: number,
  ) {
    super(message);
    this.name = 'TarSizeLimitError';
  }
}

/** The archive is malformed (bad checksum, bad number, truncated, unknown entry type). */
export class TarFormatError extends Error {
  constructor(
    message: string,
    /** Offset in the tar stream where the problem was found. */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'TarFormatError';
  }
}

export interface TarReadOptions {
  /**
   * Accept a stream that stops after an entry without end-of-archive blocks. APK's signature
   * and control segments are cut this way. Default false: a missing end is truncation.
   */
  allowMissingEnd?: boolean;
  /** Names the archive in error messages (`busybox-1.36.1-r2.apk data`). */
  label?: string;
  /**
   * Refuse an archive longer than this many bytes (headers, bodies, padding and end blocks). Checked
   * before a body is read, so nothing of an entry that would pass it is handed out. A function is
   * asked with the number of entries so far (the one being checked included): the limit may grow
   * per entry. Throws TarSizeLimitError.
   */
  maxBytes?: number | ((entries: number) => number);
}

export type TarSource = Buffer | Uint8Array | AsyncIterable<Uint8Array> | Readable;

/** Reads a tar stream entry by entry. */
export async function* readTar(source: TarSource, options: TarReadOptions = {}): AsyncGenerator<TarEntry> {
  const input = new ByteReader(source);
  const where = options.label ? `${options.label}: ` : '';
  const fail = (message: string, offset: number): never => {
    throw new TarFormatError(`${where}${message} (at byte ${offset})`, offset);
  };
  let globalPax: PaxRecords = { records: {}, xattrs: {} };
  let localPax: PaxRecords | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let extensionPending = false;
  let entries = 0;
  const limit = options.maxBytes;
  const within = (end: number, count: number, what: string): void => {
    if (limit === undefined) return;
    const max = typeof limit === 'number' ? limit : limit(count);
    if (end > max) throw new TarSizeLimitError(`${where}unpacks to more than ${max} bytes (${what} byte ${end})`, end, max);
  };

  for (;;) {
    const offset = input.position;
    const block = await input.read(TAR_BLOCK);
    if (block.length === 0) {
      if (extensionPending) fail('archive ends after an extended header with no entry', offset);
      if (options.allowMissingEnd) return;
      fail('archive ends without end-of-archive blocks (truncated?)', offset);
    }
    if (block.length < TAR_BLOCK) fail(`archive ends inside a header (${block.length} of 512 bytes)`, offset);
    if (isZeroBlock(block)) {
      if (extensionPending) fail('end-of-archive right after an extended header', offset);
      await drainTrailer(input, fail, (end) => within(end, entries, 'end-of-archive blocks reach'));
      return;
    }

    const raw = parseHeaderBlock(block, offset, fail);
    const bodySize = raw.size;
    const paddedSize = roundUp(bodySize);

    if (raw.typeflag === 'x' || raw.typeflag === 'g' || raw.typeflag === 'L' || raw.typeflag === 'K') {
      if (bodySize > 16 << 20) fail(`extended header of ${bodySize} bytes is implausibly large`, offset);
      within(offset + TAR_BLOCK + paddedSize, entries, 'an extended header ends at');
      const data = await input.read(paddedSize);
      if (data.length < paddedSize) fail('archive ends inside an extended header', offset);
      const content = data.subarray(0, bodySize);
      if (raw.typeflag === 'x') localPax = mergePax(localPax, parsePax(content, offset, fail));
      else if (raw.typeflag === 'g') globalPax = mergePax(globalPax, parsePax(content, offset, fail));
      else if (raw.typeflag === 'L') longName = decodeName(trimNul(content), offset, fail);
      else longLink = decodeName(trimNul(content), offset, fail);
      extensionPending = raw.typeflag !== 'g';
      continue;
    }

    const type = entryType(raw.typeflag, raw.name, offset, fail);
    const merged = mergePax(globalPax, localPax);
    const pax = merged.records;
    let path = pax.path ?? longName ?? raw.name;
    let linkTarget: string | undefined;
    if (type === 'symlink' || type === 'hardlink') linkTarget = pax.linkpath ?? longLink ?? raw.linkname;
    if (path.length > 1 && path.endsWith('/')) path = path.replace(/\/+$/, '');

    const header: TarHeader = {
      path,
      type,
      mode: raw.mode & 0o7777,
      uid: paxInteger(pax, 'uid', raw.uid, offset, fail),
      gid: paxInteger(pax, 'gid', raw.gid, offset, fail),
      uname: pax.uname ?? raw.uname,
      gname: pax.gname ?? raw.gname,
      size: type === 'file' || type === 'hardlink' ? paxInteger(pax, 'size', bodySize, offset, fail) : 0,
      mtime: pax.mtime !== undefined ? paxNumber(pax.mtime, 'mtime', offset, fail) : raw.mtime,
      linkTarget,
      devmajor: type === 'char' || type === 'block' ? raw.devmajor : 0,
      devminor: type === 'char' || type === 'block' ? raw.devminor : 0,
      pax,
      xattrs: merged.xattrs,
      offset,
    };
    // A pax size overrides the header's; the body on the wire follows the effective size.
    const wireSize = type === 'file' || type === 'hardlink' ? header.size : bodySize;
    localPax = undefined;
    longName = undefined;
    longLink = undefined;
    extensionPending = false;

    entries++;
    within(offset + TAR_BLOCK + roundUp(wireSize), entries, `entry ${JSON.stringify(header.path)} ends at`);
    const body = new MemberBody(input, wireSize, roundUp(wireSize) - wireSize, `tar entry ${header.path}`, () =>
      fail(`archive ends inside the body of ${JSON.stringify(header.path)}`, offset),
    );
    yield { ...header, body };
    await body.finish();
  }
}

/** Collects an entry body into one buffer (for small entries: .PKGINFO, APKINDEX, scripts). */
export async function readBody(entry: TarEntry, limit = 64 << 20): Promise<Buffer> {
  if (entry.size > limit) {
    throw new TarFormatError(`tar entry ${entry.path} is ${entry.size} bytes, over the ${limit}-byte limit`, entry.offset);
  }
  const parts: Buffer[] = [];
  for await (const chunk of entry.body) parts.push(chunk);
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Reader internals

interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

type Fail = (message: string, offset: number) => never;

function parseHeaderBlock(block: Buffer, offset: number, fail: Fail): RawHeader {
  const stored = parseNumber(block.subarray(148, 156), 'checksum', offset, fail);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < TAR_BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (stored !== unsigned && stored !== signed) {
    fail(`header checksum mismatch (stored ${stored}, computed ${unsigned})`, offset);
  }
  const magic = block.subarray(257, 263).toString('latin1');
  const isUstar = magic === 'ustar\0';
  const isGnu = magic === 'ustar ';
  let name = decodeName(trimNul(block.subarray(0, 100)), offset, fail);
  if (isUstar) {
    const prefix = decodeName(trimNul(block.subarray(345, 500)), offset, fail);
    if (prefix) name = `${prefix}/${name}`;
  }
  const typeflag = String.fromCharCode(block[156]);
  return {
    name,
    mode: parseNumber(block.subarray(100, 108), 'mode', offset, fail),
    uid: parseNumber(block.subarray(108, 116), 'uid', offset, fail),
    gid: parseNumber(block.subarray(116, 124), 'gid', offset, fail),
    size: parseNumber(block.subarray(124, 136), 'size', offset, fail),
    mtime: parseNumber(block.subarray(136, 148), 'mtime', offset, fail),
    typeflag,
    // Regular files may carry bytes here (abuild's legacy checksum): only links read it.
    linkname: typeflag === '1' || typeflag === '2' ? decodeName(trimNul(block.subarray(157, 257)), offset, fail) : '',
    uname: isUstar || isGnu ? trimNul(block.subarray(265, 297)).toString('utf8') : '',
    gname: isUstar || isGnu ? trimNul(block.subarray(297, 329)).toString('utf8') : '',
    devmajor: isUstar || isGnu ? parseNumber(block.subarray(329, 337), 'devmajor', offset, fail) : 0,
    devminor: isUstar || isGnu ? parseNumber(block.subarray(337, 345), 'devminor', offset, fail) : 0,
  };
}

function entryType(flag: string, name: string, offset: number, fail: Fail): TarEntryType {
  switch (flag) {
    case '0':
    case '\0':
      return name.endsWith('/') ? 'dir' : 'file';
    case '7':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
      return 'dir';
    case '6':
      return 'fifo';
    default:
      return fail(`unsupported tar entry type '${printable(flag)}' for ${JSON.stringify(name)}`, offset);
  }
}

/** Octal (space/NUL padded) or GNU base-256 (high bit set). */
function parseNumber(field: Buffer, what: string, offset: number, fail: Fail): number {
  if (field.length > 0 && field[0] & 0x80) {
    if (field[0] === 0xff) fail(`negative base-256 ${what}`, offset);
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    if (!Number.isSafeInteger(value)) fail(`${what} too large`, offset);
    return value;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) fail(`bad octal ${what} field ${JSON.stringify(text)}`, offset);
  return parseInt(text, 8);
}

interface PaxRecords {
  records: Record<string, string>;
  xattrs: Record<string, Buffer>;
}

function mergePax(base: PaxRecords | undefined, over: PaxRecords | undefined): PaxRecords {
  return {
    records: { ...(base?.records ?? {}), ...(over?.records ?? {}) },
    xattrs: { ...(base?.xattrs ?? {}), ...(over?.xattrs ?? {}) },
  };
}

const XATTR_PREFIX = 'SCHILY.xattr.';

function parsePax(content: Buffer, offset: number, fail: Fail): PaxRecords {
  const records: Record<string, string> = {};
  const xattrs: Record<string, Buffer> = {};
  let pos = 0;
  while (pos < content.length) {
    if (content[pos] === 0) break; // some writers pad the record area with NULs
    const space = content.indexOf(0x20, pos);
    if (space < 0) fail('pax record without a length', offset);
    const lengthText = content.subarray(pos, space).toString('latin1');
    if (!/^[1-9][0-9]*$/.test(lengthText)) fail(`bad pax record length ${JSON.stringify(lengthText)}`, offset);
    const length = Number(lengthText);
    const end = pos + length;
    if (end > content.length || content[end - 1] !== 0x0a) fail('pax record length does not match its content', offset);
    const record = content.subarray(space + 1, end - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) fail('pax record without key=value', offset);
    const key = record.subarray(0, equals).toString('utf8');
    const value = record.subarray(equals + 1);
    if (key.startsWith(XATTR_PREFIX)) xattrs[key.slice(XATTR_PREFIX.length)] = Buffer.from(value);
    else records[key] = decodeName(value, offset, fail);
    pos = end;
  }
  return { records, xattrs };
}

function paxInteger(pax: Record<string, string>, key: string, fallback: number, offset: number, fail: Fail): number {
  const text = pax[key];
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text)) fail(`bad pax ${key} ${JSON.stringify(text)}`, offset);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) fail(`pax ${key} too large`, offset);
  return value;
}

function paxNumber(text: string, key: string, offset: number, fail: Fail): number {
  if (!/^-?[0-9]+(\.[0-9]+)?$/.test(text)) fail(`bad pax ${key} ${JSON.stringify(text)}`, offset);
  return Number(text);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeName(bytes: Uint8Array, offset: number, fail: Fail): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return fail('a name or link target is not valid UTF-8', offset);
  }
}

function trimNul(field: Buffer): Buffer {
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** After the first zero block only zero blocks may follow (GNU tar pads to 10 KiB records). */
async function drainTrailer(input: ByteReader, fail: Fail, within: (end: number) => void): Promise<void> {
  within(input.position);
  for (;;) {
    const offset = input.position;
    const chunk = await input.read(64 * TAR_BLOCK);
    if (chunk.length === 0) return;
    within(input.position);
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== 0) fail('data after the end-of-archive blocks', offset + i);
    }
  }
}

function roundUp(size: number): number {
  return Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
}

function printable(flag: string): string {
  const code = flag.charCodeAt(0);
  return code >= 0x20 && code < 0x7f ? flag : `\\x${code.toString(16).padStart(2, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Writer

/** What the writer needs for one member. Fields left out take the documented defaults. */
export interface TarWriteEntry {
  /** Archive path, without a leading `/` (written as given otherwise: callers may build odd names on purpose). */
  path: string;
  type: TarEntryType;
  /** Permission bits (`& 0o7777`). */
  mode: number;
  /** Default 0. */
  uid?: number;
  /** Default 0. */
  gid?: number;
  /** Default ''. */
  uname?: string;
  /** Default ''. */
  gname?: string;
  /** Seconds; default 0. */
  mtime?: number;
  /** Symlink target or hardlink target path. */
  linkTarget?: string;
  devmajor?: number;
  devminor?: number;
  /** Body of a regular file. A stream or file needs `size`. */
  body?: Uint8Array | string | AsyncIterable<Uint8Array> | { file: string };
  /** Body length; required for streamed bodies, checked against the bytes actually written. */
  size?: number;
  /** Extra pax records for this entry, written after the writer's default records, in order. */
  pax?: ReadonlyArray<readonly [string, string]>;
  /** Extended attributes, written as `SCHILY.xattr.<name>` pax records (what mksquashfs -tar reads). */
  xattrs?: Readonly<Record<string, Uint8Array>>;
  /**
   * Raw bytes for the 100-byte linkname field of a regular file's header. abuild stores a
   * legacy checksum there; GNU tar and apk ignore the field for regular files.
   */
  linkField?: Uint8Array;
}

export interface TarWriteOptions {
  /** `posix` (magic `ustar\0` + version `00`, like `tar --format=posix`) or `gnu` (`ustar  \0`). Default posix. */
  format?: 'posix' | 'gnu';
  /**
   * Pax records put in front of every entry's extended header (abuild: ctime=0, atime=0). When
   * set, every entry gets an extended header; otherwise only entries that need one.
   */
  paxDefaults?: ReadonlyArray<readonly [string, string]>;
  /** Name of an entry's extended header. Default: GNU tar's `%d/PaxHeaders/%f`. */
  paxHeaderName?: (path: string) => string;
  /** Write the two end-of-archive blocks. Default true; APK's control and signature segments omit them. */
  endOfArchive?: boolean;
  /** Pad the whole archive to a multiple of this (GNU tar: 10240). Default 512 (no extra padding). */
  recordSize?: number;
}

/**
 * Streams a tar archive for the given entries. Nothing is buffered beyond one entry's header
 * and one body chunk, so trees of any size can be written (pipe it into a file, gzip or mksquashfs).
 */
export async function* writeTar(
  entries: Iterable<TarWriteEntry> | AsyncIterable<TarWriteEntry>,
  options: TarWriteOptions = {},
): AsyncGenerator<Buffer> {
  let written = 0;
  for await (const entry of entries) {
    const { headers, body, size } = prepareEntry(entry, options);
    for (const block of headers) {
      written += block.length;
      yield block;
    }
    if (body !== undefined) {
      let bodyBytes = 0;
      for await (const chunk of bodyChunks(body)) {
        bodyBytes += chunk.length;
        if (bodyBytes > size) throw new Error(`tar entry ${entry.path}: body is longer than its declared size ${size}`);
        written += chunk.length;
        yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
      if (bodyBytes !== size) {
        throw new Error(`tar entry ${entry.path}: body has ${bodyBytes} bytes, declared size is ${size}`);
      }
      const pad = roundUp(size) - size;
      if (pad > 0) {
        written += pad;
        yield Buffer.alloc(pad);
      }
    }
  }
  if (options.endOfArchive ?? true) {
    const recordSize = options.recordSize ?? TAR_BLOCK;
    let end = written + 2 * TAR_BLOCK;
    end = Math.ceil(end / recordSize) * recordSize;
    yield Buffer.alloc(end - written);
  }
}

/** Collects a whole archive in memory (small archives: control segments, indexes, tests). */
export async function writeTarToBuffer(
  entries: Iterable<TarWriteEntry> | AsyncIterable<TarWriteEntry>,
  options: TarWriteOptions = {},
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of writeTar(entries, options)) parts.push(part);
  return Buffer.concat(parts);
}

/** GNU tar's default extended-header name: `<dir>/PaxHeaders/<base>` (dir `.` at top level). */
export function gnuPaxHeaderName(path: string): string {
  const slash = path.lastIndexOf('/');
  const dir = slash < 0 ? '.' : path.slice(0, slash);
  const base = slash < 0 ? path : path.slice(slash + 1);
  return `${dir}/PaxHeaders/${base}`;
}

type PreparedBody = Uint8Array | AsyncIterable<Uint8Array> | { file: string };

function prepareEntry(
  entry: TarWriteEntry,
  options: TarWriteOptions,
): { headers: Buffer[]; body: PreparedBody | undefined; size: number } {
  const format = options.format ?? 'posix';
  let body: PreparedBody | undefined;
  let size = 0;
  if (entry.type === 'file') {
    const given = entry.body ?? new Uint8Array(0);
    body = typeof given === 'string' ? Buffer.from(given, 'utf8') : given;
    if (body instanceof Uint8Array) {
      size = body.length;
      if (entry.size !== undefined && entry.size !== size) {
        throw new Error(`tar entry ${entry.path}: size ${entry.size} does not match its ${size}-byte body`);
      }
    } else {
      if (entry.size === undefined) throw new Error(`tar entry ${entry.path}: a streamed body needs a size`);
      size = entry.size;
    }
  } else if (entry.body !== undefined) {
    throw new Error(`tar entry ${entry.path}: only regular files carry a body (type ${entry.type})`);
  }

  const name = entry.type === 'dir' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
  const needed: Array<readonly [string, string]> = [];
  const split = splitUstarName(name);
  if (!split) needed.push(['path', name]);
  const link = entry.linkTarget ?? '';
  if ((entry.type === 'symlink' || entry.type === 'hardlink') && !link) {
    throw new Error(`tar entry ${entry.path}: a ${entry.type} needs a link target`);
  }
  if (Buffer.byteLength(link) > 100) needed.push(['linkpath', link]);
  const uid = entry.uid ?? 0;
  const gid = entry.gid ?? 0;
  const uname = entry.uname ?? '';
  const gname = entry.gname ?? '';
  const mtime = entry.mtime ?? 0;
  if (uid > 0o7777777) needed.push(['uid', String(uid)]);
  if (gid > 0o7777777) needed.push(['gid', String(gid)]);
  if (size > 0o77777777777) needed.push(['size', String(size)]);
  if (Buffer.byteLength(uname) > 32) needed.push(['uname', uname]);
  if (Buffer.byteLength(gname) > 32) needed.push(['gname', gname]);
  if (!Number.isInteger(mtime) || mtime < 0 || mtime > 0o77777777777) needed.push(['mtime', String(mtime)]);

  const xattrRecords = Object.keys(entry.xattrs ?? {})
    .sort()
    .map((name) => [`${XATTR_PREFIX}${name}`, entry.xattrs![name]] as const);
  const records: PaxRecordList = [...(options.paxDefaults ?? []), ...needed, ...xattrRecords, ...(entry.pax ?? [])];
  const headers: Buffer[] = [];
  const headerMtime = Number.isInteger(mtime) && mtime >= 0 && mtime <= 0o77777777777 ? mtime : 0;
  if (records.length > 0 || options.paxDefaults) {
    const paxBody = encodePax(records);
    const paxName = (options.paxHeaderName ?? gnuPaxHeaderName)(entry.path);
    const paxSplit = splitUstarName(paxName) ?? { prefix: '', name: truncateBytes(paxName, 100) };
    headers.push(
      headerBlock(format, {
        ...paxSplit,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: paxBody.length,
        mtime: headerMtime,
        typeflag: 'x',
        linkname: '',
        uname: '',
        gname: '',
        devmajor: 0,
        devminor: 0,
      }),
    );
    const padded = Buffer.alloc(roundUp(paxBody.length));
    paxBody.copy(padded);
    headers.push(padded);
  }
  const main = split ?? { prefix: '', name: truncateBytes(name, 100) };
  const block = headerBlock(format, {
    ...main,
    mode: entry.mode & 0o7777,
    uid: Math.min(uid, 0o7777777),
    gid: Math.min(gid, 0o7777777),
    size: Math.min(size, 0o77777777777),
    mtime: headerMtime,
    typeflag: TYPEFLAG[entry.type],
    linkname: Buffer.byteLength(link) > 100 ? truncateBytes(link, 100) : link,
    uname: Buffer.byteLength(uname) > 32 ? '' : uname,
    gname: Buffer.byteLength(gname) > 32 ? '' : gname,
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0,
    deviceFields: format === 'posix' || entry.type === 'char' || entry.type === 'block',
    linkField: entry.type === 'file' ? entry.linkField : undefined,
  });
  headers.push(block);
  return { headers, body, size };
}

const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

interface HeaderFields {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  deviceFields?: boolean;
  linkField?: Uint8Array;
}

function headerBlock(format: 'posix' | 'gnu', h: HeaderFields): Buffer {
  const block = Buffer.alloc(TAR_BLOCK);
  block.write(h.name, 0, 100, 'utf8');
  writeOctal(block, 100, 8, h.mode);
  writeOctal(block, 108, 8, h.uid);
  writeOctal(block, 116, 8, h.gid);
  writeOctal(block, 124, 12, h.size);
  writeOctal(block, 136, 12, h.mtime);
  block.write(h.typeflag, 156, 1, 'latin1');
  if (h.linkField) {
    if (h.linkField.length > 100) throw new Error('tar linkField is longer than 100 bytes');
    block.set(h.linkField, 157);
  } else {
    block.write(h.linkname, 157, 100, 'utf8');
  }
  if (format === 'posix') block.write('ustar\x0000', 257, 8, 'latin1');
  else block.write('ustar  \x00', 257, 8, 'latin1');
  block.write(h.uname, 265, 32, 'utf8');
  block.write(h.gname, 297, 32, 'utf8');
  if (h.deviceFields) {
    writeOctal(block, 329, 8, h.devmajor);
    writeOctal(block, 337, 8, h.devminor);
  }
  if (format === 'posix' && h.prefix) block.write(h.prefix, 345, 155, 'utf8');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += block[i];
  // GNU tar's layout: six octal digits, NUL, space.
  block.write(sum.toString(8).padStart(6, '0'), 148, 6, 'latin1');
  block[154] = 0;
  block[155] = 0x20;
  return block;
}

/** Zero-padded octal filling the field but its last byte, which stays NUL (GNU tar's layout). */
function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > length - 1) throw new Error(`tar: ${value} does not fit a ${length}-byte field`);
  block.write(digits.padStart(length - 1, '0'), offset, length - 1, 'latin1');
}

/** ustar name/prefix split, or undefined when the path needs a pax `path` record. */
function splitUstarName(name: string): { name: string; prefix: string } | undefined {
  const bytes = Buffer.byteLength(name);
  if (bytes <= 100) return { name, prefix: '' };
  // The prefix ends at a slash; a directory's trailing slash stays in the name part.
  const body = name.endsWith('/') ? name.slice(0, -1) : name;
  for (let i = body.lastIndexOf('/'); i > 0; i = body.lastIndexOf('/', i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest.length > 0) {
      return { name: rest, prefix };
    }
    if (Buffer.byteLength(rest) > 100) break;
  }
  return undefined;
}

function truncateBytes(text: string, max: number): string {
  let out = text;
  while (Buffer.byteLength(out) > max) out = out.slice(0, -1);
  return out;
}

type PaxRecordList = ReadonlyArray<readonly [string, string | Uint8Array]>;

/** `"<len> key=value\n"` records, where len counts the whole record including itself. */
export function encodePax(records: PaxRecordList): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    const payload = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), Buffer.from(value), Buffer.from('\n')]);
    let length = payload.length + 1;
    while (String(length).length + payload.length !== length) length = String(length).length + payload.length;
    parts.push(Buffer.from(String(length), 'latin1'), payload);
  }
  return Buffer.concat(parts);
}

async function* bodyChunks(body: PreparedBody): AsyncGenerator<Uint8Array> {
  if (body instanceof Uint8Array) {
    if (body.length > 0) yield body;
    return;
  }
  if ('file' in body) {
    yield* createReadStream(body.file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
    return;
  }
  yield* body;
}
