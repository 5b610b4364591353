// The RPM source part of a variant's graph: one repodata node per repository, the lock node
// (resolution, package heads, scriptlet review), and, once a lock pins the set, one fetch and one
// unpack node per package. Package nodes are named by package identity only
// (`rpm:bash-5.2.26-6.el10.x86_64`), so variants that share a package share its nodes and their
// cache entries. Pure: the lock comes in with the inputs.
import { relative } from 'node:path';
import type { NodeSpec } from '../graph/node.js';
import { canonicalRpmRequests, formatEvr, isRpmLock, parseRpmLock, type RpmLock } from '../stages/sources/rpm/lock.js';
import { rpmLockNode, rpmLockNodeId } from '../stages/sources/rpm/lock-node.js';
import { rpmFetchNode, rpmUnpackNode } from '../stages/sources/rpm/package.js';
import { rpmRepodataNode } from '../stages/sources/rpm/repodata/index-node.js';
import type { TrustedKeyFile } from '../stages/sources/rpm/trust.js';
import { mirrorTable } from './alpine.js';
import { locate, mirrorLocation } from './config.js';
import type { CompileInputs } from './load.js';
import { packageLookups, type PackageSource } from './package-source.js';
import type { Problems } from './problems.js';

export interface RpmSource extends PackageSource {
  format: 'rpm';
  lock?: RpmLock;
}

/** dnf's default repository priority. */
const DEFAULT_PRIORITY = 99;

export function rpmSource(inputs: CompileInputs, problems: Problems): RpmSource {
  const { variant, source } = inputs.loaded;
  const rpm = variant.rpm!;
  const mirrors = mirrorTable(variant, inputs.config);
  const requested = [...new Set(variant.packages ?? [])];
  if ((variant.recipes ?? []).length > 0) {
    problems.add(`${source.where(['recipes'])}: recipes are built on Alpine variants (their build roots are Alpine packages); ${variant.name} is an RPM variant`);
  }
  const keys: TrustedKeyFile[] = rpm.keys.map((k) => ({ file: k.file, fingerprint: k.fingerprint }));
  // The trusted keys are declared inputs of every repodata, lock and package node: a missing
  // file is reported by the engine before anything runs, with where the variant names it.
  const keyHints = Object.fromEntries(
    rpm.keys.map((k, i) => [k.file, `${source.where(['rpm', 'keys', i, 'file'])}: a trusted key (fingerprint ${k.fingerprint}); see the variant's comments for where to get it`]),
  );
  const nodes: NodeSpec[] = [];

  const repositories = rpm.repositories.map((repo) => {
    const symbolic = mirrorLocation(repo.mirror, repo.path.replace(/\/+$/, ''));
    const located = locate(symbolic, mirrors);
    const node = rpmRepodataNode({ id: `rpm-repodata:${repo.mirror}/${repo.path.replace(/\/+$/, '')}`, repository: repo.name, url: located, keys });
    const unlocated = mirrors[repo.mirror]
      ? undefined
      : `mirror '${repo.mirror}' has no location: pass --mirror ${repo.mirror}=<url> or set mirrors.${repo.mirror} in pipeline.config.yaml (a URL, a file URL or a project-relative path)`;
    nodes.push({ ...node, hints: keyHints, ...(unlocated ? { unbuildable: unlocated } : {}) });
    return { name: repo.name, url: symbolic, located, priority: repo.priority ?? DEFAULT_PRIORITY, repodataNode: node.id };
  });
  const lockNode = rpmLockNode({
    variant: variant.name,
    arch: rpm.arch,
    requested,
    weakDeps: rpm.weak_deps ?? true,
    repositories,
    keys,
    reviewed: rpm.reviewed_scriptlets ?? [],
  });
  nodes.push({ ...lockNode, hints: keyHints });

  const lock = inputs.lock && isRpmLock(inputs.lock) && lockFits(inputs, inputs.lock, problems) ? inputs.lock : undefined;
  const unpackIds = new Map<string, string>();
  const fetchIds = new Map<string, string>();
  for (const p of lock?.packages ?? []) {
    const repo = repositories.find((r) => r.name === p.repository)!;
    const location = p.location.startsWith(`${repo.url}/`) ? p.location.slice(repo.url.length + 1) : undefined;
    if (!location) {
      problems.add(`${relative(inputs.loaded.root, inputs.lockFile)}: ${p.name} is located at ${p.location}, outside its repository ${repo.url}; run \`pipeline lock ${variant.name}\``);
      continue;
    }
    const identity = { name: p.name, evr: p.evr, arch: p.arch };
    const fetch = rpmFetchNode({ ...identity, size: p.size, sha256: p.checksum.replace(/^sha256:/, ''), location, repositoryUrl: repo.located, keys });
    const unpack = rpmUnpackNode({ ...identity, fetchNode: fetch.id, keys, maxUnpackedBytes: rpm.max_unpacked_size });
    nodes.push({ ...fetch, hints: keyHints }, { ...unpack, hints: keyHints });
    unpackIds.set(p.name, unpack.id);
    fetchIds.set(p.name, fetch.id);
  }

  return {
    format: 'rpm',
    nodes,
    resolveId: lockNode.id,
    resolutionIds: [...repositories.map((r) => r.repodataNode), lockNode.id],
    lock,
    lockFile: inputs.lockFile,
    parseLock: parseRpmLock,
    ...packageLookups(lock, lockNode.id, { unpack: unpackIds, fetch: fetchIds }),
  };
}

/** Does the lock still describe this variant? Each way it does not is a problem saying what to run. */
function lockFits(inputs: CompileInputs, lock: RpmLock, problems: Problems): boolean {
  const { variant } = inputs.loaded;
  const rpm = variant.rpm!;
  const display = relative(inputs.loaded.root, inputs.lockFile);
  const relock = `run \`pipeline lock ${variant.name}\` or pass --update-lock`;
  const before = problems.count;
  if (lock.arch !== rpm.arch) problems.add(`${display} was made for ${lock.arch}, the variant builds ${rpm.arch}; ${relock}`);
  if (lock.weakDeps !== (rpm.weak_deps ?? true)) problems.add(`${display} was made with weak dependencies ${lock.weakDeps ? 'on' : 'off'}; ${relock}`);
  const now = canonicalRpmRequests(variant.packages ?? []);
  const added = now.filter((r) => !lock.requested.includes(r));
  const removed = lock.requested.filter((r) => !now.includes(r));
  if (added.length || removed.length) {
    const parts = [added.length ? `added ${added.join(', ')}` : '', removed.length ? `removed ${removed.join(', ')}` : ''].filter(Boolean);
    problems.add(`${display}: the lock no longer matches: ${parts.join('; ')}; ${relock}`);
  }
  const names = new Set(rpm.repositories.map((r) => r.name));
  for (const repo of lock.repositories) if (!names.has(repo.name)) problems.add(`${display} names repository '${repo.name}', which the variant no longer lists; ${relock}`);
  return problems.count === before;
}

export { rpmLockNodeId, formatEvr };
