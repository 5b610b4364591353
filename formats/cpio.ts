// A native, reproducible writer for the cpio "newc" format (magic 070701), the format the Linux
// kernel unpacks as an initramfs and GNU cpio reads with `-H newc`.
//
// Reproducible by construction: entries are sorted (parents before children), missing parent
// directories are added, inode numbers are assigned in archive order, every entry is owned by
// root:root and mtimes are clamped to SOURCE_DATE_EPOCH. Device nodes exist only as archive
// headers, so writing them needs no privileges. File contents stream from disk.
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';

/** Where a regular file's bytes come from: a file on disk (streamed) or bytes in memory. */
export type CpioFileSource = { path: string } | { data: Uint8Array | string };

interface CpioEntryBase {
  /** Path inside the archive, relative (a leading `/` or `./` is dropped). */
  path: string;
  /** Seconds since the epoch; clamped to `sourceDateEpoch`. Default: `sourceDateEpoch`. */
  mtime?: number;
}

export type CpioEntry =
  | (CpioEntryBase & { kind: 'directory'; mode?: number })
  | (CpioEntryBase & { kind: 'file'; mode?: number; source: CpioFileSource })
  | (CpioEntryBase & { kind: 'symlink'; target: string })
  | (CpioEntryBase & { kind: 'char-device' | 'block-device'; mode?: number; major: number; minor: number });

export interface CpioOptions {
  /** Upper bound for every mtime (and the mtime of entries that give none). */
  sourceDateEpoch: number;
}

/** An entry as it will be written: normalized path, full st_mode, inode, link count. */
export interface PlannedCpioEntry {
  path: string;
  entry: CpioEntry;
  /** File type bits | permission bits, as in st_mode. */
  mode: number;
  ino: number;
  nlink: number;
  mtime: number;
}

/** Bad input to the cpio writer: a malformed or conflicting entry. */
export class CpioEntryError extends Error {
  override name = 'CpioEntryError';
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

const DEFAULT_PERMISSIONS: Record<CpioEntry['kind'], number> = {
  directory: 0o755,
  file: 0o644,
  symlink: 0o777,
  'char-device': 0o600,
  'block-device': 0o600,
};

const TYPE_BITS: Record<CpioEntry['kind'], number> = {
  directory: S_IFDIR,
  file: S_IFREG,
  symlink: S_IFLNK,
  'char-device': S_IFCHR,
  'block-device': S_IFBLK,
};

const MAX_FIELD = 0xffffffff;
const TRAILER = 'TRAILER!!!';

/** `/usr//bin/` -> `usr/bin`; rejects empty paths, `.` and `..` components. */
export function normalizeArchivePath(path: string): string {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.length === 0) throw new CpioEntryError(`cpio entry path ${JSON.stringify(path)} names the archive root; give a path below it`);
  if (parts.includes('..')) throw new CpioEntryError(`cpio entry path ${JSON.stringify(path)} contains '..'; archive paths must stay inside the archive`);
  return parts.join('/');
}

/** Orders paths component by component, so a directory's subtree follows it directly. */
function comparePaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return Buffer.compare(Buffer.from(pa[i]), Buffer.from(pb[i]));
  }
  return pa.length - pb.length;
}

function checkField(value: number, what: string, path: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_FIELD) {
    throw new CpioEntryError(`cpio entry ${path}: ${what} ${value} does not fit a newc header field (0..${MAX_FIELD})`);
  }
  return value;
}

/**
 * Normalizes, sorts and numbers the entries: adds missing parent directories (0755), rejects
 * duplicates and children of non-directories, counts directory links (2 + subdirectories).
 */
export function planCpioArchive(entries: Iterable<CpioEntry>, options: CpioOptions): PlannedCpioEntry[] {
  const epoch = checkField(options.sourceDateEpoch, 'SOURCE_DATE_EPOCH', '(options)');
  const byPath = new Map<string, CpioEntry>();
  for (const entry of entries) {
    const path = normalizeArchivePath(entry.path);
    if (byPath.has(path)) throw new CpioEntryError(`cpio entry ${path} is given twice; each archive path must be unique`);
    byPath.set(path, entry);
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let depth = 1; depth < parts.length; depth++) {
      const parent = parts.slice(0, depth).join('/');
      const existing = byPath.get(parent);
      if (existing === undefined) byPath.set(parent, { kind: 'directory', path: parent });
      else if (existing.kind !== 'directory') {
        throw new CpioEntryError(`cpio entry ${path} lies below ${parent}, which is a ${existing.kind}, not a directory`);
      }
    }
  }
  const paths = [...byPath.keys()].sort(comparePaths);
  const subdirectories = new Map<string, number>();
  for (const path of paths) {
    const slash = path.lastIndexOf('/');
    if (slash > 0 && byPath.get(path)!.kind === 'directory') {
      const parent = path.slice(0, slash);
      subdirectories.set(parent, (subdirectories.get(parent) ?? 0) + 1);
    }
  }
  return paths.map((path, index) => {
    const entry = byPath.get(path)!;
    const permissions = 'mode' in entry && entry.mode !== undefined ? entry.mode : DEFAULT_PERMISSIONS[entry.kind];
    if (!Number.isInteger(permissions) || permissions < 0 || permissions > 0o7777) {
      throw new CpioEntryError(`cpio entry ${path}: mode ${permissions} is not a permission value (0..0o7777)`);
    }
    const mtime = Math.min(checkField(entry.mtime ?? epoch, 'mtime', path), epoch);
    const nlink = entry.kind === 'directory' ? 2 + (subdirectories.get(path) ?? 0) : 1;
    return { path, entry, mode: TYPE_BITS[entry.kind] | permissions, ino: index + 1, nlink, mtime };
  });
}

