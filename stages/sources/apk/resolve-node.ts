// Node factory: resolve a variant's Alpine packages from its repositories' indexes.
// Inputs are the index nodes (one per repository, each writing the verified APKINDEX text);
// the output is the lock (lock.yaml, as variants/<name>.lock.yaml) and resolution.json
// (every package with the chain that brought it in, every provider choice and its rule).
// `pipeline lock <variant>` runs this node and copies lock.yaml into variants/.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeSpec } from '../../../graph/node.js';
import { type ApkRepositoryRef, parseApkIndex } from './apkindex.js';
import { lockFromResolution, serializeLock } from './lock.js';
import { resolvePackages } from './resolve.js';
import type { StageKind } from '../../kind.js';

export interface ResolveNodeRepository {
  name: string;
  url: string;
  tag?: string;
  /** Id of the node whose output holds this repository's verified index text. */
  indexNode: string;
  /** File of that output holding the text. Default `APKINDEX`. */
  indexFile?: string;
}

export interface ResolveNodeInput {
  variant: string;
  arch: string;
  /** The variant's requested packages, as written. */
  requested: string[];
  /** Repositories in priority order. */
  repositories: ResolveNodeRepository[];
}

export function apkResolveNodeId(variant: string): string {
  return `apk-resolve:${variant}`;
}

/** The variant's package list resolved against its indexes, as apk would: the lock. */
export const APK_RESOLVE_STAGE: StageKind = {
  kind: 'apk-resolve',
  // 2: a sole unversioned provider is no longer picked unasked (apk >= 2.12.10): a cached
  // resolve made under the old rule must not outlive it.
  version: 2,
  summary: 'Alpine package resolution',
  tools: [],
};

export function apkResolveNode(input: ResolveNodeInput): NodeSpec {
  const depName = (r: ResolveNodeRepository): string => `index-${r.name}`;
  const repositories = input.repositories.map((r) => ({
    name: r.name,
    url: r.url,
    ...(r.tag === undefined ? {} : { tag: r.tag }),
    indexFile: r.indexFile ?? 'APKINDEX',
  }));
  return {
    id: apkResolveNodeId(input.variant),
    kind: APK_RESOLVE_STAGE.kind,
    version: APK_RESOLVE_STAGE.version,
    deps: Object.fromEntries(input.repositories.map((r) => [depName(r), r.indexNode])),
    params: { variant: input.variant, arch: input.arch, requested: input.requested, repositories },
    description: `resolve the ${input.requested.length} requested Alpine packages of ${input.variant}`,
    async run(ctx) {
      const indexes = await Promise.all(
        input.repositories.map(async (r, i) => {
          const file = join(ctx.dep(depName(r)), repositories[i]!.indexFile);
          const ref: ApkRepositoryRef = { name: r.name, url: r.url, ...(r.tag === undefined ? {} : { tag: r.tag }) };
          return parseApkIndex(await readFile(file, 'utf8'), ref, `${r.indexNode}/${repositories[i]!.indexFile}`);
        }),
      );
      for (const index of indexes) for (const warning of index.warnings) ctx.log(`warning: ${warning}`);
      const resolution = resolvePackages({ requests: input.requested, indexes, arch: input.arch, label: input.variant });
      const lock = lockFromResolution({
        variant: input.variant,
        arch: input.arch,
        requested: input.requested,
        repositories: indexes.map((i) => i.repository),
        resolution,
      });
      await writeFile(join(ctx.out, 'lock.yaml'), serializeLock(lock));
      const summary = {
        packages: resolution.packages.map((p) => ({
          name: p.package.name,
          version: p.package.version,
          repository: p.package.repository.name,
          reason: p.reason,
          chain: p.chain,
        })),
        providers: resolution.providers,
      };
      await writeFile(join(ctx.out, 'resolution.json'), JSON.stringify(summary, null, 2) + '\n');
      ctx.log(`resolved ${resolution.packages.length} packages for ${input.variant}`);
    },
  };
}
