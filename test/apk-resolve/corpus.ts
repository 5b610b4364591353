// The real Alpine 3.16 main index from ../shared/corpus (beside the checkout; never copied in),
// read the way the pipeline reads an index: signature checked against the Alpine key shipped
// beside it, then the APKINDEX member extracted (index-file.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readApkIndexPath } from '../../stages/sources/apk/index-file.js';
import { loadTrustedKeys } from '../../stages/sources/apk/trust.js';
import { projectRoot } from '../../fixtures/paths.js';

export const CORPUS_DIR = join(projectRoot(), '..', 'shared', 'corpus', 'alpine-3.16-main-x86_64');
export const CORPUS_INDEX = join(CORPUS_DIR, 'APKINDEX.tar.gz');

export function corpusPresent(): boolean {
  return existsSync(CORPUS_INDEX);
}

/** Verifies the corpus index with the key beside it and returns its APKINDEX text. */
export async function readVerifiedCorpusIndex(): Promise<{ text: string; keyName: string }> {
  const keys = await loadTrustedKeys(CORPUS_DIR);
  const index = await readApkIndexPath(CORPUS_INDEX, keys);
  return { text: index.text, keyName: index.signedBy.keyName };
}
