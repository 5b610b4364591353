// A rootfs output (manifest + tree) as a tar stream: what `mksquashfs - OUT -tar` reads. Owners,
// modes (setuid included), device nodes, symlinks, hardlinks and xattrs come from the manifest;
// only file contents come from the disk. Every time is the given epoch.
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { writeTar, type TarWriteEntry } from '../../formats/tar.js';
import type { ManifestEntry, TreeManifest } from '../shared/manifest.js';

const WHOLE_FILE_LIMIT = 4 << 20;

/**
 * Tar entries in manifest order. A hardlink must follow the file it names in a tar stream, but
 * in path order it may come first (`bin/x` -> `usr/bin/x`): then the first member of the group
 * carries the content and the rest link to it. The inode the image gets is the same either way.
 */
export async function* manifestTarEntries(manifest: TreeManifest, rootDir: string, mtime: number): AsyncGenerator<TarWriteEntry> {
  const emittedAs = new Map<string, string>();
  const byPath = new Map(manifest.entries.map((entry) => [entry.path, entry]));
  for (const entry of manifest.entries) {
    const base = header(entry, entry.path, mtime);
    if (entry.type === 'file' || entry.type === 'hardlink') {
      const group = entry.type === 'file' ? entry.path : entry.link!;
      const first = emittedAs.get(group);
      if (first !== undefined) {
        yield { ...base, type: 'hardlink', linkTarget: first };
        continue;
      }
      emittedAs.set(group, entry.path);
      // The inode's metadata is the file's, whichever path carries it.
      const file = byPath.get(group)!;
      const path = join(rootDir, group);
      // Small files (most of a root tree) are read whole and synchronously: measured on a 400 MB
      // kernel tree, this halves the stream's CPU time against promise reads, CPU that
      // mksquashfs's compressor threads want on a small machine.
      const body = file.size! <= WHOLE_FILE_LIMIT ? readFileSync(path) : { file: path };
      yield { ...header(file, entry.path, mtime), size: file.size, body };
    } else if (entry.type === 'symlink') {
      yield { ...base, linkTarget: entry.target };
    } else if (entry.type === 'char' || entry.type === 'block') {
      yield { ...base, devmajor: entry.devmajor, devminor: entry.devminor };
    } else {
      yield base;
    }
  }
}

function header(entry: ManifestEntry, path: string, mtime: number): TarWriteEntry {
  const out: TarWriteEntry = {
    path,
    type: entry.type,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    uname: entry.uname,
    gname: entry.gname,
    mtime,
  };
  if (entry.xattrs) out.xattrs = Object.fromEntries(Object.entries(entry.xattrs).map(([name, value]) => [name, Buffer.from(value, 'base64')]));
  return out;
}

export function manifestTarStream(manifest: TreeManifest, rootDir: string, mtime: number): Readable {
  return Readable.from(coalesce(writeTar(manifestTarEntries(manifest, rootDir, mtime), { format: 'posix' })), { objectMode: false });
}

const BATCH = 1 << 20;
/** Pieces this large go out as they are (copying them costs more than the write they would save). */
const DIRECT = 64 << 10;

/**
 * Joins the writer's small pieces (512-byte headers, padding, small files) into ~1 MiB chunks:
 * each chunk is one pipe write, and a tree of small files otherwise costs a syscall per header.
 */
export async function* coalesce(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    if (chunk.length >= DIRECT) {
      if (size > 0) yield Buffer.concat(pending, size);
      pending = [];
      size = 0;
      yield chunk;
      continue;
    }
    pending.push(chunk);
    size += chunk.length;
    if (size >= BATCH) {
      yield Buffer.concat(pending, size);
      pending = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(pending, size);
}
