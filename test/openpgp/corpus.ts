// rpm's own test keys and packages from ../shared/corpus (beside the checkout; never copied in).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../../fixtures/paths.js';

export const RPM_TESTS = join(projectRoot(), '..', 'shared', 'corpus', 'rpm-tests');
export const KEYS = join(RPM_TESTS, 'keys');
export const RPMS = join(RPM_TESTS, 'RPMS');

export function corpusPresent(): boolean {
  return existsSync(join(KEYS, 'rpm.org-rsa-2048-test.pub'));
}

export const keyPath = (name: string): string => join(KEYS, name);
export const keyFile = (name: string): Promise<Buffer> => readFile(keyPath(name));
export const rpmPath = (name: string): string => join(RPMS, name);

/** Fingerprints as gpg prints them for the corpus keys (gpg --show-keys --with-colons). */
export const RPM_ORG_RSA = '771B18D3D7BAA28734333C424344591E1964C5FC';
export const RPM_ORG_RSA_SUBKEY_ID = '185E6146F00650F8';
export const RPM_ORG_ED25519_SUBKEY_ID = '6323C42711450B6C';
export const ALICE = 'B6542F92F30650C36B6F41BCB3A771BFEB04E625';
export const ALICE_SUBKEY_ID = '1F71177215217EE0';