interface HeaderFields {
  ino: number;
  mode: number;
  nlink: number;
  mtime: number;
  fileSize: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
}

/** A newc header with its name, NUL and padding to a 4-byte boundary. Owner is root:root. */
function encodeHeader(fields: HeaderFields): Buffer {
  const name = Buffer.from(fields.name + '\0');
  const hex = (value: number) => value.toString(16).toUpperCase().padStart(8, '0');
  const header =
    '070701' +
    hex(fields.ino) +
    hex(fields.mode) +
    hex(0) + // uid
    hex(0) + // gid
    hex(fields.nlink) +
    hex(fields.mtime) +
    hex(fields.fileSize) +
    hex(0) + // devmajor: the archive has no device of its own
    hex(0) + // devminor
    hex(fields.rdevMajor) +
    hex(fields.rdevMinor) +
    hex(name.length) +
    hex(0); // check: unused in newc
  const unpadded = 110 + name.length;
  return Buffer.concat([Buffer.from(header, 'ascii'), name, Buffer.alloc(padding(unpadded))]);
}

function padding(length: number): number {
  return (4 - (length % 4)) % 4;
}

async function* fileBytes(path: string, source: string, size: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of createReadStream(source)) {
    const bytes = chunk as Buffer;
    seen += bytes.length;
    if (seen > size) break;
    yield bytes;
  }
  if (seen !== size) {
    throw new CpioEntryError(`cpio entry ${path}: ${source} changed size while being archived (expected ${size} bytes, read ${seen}); rerun the build`);
  }
}

async function* entryChunks(planned: PlannedCpioEntry): AsyncGenerator<Buffer> {
  const { entry, path } = planned;
  const fields: HeaderFields = { ...planned, fileSize: 0, rdevMajor: 0, rdevMinor: 0, name: path };
  switch (entry.kind) {
    case 'directory':
      yield encodeHeader(fields);
      return;
    case 'char-device':
    case 'block-device':
      yield encodeHeader({
        ...fields,
        rdevMajor: checkField(entry.major, 'major', path),
        rdevMinor: checkField(entry.minor, 'minor', path),
      });
      return;
    case 'symlink': {
      if (entry.target === '') throw new CpioEntryError(`cpio entry ${path}: symlink target is empty`);
      const target = Buffer.from(entry.target);
      yield encodeHeader({ ...fields, fileSize: checkField(target.length, 'link target length', path) });
      yield Buffer.concat([target, Buffer.alloc(padding(target.length))]);
      return;
    }
    case 'file': {
      if ('data' in entry.source) {
        const data = Buffer.from(entry.source.data);
        yield encodeHeader({ ...fields, fileSize: checkField(data.length, 'size', path) });
        yield Buffer.concat([data, Buffer.alloc(padding(data.length))]);
        return;
      }
      const source = entry.source.path;
      const stats = await lstat(source).catch((err: NodeJS.ErrnoException) => {
        throw new CpioEntryError(`cpio entry ${path}: cannot read ${source}: ${err.message}`);
      });
      if (!stats.isFile()) throw new CpioEntryError(`cpio entry ${path}: source ${source} is not a regular file`);
      yield encodeHeader({ ...fields, fileSize: checkField(stats.size, 'size', path) });
      yield* fileBytes(path, source, stats.size);
      yield Buffer.alloc(padding(stats.size));
      return;
    }
  }
}

/** Gathers small pieces into blocks of about `size` bytes: fewer, larger writes downstream. */
async function* coalesce(chunks: AsyncIterable<Buffer>, size = 1 << 16): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of chunks) {
    if (chunk.length === 0) continue;
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= size) {
      yield Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

async function* archiveChunks(planned: PlannedCpioEntry[]): AsyncGenerator<Buffer> {
  for (const entry of planned) yield* entryChunks(entry);
  yield encodeHeader({ ino: 0, mode: 0, nlink: 1, mtime: 0, fileSize: 0, rdevMajor: 0, rdevMinor: 0, name: TRAILER });
}

/**
 * The archive as a stream of buffers (newc, ending in TRAILER!!!). Planning errors throw at
 * once; a file that cannot be read throws while streaming.
 */
export function cpioNewcStream(entries: Iterable<CpioEntry>, options: CpioOptions): AsyncGenerator<Buffer> {
  return coalesce(archiveChunks(planCpioArchive(entries, options)));
}
