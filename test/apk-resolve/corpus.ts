// The real Alpine 3.16 main index from ../shared/corpus (beside the checkout; never copied in).
// Until index-file.ts (signature check + extraction) is wired in, the APKINDEX member is read
// here with node:zlib and a minimal tar walk.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { projectRoot } from '../fixtures/paths.js';

export const CORPUS_DIR = join(projectRoot(), '..', 'shared', 'corpus', 'alpine-3.16-main-x86_64');
export const CORPUS_INDEX = join(CORPUS_DIR, 'APKINDEX.tar.gz');

export function corpusPresent(): boolean {
  return existsSync(CORPUS_INDEX);
}

/** Text of the `APKINDEX` member of an APKINDEX.tar.gz (all gzip members, then tar headers). */
export function readApkIndexText(file: string): string {
  const tar = gunzipSync(readFileSync(file));
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    const name = header.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '');
    if (name === '') break;
    const size = parseInt(header.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
    const body = offset + 512;
    if (name === 'APKINDEX') return tar.subarray(body, body + size).toString('utf8');
    offset = body + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${file}: no APKINDEX member`);
}
