// The output digest: SHA-256 over a normalized listing of a directory tree. The listing holds,
// per entry in byte order of path: relative path, type, permission bits, size, and the content
// digest or link target. Owners and times are left out on purpose: outputs are written without
// root, so owners only say who ran the build (package ownership lives in manifests), and times
// say when. Two runs that write the same bytes get the same digest, which is early cutoff.
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { sha256, sha256File } from './hash.js';
import type { OutputDigests } from './output-digests.js';

export interface TreeSummary {
  digest: string;
  /** Bytes of regular-file content. */
  size: number;
  files: number;
}

type Entry = [path: string, type: string, mode: number, size: number, content: string];

// Hash a few files at once: overlaps I/O without letting memory grow with the tree.
const hashLimit = pLimit(4);

/** `known`: digests the node that wrote the tree already computed (checked against the file's stat). */
export async function digestTree(dir: string, known?: OutputDigests): Promise<TreeSummary> {
  const entries: Entry[] = [];
  await walk(dir, '', entries, known);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let size = 0;
  let files = 0;
  const lines: string[] = [];
  for (const e of entries) {
    if (e[1] === 'file') {
      size += e[3];
      files++;
    }
    lines.push(JSON.stringify(e));
  }
  return { digest: sha256(lines.join('\n')), size, files };
}

async function walk(abs: string, rel: string, out: Entry[], known: OutputDigests | undefined): Promise<void> {
  const names = await readdir(abs);
  await Promise.all(
    names.map(async (name) => {
      const childAbs = join(abs, name);
      const childRel = rel ? `${rel}/${name}` : name;
      const st = await lstat(childAbs);
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) {
        out.push([childRel, 'dir', mode, 0, '']);
        await walk(childAbs, childRel, out, known);
      } else if (st.isSymbolicLink()) {
        out.push([childRel, 'symlink', 0, 0, await readlink(childAbs)]);
      } else if (st.isFile()) {
        const content = (await known?.lookup(childRel, childAbs)) ?? (await hashLimit(() => sha256File(childAbs)));
        out.push([childRel, 'file', mode, st.size, content]);
      } else {
        const type = st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'socket';
        out.push([childRel, type, mode, 0, String(st.rdev)]);
      }
    }),
  );
}
