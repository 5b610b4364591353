// The Alpine source part of a variant's graph: one index node per repository, the resolve node,
// and, once a lock pins the set, one fetch and one unpack node per package. Package nodes are
// named by package identity only (`apk:busybox@1.36.1-r2`), so variants that share a package
// share its nodes and their cache entries. Pure: the lock comes in with the inputs.
import { relative } from 'node:path';
import type { NodeSpec } from '../graph/node.js';
import { apkIndexNode } from '../stages/sources/apk/index-file.js';
import { compareLockRequests, describeLockDifference, lockMatches, parseLock, type ApkLock } from '../stages/sources/apk/lock.js';
import { apkFetchNode, apkUnpackNode } from '../stages/sources/apk/package.js';
import { apkResolveNode, apkResolveNodeId } from '../stages/sources/apk/resolve-node.js';
import { locate, mirrorLocation } from './config.js';
import type { CompileInputs } from './load.js';
import type { Problems } from './problems.js';
import type { Repository, Variant } from './variant.js';
import { packageLookups, type PackageSource } from './package-source.js';
import { recipeBuildPackages } from './recipes.js';
import { isRpmLock } from '../stages/sources/rpm/lock.js';

export interface AlpineSource extends PackageSource {
  format: 'apk';
  lock?: ApkLock;
}

/** `mirror://<mirror>/<path>/<arch>`: a repository named independently of who serves it. */
export function repositoryLocation(repo: Repository, arch: string): string {
  return mirrorLocation(repo.mirror, `${repo.path.replace(/\/+$/, '')}/${arch}`);
}

/** Mirror name -> location, from the command line and config file over the variant's defaults. */
export function mirrorTable(variant: Variant, config: CompileInputs['config']): Record<string, string> {
  return { ...(variant.mirrors ?? {}), ...config.mirrors };
}

export function alpineSource(inputs: CompileInputs, problems: Problems): AlpineSource {
  const { variant, source } = inputs.loaded;
  const alpine = variant.alpine!;
  // Recipes' build packages are resolved with the system's, from the same repositories; the
  // rootfs installs only what the system's own packages reach.
  const requested = [...new Set([...(variant.packages ?? []), ...recipeBuildPackages(inputs)])];
  const mirrors = mirrorTable(variant, inputs.config);
  const keysDir = alpine.keys;
  // The trusted keys are a declared input of every index and package node: a missing directory
  // is reported by the engine before anything runs, with where the variant names it.
  const keyHints = { [keysDir]: `${source.where(['alpine', 'keys'])}: alpine.keys names the trusted keys directory` };
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
    const mirror = repo.mirror;
    const unlocated = mirrors[mirror]
      ? undefined
      : `mirror '${mirror}' has no location: pass --mirror ${mirror}=<url> or set mirrors.${mirror} in pipeline.config.yaml (a URL, a file URL or a project-relative path)`;
    nodes.push({ ...index, hints: keyHints, ...(unlocated ? { unbuildable: unlocated } : {}) });
    return { name: repo.name, url: symbolic, indexNode: index.id };
  });
  const resolve = apkResolveNode({ variant: variant.name, arch: alpine.arch, requested, repositories });
  nodes.push(resolve);

  const lockFile = inputs.lockFile;
  const lock = inputs.lock && !isRpmLock(inputs.lock) && lockFits(inputs, inputs.lock, repositories.map((r) => r.name), problems) ? inputs.lock : undefined;

  const unpackIds = new Map<string, string>();
  const fetchIds = new Map<string, string>();
  for (const p of lock?.packages ?? []) {
    const repositoryUrl = locate(repositories.find((r) => r.name === p.repository)!.url, mirrors);
    const expected = { name: p.name, version: p.version, size: p.size, checksum: p.checksum };
    const fetch = apkFetchNode({ ...expected, repositoryUrl, keysDir });
    const unpack = apkUnpackNode({ ...expected, fetchNode: fetch.id, keysDir, maxUnpackedBytes: alpine.max_unpacked_size });
    nodes.push({ ...fetch, hints: keyHints }, { ...unpack, hints: keyHints });
    unpackIds.set(p.name, unpack.id);
    fetchIds.set(p.name, fetch.id);
  }

  return {
    format: 'apk',
    nodes,
    resolveId: resolve.id,
    resolutionIds: [...repositories.map((r) => r.indexNode), resolve.id],
    lock,
    lockFile,
    parseLock,
    ...packageLookups(lock, resolve.id, { unpack: unpackIds, fetch: fetchIds }),
  };
}

/** Does the lock still describe this variant? Each way it does not is a problem saying what to run. */
function lockFits(inputs: CompileInputs, lock: ApkLock, repositories: string[], problems: Problems): boolean {
  const { variant, source, root } = inputs.loaded;
  const display = relative(root, inputs.lockFile);
  const relock = `run \`pipeline lock ${variant.name}\` or pass --update-lock`;
  const before = problems.count;
  if (lock.arch !== variant.alpine!.arch) problems.add(`${display} was made for ${lock.arch}, the variant builds ${variant.alpine!.arch}; ${relock}`);
  try {
    const difference = compareLockRequests(lock, [...new Set([...(variant.packages ?? []), ...recipeBuildPackages(inputs)])]);
    if (!lockMatches(difference)) problems.add(`${display}: ${describeLockDifference(difference, variant.name)}`);
  } catch (err) {
    problems.add(`${source.where(['packages'])}: ${(err as Error).message}`);
  }
  for (const repo of lock.repositories) {
    if (!repositories.includes(repo.name)) problems.add(`${display} names repository '${repo.name}', which the variant no longer lists; ${relock}`);
  }
  return problems.count === before;
}

export { apkResolveNodeId };
