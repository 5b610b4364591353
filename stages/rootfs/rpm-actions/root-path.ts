// Paths inside the image root, resolved as the booted system would see them: a symlink's
// absolute target is relative to the root, and `..` never leaves it. EL roots reach most of
// their tree through links (/lib -> usr/lib), so an action asks for `lib/modules` and gets the
// directory the link points to.
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';

const MAX_LINKS = 40;

/**
 * Resolves `path` (relative to the root, `/`-separated) inside `root`, following symlinks as
 * if the root were `/`. Missing trailing components are kept as they are; returns the host path.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  const done: string[] = [];
  let links = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const candidate = join(root, ...done, part);
    const st = await lstat(candidate).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new Error(`/${[...done, part].join('/')}: too many levels of symbolic links in the image root`);
      const target = await readlink(candidate);
      if (target.startsWith('/')) done.length = 0;
      parts.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
      continue;
    }
    done.push(part);
  }
  return join(root, ...done);
}

/** Whether the path exists inside the root (symlinks followed inside the root). */
export async function existsInRoot(root: string, path: string): Promise<boolean> {
  const resolved = await resolveInRoot(root, path);
  return lstat(resolved).then(
    () => true,
    () => false,
  );
}

/** Like resolveInRoot, but the last component is not followed: where a link itself lives. */
export async function resolveParentInRoot(root: string, path: string): Promise<string> {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  const last = parts.pop();
  if (last === undefined || last === '..') return resolveInRoot(root, path);
  return join(await resolveInRoot(root, parts.join('/')), last);
}
