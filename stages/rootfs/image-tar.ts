// A rootfs output (manifest + tree) as a tar stream: what `mksquashfs - OUT -tar` reads. Owners,
// modes (setuid included), device nodes, symlinks, hardlinks and xattrs come from the manifest;
// only file contents come from the disk. Every time is the given epoch.
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { writeTar, type TarWriteEntry } from '../../formats/tar.js';
import type { ManifestEntry, TreeManifest } from '../manifest.js';

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
      // Whole small files read faster than streamed ones (most of a root tree is small files).
      const body = file.size! <= WHOLE_FILE_LIMIT ? await readFile(path) : { file: path };
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
  return Readable.from(writeTar(manifestTarEntries(manifest, rootDir, mtime), { format: 'posix' }), { objectMode: false });
}
