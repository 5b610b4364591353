// variants/<name>.lock.yaml: the resolved Alpine package set of a variant, pinned.
// Written by `pipeline lock <variant>`, read by every build (compile reads it to create one
// fetch node per package). The file is deterministic (fixed key order, packages sorted by
// name) so a re-lock shows as a readable git diff.
//
//   lockVersion: 1
//   variant: iuppiter
//   arch: x86_64
//   requested: [alpine-base, openssh, ...]     (canonical spelling, sorted)
//   repositories:                              (priority order)
//     - name: main
//       url: <alpine-mirror>/v3.16/main/x86_64
//   packages:
//     busybox:
//       version: 1.35.0-r17
//       arch: x86_64
//       repository: main
//       size: 507831
//       checksum: Q1...                        (C: of the index: SHA1 of the control segment)
//       file: busybox-1.35.0-r17.apk           (fetched from <repository url>/<file>)
//       depends: [musl]                        (locked packages it needs: installed first)
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { LockFileError, readLockYaml } from '../lock-fields.js';
import type { ApkRepositoryRef } from './apkindex.js';
import { type Dependency, DependencyFormatError, formatDependency, parseDependency } from './depend.js';
import type { Resolution } from './resolve.js';

export const LOCK_VERSION = 1;

export interface LockedRepository {
  name: string;
  url: string;
  tag?: string;
}

export interface LockedPackage {
  name: string;
  version: string;
  arch: string;
  /** Name of the repository (in `repositories`) the package comes from. */
  repository: string;
  /** Size of the .apk in bytes, from the index. */
  size: number;
  /** The index checksum (`C:`), which the fetched package must match. */
  checksum: string;
  /** File name in the repository: `<name>-<version>.apk`. */
  file: string;
  /**
   * Locked packages this one depends on (each `D:` entry mapped to the package of the set that
   * provides it, conflicts left out): the rootfs installs dependencies first.
   */
  depends: string[];
}

export interface ApkLock {
  lockVersion: typeof LOCK_VERSION;
  variant: string;
  arch: string;
  /** The variant's requested packages, canonical and sorted (what the lock was made from). */
  requested: string[];
  /** Repositories in priority order. */
  repositories: LockedRepository[];
  /** Sorted by name. */
  packages: LockedPackage[];
}

export { LockFileError };

export interface LockDifference {
  /** Requested now, not when the lock was made. */
  added: string[];
  /** Requested when the lock was made, not now. */
  removed: string[];
  /** Same package, different constraint: `{ name, from: 'openssh', to: 'openssh>=9' }`. */
  changed: { name: string; from: string; to: string }[];
}

/** The lock was made from another package list than the variant's current one. */
export class LockOutOfDateError extends Error {
  constructor(
    readonly variant: string,
    readonly file: string,
    readonly difference: LockDifference,
  ) {
    super(`${file}: ${describeLockDifference(difference, variant)}`);
    this.name = 'LockOutOfDateError';
  }
}

/** Where a variant's lock lives. */
export function lockFilePath(projectRoot: string, variant: string): string {
  return join(projectRoot, 'variants', `${variant}.lock.yaml`);
}

