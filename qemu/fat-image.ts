// FAT images (ESPs, the enrollment disk) built rootless: mkfs.fat on a file, then mtools.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { ExecTool } from './exec-tool.js';

export interface FatEntry {
  /** Absolute path inside the image: `/EFI/BOOT/BOOTX64.EFI`. */
  path: string;
  /** A host file to copy in... */
  source?: string;
  /** ...or literal content. */
  content?: string | Uint8Array;
}

export interface FatImageOptions {
  label: string;
  /** Volume serial (8 hex digits); fixed so the image is reproducible. */
  volumeId?: string;
  entries: FatEntry[];
  /** Scratch directory (literal contents are staged here). */
  tmp: string;
  exec: ExecTool;
}

export class FatImageError extends Error {
  override name = 'FatImageError';
}

/** Room for FAT tables, directories and cluster slack on top of the files themselves. */
const OVERHEAD_KIB = 1024;

export async function buildFatImage(out: string, options: FatImageOptions): Promise<void> {
  const staging = await mkdtemp(join(options.tmp, 'fat-'));
  try {
    const files: { path: string; source: string; bytes: number }[] = [];
    for (const [index, entry] of options.entries.entries()) {
      if (!entry.path.startsWith('/') || entry.path.includes('..')) {
        throw new FatImageError(`FAT entry path must be absolute and plain: ${JSON.stringify(entry.path)}`);
      }
      let source = entry.source;
      if (source === undefined) {
        if (entry.content === undefined) throw new FatImageError(`FAT entry ${entry.path} has neither source nor content`);
        source = join(staging, `entry-${index}`);
        await writeFile(source, entry.content);
      }
      files.push({ path: entry.path, source, bytes: (await stat(source)).size });
    }
    // Each file rounded to 4 KiB clusters, plus 10 % and fixed overhead.
    const dataKiB = files.reduce((sum, file) => sum + Math.ceil(file.bytes / 4096) * 4, 0);
    const sizeKiB = Math.ceil((dataKiB * 1.1 + OVERHEAD_KIB) / 1024) * 1024;
    const volumeId = options.volumeId ?? '50495045';
    await options.exec('mkfs.fat', ['-C', '-n', options.label, '-i', volumeId, '--invariant', out, String(sizeKiB)]);
    const dirs = new Set<string>();
    for (const file of files) {
      for (let dir = posix.dirname(file.path); dir !== '/'; dir = posix.dirname(dir)) dirs.add(dir);
    }
    const sortedDirs = [...dirs].sort();
    if (sortedDirs.length) await options.exec('mmd', ['-i', out, ...sortedDirs.map((dir) => `::${dir}`)]);
    for (const file of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
      await options.exec('mcopy', ['-i', out, file.source, `::${file.path}`]);
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
