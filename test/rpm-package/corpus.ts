// rpm's own test packages and keys from ../shared/corpus (beside the checkout; never copied in).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../fixtures/paths.js';

export const RPM_CORPUS = join(projectRoot(), '..', 'shared', 'corpus', 'rpm-tests');
export const CORPUS_RPMS = join(RPM_CORPUS, 'RPMS');
export const CORPUS_KEYS = join(RPM_CORPUS, 'keys');

export function rpmCorpusPresent(): boolean {
  return existsSync(join(CORPUS_RPMS, 'hello-2.0-1.x86_64-signed.rpm'));
}

export function corpusRpm(name: string): string {
  return join(CORPUS_RPMS, name);
}

export function corpusKey(name: string): string {
  return join(CORPUS_KEYS, name);
}
