// The two hashes the engine uses: xxh64 for node keys (fast; what the contract names) and
// SHA-256 for content (collision-resistant, and what a Bazel-protocol remote cache addresses by).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import xxhash from 'xxhash-wasm';

let xx: Awaited<ReturnType<typeof xxhash>> | undefined;

/** Loads the xxhash WebAssembly module once; call before keyHash(). */
export async function initHashing(): Promise<void> {
  xx ??= await xxhash();
}

/** xxh64 of a string as 16 hex digits. */
export function keyHash(text: string): string {
  if (!xx) throw new Error('initHashing() was not awaited before keyHash()');
  return xx.h64ToString(text);
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of a file, streamed: memory stays bounded whatever the file's size. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
