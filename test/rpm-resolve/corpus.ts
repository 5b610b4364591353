// The real CentOS Stream 9 BaseOS repodata from ../shared/corpus (beside the checkout; never
// copied in), read the way the pipeline reads a repository: repomd.xml, then primary.xml and
// filelists.xml each checked against its repomd.xml entry (no repomd.xml.asc in the corpus).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../fixtures/paths.js';
import type { RpmRepository } from '../../stages/sources/rpm/model.js';
import { findFileProviders } from '../../stages/sources/rpm/repodata/filelists.js';
import { readPrimary } from '../../stages/sources/rpm/repodata/primary.js';
import { parseRepomd, repomdEntry } from '../../stages/sources/rpm/repodata/repomd.js';

export const BASEOS_DIR = join(projectRoot(), '..', 'shared', 'corpus', 'centos-stream-9-baseos');
const REPOMD = join(BASEOS_DIR, 'repodata', 'repomd.xml');

export function baseosPresent(): boolean {
  return existsSync(REPOMD);
}

export interface CorpusRepository {
  repository: RpmRepository;
  /** Looks paths up in filelists.xml: path -> package keys. */
  fileProviders: (paths: string[]) => Promise<Map<string, string[]>>;
}

export async function loadBaseos(priority = 99): Promise<CorpusRepository> {
  const repomd = parseRepomd(readFileSync(REPOMD), REPOMD);
  const primary = repomdEntry(repomd, 'primary', REPOMD);
  const filelists = repomdEntry(repomd, 'filelists', REPOMD);
  const packages = await readPrimary(join(BASEOS_DIR, primary.location), primary, primary.location);
  return {
    repository: { name: 'baseos', priority, packages },
    fileProviders: (paths) => findFileProviders(join(BASEOS_DIR, filelists.location), filelists, filelists.location, new Set(paths)),
  };
}
