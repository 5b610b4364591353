// The Alpine source part of a variant's graph: one index node per repository, the resolve node,
// and, once a lock pins the set, one fetch and one unpack node per package. Package nodes are
// named by package identity only (`apk:busybox@1.36.1-r2`), so variants that share a package
// share its nodes and their cache entries.
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { ConfigError } from '../graph/errors.js';
import type { NodeSpec } from '../graph/node.js';
import { apkIndexNode } from '../stages/sources/apk/index-file.js';
import { compareLockRequests, describeLockDifference, lockFilePath, lockMatches, readLockFile, type ApkLock, LockFileError } from '../stages/sources/apk/lock.js';
import { apkFetchNode, apkUnpackNode } from '../stages/sources/apk/package.js';
import { apkResolveNode, apkResolveNodeId } from '../stages/sources/apk/resolve-node.js';
import { locate, mirrorLocation, type BuildConfig } from './config.js';
import type { LoadedVariant, Repository, Variant } from './variant.js';

export interface AlpineSource {
  nodes: NodeSpec[];
  /** The resolve node: it stands for the package nodes while there is no lock. */
  resolveId: string;
  lock?: ApkLock;
  lockFile: string;
  /** Node id of a package's unpacked tree (the resolve node while unlocked). */
  packageNode(name: string): string;
  /** Node id of a locked package's download. */
  fetchNode(name: string): string;
  /** Locked package names, dependencies before the packages that need them (empty while unlocked). */
  installOrder(): string[];
  /** Mirrors the repositories name that have no location (from --mirror, the config or the variant). */
  unlocatedMirrors: string[];
}

export type LockMode = 'use' | 'ignore';

/** `mirror://<mirror>/<path>/<arch>`: a repository named independently of who serves it. */
export function repositoryLocation(repo: Repository, arch: string): string {
  return mirrorLocation(repo.mirror, `${repo.path.replace(/\/+$/, '')}/${arch}`);
}

/** Mirror name -> location, from the command line and config file over the variant's defaults. */
export function mirrorTable(variant: Variant, config: BuildConfig): Record<string, string> {
  return { ...(variant.mirrors ?? {}), ...config.mirrors };
}

export async function alpineSource(loaded: LoadedVariant, config: BuildConfig, mode: LockMode): Promise<AlpineSource> {
  const { variant, source, root } = loaded;
  const alpine = variant.alpine!;
  const requested = variant.packages ?? [];
  const mirrors = mirrorTable(variant, config);
  const keysDir = alpine.keys;
  if (!existsSync(`${root}/${keysDir}`)) throw new ConfigError(`${source.where(['alpine', 'keys'])}: trusted keys directory ${keysDir} does not exist`);
  const nodes: NodeSpec[] = [];

  const repositories = alpine.repositories.map((repo) => {
    const symbolic = repositoryLocation(repo, alpine.arch);
    const index = apkIndexNode({
      id: `apk-index:${repo.mirror}/${repo.path}/${alpine.arch}`,
      repository: repo.name,
      url: locate(symbolic, mirrors),
      keysDir,
      maxUnpackedBytes: alpine.max_unpacked_size,
    });
    nodes.push(index);
    return { name: repo.name, url: symbolic, indexNode: index.id };
  });
  const resolve = apkResolveNode({ variant: variant.name, arch: alpine.arch, requested, repositories });
  nodes.push(resolve);

  const lockFile = lockFilePath(root, variant.name);
  let lock: ApkLock | undefined;
  if (mode === 'use' && existsSync(lockFile)) {
    try {
      lock = await readLockFile(lockFile);
    } catch (err) {
      if (err instanceof LockFileError) throw new ConfigError(`${err.message}; fix it, or run \`pipeline lock ${variant.name}\` to write it anew`);
      throw err;
    }
    const display = relative(root, lockFile);
    if (lock.arch !== alpine.arch) {
      throw new ConfigError(`${display} was made for ${lock.arch}, the variant builds ${alpine.arch}; run \`pipeline lock ${variant.name}\` or pass --update-lock`);
    }
    let difference;
    try {
      difference = compareLockRequests(lock, requested);
    } catch (err) {
      throw new ConfigError(`${source.where(['packages'])}: ${(err as Error).message}`);
    }
    if (!lockMatches(difference)) {
      throw new ConfigError(`${display}: ${describeLockDifference(difference, variant.name)}`);
    }
    const known = new Map(repositories.map((r) => [r.name, r.url]));
    for (const repo of lock.repositories) {
      if (!known.has(repo.name)) {
        throw new ConfigError(`${display} names repository '${repo.name}', which the variant no longer lists; run \`pipeline lock ${variant.name}\` or pass --update-lock`);
      }
    }
  }

  const unpackIds = new Map<string, string>();
  const fetchIds = new Map<string, string>();
  for (const p of lock?.packages ?? []) {
    const repositoryUrl = locate(repositories.find((r) => r.name === p.repository)!.url, mirrors);
    const expected = { name: p.name, version: p.version, size: p.size, checksum: p.checksum };
    const fetch = apkFetchNode({ ...expected, repositoryUrl, keysDir });
    const unpack = apkUnpackNode({ ...expected, fetchNode: fetch.id, keysDir, maxUnpackedBytes: alpine.max_unpacked_size });
    nodes.push(fetch, unpack);
    unpackIds.set(p.name, unpack.id);
    fetchIds.set(p.name, fetch.id);
  }

  const unlocatedMirrors = [...new Set(alpine.repositories.map((r) => r.mirror))].filter((m) => !mirrors[m]).sort();
  return {
    nodes,
    unlocatedMirrors,
    resolveId: resolve.id,
    lock,
    lockFile,
    packageNode(name) {
      if (!lock) return resolve.id;
      const id = unpackIds.get(name);
      if (!id) throw new ConfigError(`package '${name}' is not in ${relative(root, lockFile)}: add it to packages (or to what they depend on) and run \`pipeline lock ${variant.name}\``);
      return id;
    },
    fetchNode(name) {
      const id = fetchIds.get(name);
      if (!id) throw new Error(`no fetch node for ${name}`);
      return id;
    },
    installOrder() {
      return lock ? installOrder(lock) : [];
    },
  };
}

/**
 * Dependencies first (Kahn's algorithm, ties by name, so the order is deterministic); a
 * dependency cycle, which apk allows, is entered at its alphabetically first package.
 */
export function installOrder(lock: ApkLock): string[] {
  const waiting = new Map(lock.packages.map((p) => [p.name, new Set(p.depends)]));
  const order: string[] = [];
  while (waiting.size > 0) {
    const ready = [...waiting.entries()].filter(([, deps]) => deps.size === 0).map(([name]) => name).sort();
    const next = ready[0] ?? [...waiting.keys()].sort()[0];
    order.push(next);
    waiting.delete(next);
    for (const deps of waiting.values()) deps.delete(next);
  }
  return order;
}

export { apkResolveNodeId };
