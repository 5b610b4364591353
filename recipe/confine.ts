// Paths as a recipe names them (/build/x, /out/usr/bin/y, or relative to /build) mapped to the
// host directories behind the sandbox, refused when they leave them: no `..`, no symlink that
// resolves outside. Reads may see /build, /out and /recipe; writes only /build and /out.
import { lstatSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { SANDBOX_PATHS } from './api.js';

export interface SandboxDirs {
  build: string;
  out: string;
  recipe: string;
}

export class ConfinementError extends Error {
  override name = 'ConfinementError';
}

type Area = keyof SandboxDirs;
const AREAS: Area[] = ['build', 'out', 'recipe'];

/** The area and the path inside it, or a ConfinementError saying why not. */
function split(path: string): { area: Area; rest: string[] } {
  if (typeof path !== 'string' || path === '') throw new ConfinementError('a path must be a non-empty string');
  if (path.includes('\0')) throw new ConfinementError(`${JSON.stringify(path)}: a path cannot contain NUL`);
  const absolute = path.startsWith('/') ? path : `${SANDBOX_PATHS.build}/${path}`;
  const parts = absolute.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new ConfinementError(`${path}: '..' is not allowed in recipe paths`);
  const area = AREAS.find((a) => `/${parts[0]}` === SANDBOX_PATHS[a]);
  if (!area) throw new ConfinementError(`${path} is outside BUILD_DIR (${SANDBOX_PATHS.build}), OUT (${SANDBOX_PATHS.out}) and RECIPE_DIR (${SANDBOX_PATHS.recipe})`);
  return { area, rest: parts.slice(1) };
}

/**
 * Follows symlinks inside the area, as the sandbox would see them: an absolute target is read
 * against the sandbox's root, so it must land in the same area again. Gives the host path.
 */
function resolve(dirs: SandboxDirs, area: Area, rest: string[], original: string, followLast: boolean): string {
  const pending = [...rest];
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    const host = join(dirs[area], ...done, part);
    let isLink = false;
    try {
      isLink = lstatSync(host).isSymbolicLink();
    } catch {
      // Missing: the rest cannot be links; done.
      return join(dirs[area], ...done, part, ...pending);
    }
    if (!isLink || (!followLast && pending.length === 0)) {
      done.push(part);
      continue;
    }
    if (++hops > 40) throw new ConfinementError(`${original}: too many levels of symbolic links`);
    const target = readlinkSync(host);
    const joined = target.startsWith('/') ? target : posix.join(SANDBOX_PATHS[area], ...done, target);
    let next: ReturnType<typeof split> | undefined;
    try {
      next = split(posix.normalize(joined));
    } catch {
      next = undefined;
    }
    if (!next || next.area !== area) throw new ConfinementError(`${original}: a symlink leads out of ${SANDBOX_PATHS[area]} (${target})`);
    pending.unshift(...next.rest);
    done.length = 0;
  }
  return join(dirs[area], ...done);
}

/** Host path to read (may be under /recipe). */
export function readablePath(dirs: SandboxDirs, path: string, followLast = true): string {
  const { area, rest } = split(path);
  return resolve(dirs, area, rest, path, followLast);
}

/** Host path to write: only /build and /out (the directories themselves only as a destination to write into). */
export function writablePath(dirs: SandboxDirs, path: string, followLast = true, intoAreaRoot = false): string {
  const { area, rest } = split(path);
  if (area === 'recipe') throw new ConfinementError(`${path}: RECIPE_DIR is read-only`);
  if (rest.length === 0 && !intoAreaRoot) throw new ConfinementError(`${path}: cannot replace ${SANDBOX_PATHS[area]} itself`);
  return resolve(dirs, area, rest, path, followLast);
}

/** The sandbox path of a host path inside one of the areas (for return values). */
export function sandboxPath(dirs: SandboxDirs, host: string): string {
  for (const area of AREAS) {
    if (host === dirs[area]) return SANDBOX_PATHS[area];
    if (host.startsWith(`${dirs[area]}/`)) return `${SANDBOX_PATHS[area]}/${host.slice(dirs[area].length + 1)}`;
  }
  throw new ConfinementError(`${host} is outside the sandbox`);
}