/** `<name>-<version>.apk`: the package's file name in its repository. */
export function apkFileName(name: string, version: string): string {
  return `${name}-${version}.apk`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Canonical, sorted form of a request list (for the lock and for comparing with it). */
export function canonicalRequests(requested: readonly (string | Dependency)[]): string[] {
  const deps = requested.map((r) => (typeof r === 'string' ? parseDependency(r.trim(), { allowTag: true }) : r));
  return deps
    .map((d) => ({ name: d.name, text: formatDependency(d) }))
    .sort((a, b) => cmp(a.name, b.name) || cmp(a.text, b.text))
    .map((d) => d.text);
}

export interface LockInput {
  variant: string;
  arch: string;
  requested: readonly (string | Dependency)[];
  repositories: readonly ApkRepositoryRef[];
  resolution: Resolution;
}

/** Builds the lock of a resolved variant. Every repository needs a url to refetch from. */
export function lockFromResolution(input: LockInput): ApkLock {
  const repositories = input.repositories.map((r): LockedRepository => {
    if (!r.url) throw new Error(`repository ${r.name} of variant ${input.variant} has no url: the lock could not refetch its packages`);
    return r.tag === undefined ? { name: r.name, url: r.url } : { name: r.name, url: r.url, tag: r.tag };
  });
  const known = new Set(repositories.map((r) => r.name));
  const packages = input.resolution.packages.map(({ package: p }): LockedPackage => {
    if (!known.has(p.repository.name)) {
      throw new Error(`package ${p.name}-${p.version} comes from repository ${p.repository.name}, which variant ${input.variant} does not list`);
    }
    if (p.size === undefined) throw new Error(`package ${p.name}-${p.version} (repository ${p.repository.name}): the index gives no size (S:)`);
    return {
      name: p.name,
      version: p.version,
      arch: p.arch ?? input.arch,
      repository: p.repository.name,
      size: p.size,
      checksum: p.checksum,
      file: apkFileName(p.name, p.version),
      depends: [],
    };
  });
  packages.sort((a, b) => cmp(a.name, b.name));
  const providers = providerIndex(input.resolution.packages.map((r) => r.package));
  for (const locked of packages) {
    const pkg = input.resolution.packages.find((r) => r.package.name === locked.name)!.package;
    const names = new Set<string>();
    for (const dep of pkg.depends) {
      if (dep.conflict) continue;
      const provider = providers.get(dep.name);
      if (provider && provider !== locked.name) names.add(provider);
    }
    locked.depends = [...names].sort(cmp);
  }
  return {
    lockVersion: LOCK_VERSION,
    variant: input.variant,
    arch: input.arch,
    requested: canonicalRequests(input.requested),
    repositories,
    packages,
  };
}

/** Name or provided name -> the package of the set that carries it (a package's own name first). */
function providerIndex(set: readonly { name: string; provides: readonly { name: string }[] }[]): Map<string, string> {
  const index = new Map<string, string>();
  for (const p of set) index.set(p.name, p.name);
  for (const p of [...set].sort((a, b) => cmp(a.name, b.name))) {
    for (const provided of p.provides) if (!index.has(provided.name)) index.set(provided.name, p.name);
  }
  return index;
}

/** The lock as YAML text: fixed key order, packages keyed and sorted by name. */
export function serializeLock(lock: ApkLock): string {
  const packages: Record<string, Omit<LockedPackage, 'name'>> = {};
  for (const p of [...lock.packages].sort((a, b) => cmp(a.name, b.name))) {
    packages[p.name] = {
      version: p.version,
      arch: p.arch,
      repository: p.repository,
      size: p.size,
      checksum: p.checksum,
      file: p.file,
      depends: [...p.depends],
    };
  }
  const body = {
    lockVersion: lock.lockVersion,
    variant: lock.variant,
    arch: lock.arch,
    requested: [...lock.requested],
    repositories: lock.repositories.map((r) => (r.tag === undefined ? { name: r.name, url: r.url } : { name: r.name, url: r.url, tag: r.tag })),
    packages,
  };
  const header =
    `# Package lock of variant ${lock.variant}: generated by \`pipeline lock ${lock.variant}\`, do not edit.\n` +
    `# ${lock.packages.length} packages resolved from: ${lock.repositories.map((r) => r.name).join(', ')}.\n`;
  return header + stringify(body, { lineWidth: 0, indent: 2, sortMapEntries: false, defaultStringType: 'PLAIN' });
}

/** Parses and validates lock text; errors name the file and the entry. */
export function parseLock(text: string, file: string): ApkLock {
  const { data, fail, isRecord, str, int } = readLockYaml(text, file);
  if (!isRecord(data)) return fail('', 'expected a mapping at the top level');
  if (data.lockVersion !== LOCK_VERSION) fail('lockVersion', `expected ${LOCK_VERSION}, got ${JSON.stringify(data.lockVersion)}`);
  const variant = str(data.variant, 'variant');
  const arch = str(data.arch, 'arch');
  if (!Array.isArray(data.requested)) fail('requested', 'expected a list of package requests');
  const requested = (data.requested as unknown[]).map((r, i) => {
    const text = str(r, `requested[${i}]`);
    try {
      return formatDependency(parseDependency(text, { allowTag: true }));
    } catch (error) {
      if (error instanceof DependencyFormatError) return fail(`requested[${i}]`, error.message);
      throw error;
    }
  });
  if (!Array.isArray(data.repositories)) fail('repositories', 'expected a list of repositories');
  const repositories = (data.repositories as unknown[]).map((r, i): LockedRepository => {
    const entry = `repositories[${i}]`;
    if (!isRecord(r)) return fail(entry, 'expected a mapping with name and url');
    const repo: LockedRepository = { name: str(r.name, `${entry}.name`), url: str(r.url, `${entry}.url`) };
    if (r.tag !== undefined) repo.tag = str(r.tag, `${entry}.tag`);
    return repo;
  });
  const repoNames = new Set(repositories.map((r) => r.name));
  if (!isRecord(data.packages)) return fail('packages', 'expected a mapping of package name to details');
  const packages = Object.entries(data.packages).map(([name, value]): LockedPackage => {
    const entry = `packages.${name}`;
    if (!isRecord(value)) return fail(entry, 'expected a mapping');
    const p: LockedPackage = {
      name,
      version: str(value.version, `${entry}.version`),
      arch: str(value.arch, `${entry}.arch`),
      repository: str(value.repository, `${entry}.repository`),
      size: int(value.size, `${entry}.size`),
      checksum: str(value.checksum, `${entry}.checksum`),
      file: str(value.file, `${entry}.file`),
      depends: Array.isArray(value.depends)
        ? (value.depends as unknown[]).map((d, i) => str(d, `${entry}.depends[${i}]`))
        : fail(`${entry}.depends`, 'expected a list of package names'),
    };
    if (!repoNames.has(p.repository)) fail(`${entry}.repository`, `repository ${p.repository} is not listed under repositories`);
    if (p.file !== apkFileName(name, p.version)) fail(`${entry}.file`, `expected ${apkFileName(name, p.version)}, got ${p.file}`);
    return p;
  });
  packages.sort((a, b) => cmp(a.name, b.name));
  const locked = new Set(packages.map((p) => p.name));
  for (const p of packages) {
    for (const d of p.depends) if (!locked.has(d)) fail(`packages.${p.name}.depends`, `${d} is not a locked package`);
  }
  return { lockVersion: LOCK_VERSION, variant, arch, requested, repositories, packages };
}

export async function readLockFile(file: string): Promise<ApkLock> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LockFileError(file, '', 'no lock file: create it with `pipeline lock <variant>`');
    }
    throw error;
  }
  return parseLock(text, file);
}

