// The real CentOS Stream 9 BaseOS repodata from ../shared/corpus (beside the checkout; read in
// place, never copied in). It has no repomd.xml.asc: readers use the unsigned path.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../fixtures/paths.js';
import { parseRepomd, repomdEntry, type Repomd, type RepomdEntry } from '../../stages/sources/rpm/repodata/repomd.js';

export const CS9_DIR = join(projectRoot(), '..', 'shared', 'corpus', 'centos-stream-9-baseos');
export const CS9_REPOMD = join(CS9_DIR, 'repodata', 'repomd.xml');

export function corpusPresent(): boolean {
  return existsSync(CS9_REPOMD);
}

export function corpusRepomd(): Repomd {
  return parseRepomd(readFileSync(CS9_REPOMD), CS9_REPOMD);
}

/** The entry of `type` and the path of its file. */
export function corpusFile(type: string): { entry: RepomdEntry; path: string } {
  const entry = repomdEntry(corpusRepomd(), type, CS9_REPOMD);
  return { entry, path: join(CS9_DIR, entry.location) };
}
