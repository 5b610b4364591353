// A file inside an unpacked package named by a pattern: `usr/lib/modules/*/vmlinuz` finds the
// kernel of an RPM kernel-core, whose release is in the path and changes with every update, so
// the variant need not. `*` matches within one path segment; the pattern must match exactly one
// file, or the error lists what it matched.
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export class PackagePathError extends Error {
  override name = 'PackagePathError';
}

export async function resolvePackagePath(root: string, pattern: string): Promise<string> {
  if (!pattern.includes('*')) return join(root, pattern);
  let candidates = [''];
  for (const segment of pattern.split('/').filter(Boolean)) {
    if (!segment.includes('*')) {
      candidates = candidates.map((c) => (c ? `${c}/${segment}` : segment));
      continue;
    }
    const matcher = new RegExp(`^${segment.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
    const next: string[] = [];
    for (const dir of candidates) {
      let names: string[] = [];
      try {
        names = await readdir(join(root, dir));
      } catch {
        continue;
      }
      for (const name of names.sort()) if (matcher.test(name)) next.push(dir ? `${dir}/${name}` : name);
    }
    candidates = next;
  }
  const present: string[] = [];
  for (const c of candidates) {
    try {
      await access(join(root, c));
      present.push(c);
    } catch {
      // not there
    }
  }
  if (present.length === 1) return join(root, present[0]!);
  if (present.length === 0) throw new PackagePathError(`${pattern}: no file in the package matches`);
  throw new PackagePathError(`${pattern}: matches ${present.length} files (${present.join(', ')}); name one`);
}
