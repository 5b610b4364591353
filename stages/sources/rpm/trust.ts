// The trusted keys of an RPM source: OpenPGP key files, each pinned by its fingerprint (the
// variant's rpm.keys). A key file whose certificate is not the pinned one is refused before it is
// trusted for anything: a replaced file on disk cannot widen what the build accepts.
import { loadKeyringFiles, mergeKeyrings, pinKeyring, type PgpKeyring } from '../../../formats/openpgp/index.js';

export interface TrustedKeyFile {
  /** Project-relative path of the armored (or binary) public key. */
  file: string;
  /** Its primary key's v4 fingerprint (spaces allowed); unpinned keys are trusted as they are. */
  fingerprint?: string;
}

/** Loads every key file, each held to its pin. `resolve` maps a project path to the file to read. */
export async function loadTrustedKeys(keys: readonly TrustedKeyFile[], resolve: (file: string) => string): Promise<PgpKeyring> {
  const rings: PgpKeyring[] = [];
  for (const key of keys) {
    const ring = await loadKeyringFiles([resolve(key.file)]);
    rings.push(key.fingerprint ? pinKeyring(ring, [key.fingerprint], key.file) : ring);
  }
  return mergeKeyrings(...rings);
}

/** The keys as node parameters: a changed pin is a changed key. */
export function keyParams(keys: readonly TrustedKeyFile[]): Array<{ file: string; fingerprint: string | null }> {
  return keys.map((k) => ({ file: k.file, fingerprint: k.fingerprint ? k.fingerprint.replace(/\s+/g, '').toUpperCase() : null }));
}