/** Writes the lock atomically (a temp file renamed over the old one): never half a lock. */
export async function writeLockFile(file: string, lock: ApkLock): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(temp, serializeLock(lock));
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}

/** How the variant's current request list differs from the one the lock was made from. */
export function compareLockRequests(lock: ApkLock, requested: readonly (string | Dependency)[]): LockDifference {
  const group = (list: readonly string[]): Map<string, string> => {
    const byName = new Map<string, string[]>();
    for (const text of list) {
      const name = parseDependency(text, { allowTag: true }).name;
      byName.set(name, [...(byName.get(name) ?? []), text]);
    }
    return new Map([...byName].map(([name, texts]) => [name, texts.sort(cmp).join(' ')]));
  };
  const before = group(lock.requested);
  const now = group(canonicalRequests(requested));
  const names = [...new Set([...before.keys(), ...now.keys()])].sort(cmp);
  const difference: LockDifference = { added: [], removed: [], changed: [] };
  for (const name of names) {
    const from = before.get(name);
    const to = now.get(name);
    if (from === undefined) difference.added.push(to!);
    else if (to === undefined) difference.removed.push(from);
    else if (from !== to) difference.changed.push({ name, from, to });
  }
  return difference;
}

export function lockMatches(difference: LockDifference): boolean {
  return difference.added.length === 0 && difference.removed.length === 0 && difference.changed.length === 0;
}

/** "the lock no longer matches: added smartmontools; run `pipeline lock iuppiter` or pass --update-lock" */
export function describeLockDifference(difference: LockDifference, variant: string): string {
  if (lockMatches(difference)) return `the lock matches the package list of ${variant}`;
  const parts: string[] = [];
  if (difference.added.length > 0) parts.push(`added ${difference.added.join(', ')}`);
  if (difference.removed.length > 0) parts.push(`removed ${difference.removed.join(', ')}`);
  if (difference.changed.length > 0) parts.push(`changed ${difference.changed.map((c) => `${c.from} -> ${c.to}`).join(', ')}`);
  return `the lock no longer matches: ${parts.join('; ')}; run \`pipeline lock ${variant}\` or pass --update-lock`;
}

/** Throws LockOutOfDateError when the lock was made from another request list. */
export function assertLockMatches(lock: ApkLock, requested: readonly (string | Dependency)[], file: string): void {
  const difference = compareLockRequests(lock, requested);
  if (!lockMatches(difference)) throw new LockOutOfDateError(lock.variant, file, difference);
}
