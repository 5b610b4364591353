// Streaming SHA-256 of files: root images and ISOs run to hundreds of MB, never read them whole.
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { sha256File } from '../../graph/hash.js';

/** Feeds a file's bytes into a running hash. */
export async function hashFileInto(hash: Hash, path: string): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
}

export { sha256File };

/** Writes `<file>.sha256` in sha256sum's format (`<hex>  <name>`), checkable with `sha256sum -c`. */
export async function writeSha256File(file: string, hash: (path: string) => Promise<string> = sha256File): Promise<string> {
  const digest = await hash(file);
  await writeFile(`${file}.sha256`, `${digest}  ${basename(file)}\n`);
  return digest;
}
