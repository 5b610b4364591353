// The order mksquashfs walks a directory source in: depth first, each directory's names sorted
// bytewise. A tar stream in this order gives the same image bytes as mksquashfs reading the
// directory (file data and fragments are written in the order files are met). It differs from the
// manifest's whole-path order where a name continues with a byte below '/':
// `lib/foo/x` comes before `lib/foo-1` here, after it in the manifest.
import type { ManifestEntry } from '../shared/manifest.js';

/** Entries sorted the way mksquashfs meets them; the input is not changed. */
export function inSquashfsOrder(entries: readonly ManifestEntry[]): ManifestEntry[] {
  // '/' as NUL makes a plain bytewise compare order by components: a parent's NUL sorts before
  // any byte a sibling's name may continue with.
  const keyed = entries.map((entry) => ({ entry, key: Buffer.from(entry.path.replaceAll('/', '\0')) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return keyed.map((k) => k.entry);
}
