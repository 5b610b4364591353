// Writes the assembled tree to disk for the install scripts and for the image builders.
// The disk carries contents and link structure; owners, setuid bits and device nodes live in the
// manifest only (a rootless build can make none of them, and a store full of setuid binaries
// is a hazard). Disk modes are the manifest's permission bits plus owner read/write (files) or
// read/write/search (directories), so the builder can always read and clean up the tree.
import { chmod, constants, copyFile, link, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { ManifestEntry } from '../shared/manifest.js';
import { RootfsError } from './errors.js';
import type { RootTree } from './tree.js';

export function diskMode(entry: Pick<ManifestEntry, 'type' | 'mode'>): number {
  return (entry.mode & 0o777) | (entry.type === 'dir' ? 0o700 : 0o600);
}

export async function writeTreeToDisk(tree: RootTree, rootDir: string): Promise<void> {
  const entries = tree.entries();
  for (const entry of entries) {
    if (entry.type === 'hardlink') {
      const target = tree.get(entry.link!);
      if (target?.type !== 'file') {
        throw new RootfsError(`/${entry.path} (from ${entry.package}) is a hardlink to /${entry.link}, which the merged tree holds as ${target ? `a ${target.type}` : 'nothing'}`);
      }
    }
  }
  await mkdir(rootDir, { mode: 0o755 });
  for (const entry of entries) {
    if (entry.type !== 'dir') continue;
    const dest = join(rootDir, entry.path);
    await mkdir(dest);
    await chmod(dest, diskMode(entry));
  }
  const limit = pLimit(8);
  await Promise.all(
    entries.map((entry) =>
      limit(async () => {
        const dest = join(rootDir, entry.path);
        if (entry.type === 'file') {
          const source = entry.source;
          if (!source) throw new RootfsError(`/${entry.path} (from ${entry.package}): no content source (internal error)`);
          if ('file' in source) await copyFile(source.file, dest, constants.COPYFILE_FICLONE);
          else await writeFile(dest, source.bytes);
          await chmod(dest, diskMode(entry));
        } else if (entry.type === 'symlink') {
          await symlink(entry.target!, dest);
        }
      }),
    ),
  );
  for (const entry of entries) {
    if (entry.type === 'hardlink') await link(join(rootDir, entry.link!), join(rootDir, entry.path));
  }
}
