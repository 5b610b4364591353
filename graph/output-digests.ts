// Digests a node computed of files in its own output, kept for storing that output: a file the
// node hashed (an ISO for its .sha256, say) is not read a second time when the store digests the
// tree, unless it changed since. "Unchanged" is the same inode, size, mtime and ctime in
// nanoseconds, read before and after hashing: no write leaves ctime as it was.
import { lstat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { sha256File } from './hash.js';

export class OutputDigests {
  private readonly known = new Map<string, { sha256: string; stamp: string }>();

  constructor(private readonly outDir: string) {}

  /** SHA-256 of a file; remembered when the file is in the output and did not change meanwhile. */
  async sha256File(path: string): Promise<string> {
    const abs = resolve(path);
    const before = await stampOf(abs);
    const digest = await sha256File(abs);
    const rel = relative(this.outDir, abs);
    if (rel && !rel.startsWith('..') && !isAbsolute(rel) && before === (await stampOf(abs))) this.known.set(rel, { sha256: digest, stamp: before });
    return digest;
  }

  /** The remembered digest of `rel` (a path in the output), if the file at `abs` is still as it was hashed. */
  async lookup(rel: string, abs: string): Promise<string | undefined> {
    const entry = this.known.get(rel);
    if (!entry) return undefined;
    return (await stampOf(abs)) === entry.stamp ? entry.sha256 : undefined;
  }
}

async function stampOf(abs: string): Promise<string> {
  const st = await lstat(abs, { bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}
