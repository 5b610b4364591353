// Node factory: an RPM variant's lock. Inputs are its repositories' verified repodata (one
// rpm-repodata node each); the node resolves the package list as dnf would, then reads the head
// of every chosen package (lead and headers only: the transfer stops where the payload starts),
// verifies its header digest and signature, records its scriptlets with their digests, and
// reviews them: a scriptlet that no post-install action covers (stages/rootfs/rpm-actions/) and
// the variant has not marked as reviewed fails the lock, listed. Output: lock.yaml (copied to
// variants/<name>.lock.yaml by the lock phase) and resolution.json (why each package is there).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { NodeSpec } from '../../../graph/node.js';
import { rpmHeadLength } from '../../../formats/rpm/header.js';
import { reviewScriptlets, scriptletName, type PackageScriptlets } from '../../rootfs/rpm-actions/index.js';
import type { StageKind } from '../../kind.js';
import { joinLocation, readHead } from '../download.js';
import { canonicalRpmRequests, formatEvr, serializeRpmLock, type LockedScriptlet, type RpmLock } from './lock.js';
import type { RpmPackageMeta } from './model.js';
import { verifyRpmHead } from './package.js';
import { readScriptlets, type RpmScriptlet } from './package-info.js';
import { loadRpmRepodata, type RpmRepodata } from './repodata/index-node.js';
import { resolveRpmPackages, type RpmResolvedPackage } from './resolve.js';
import { isRichDep, parseRichDepCached, richAtoms } from './rich-deps.js';
import { keyParams, loadTrustedKeys, type TrustedKeyFile } from './trust.js';

export const RPM_LOCK_STAGE: StageKind = { kind: 'rpm-resolve', version: 1, summary: 'RPM package resolution, header and scriptlet review', tools: [] };

/** A package's head is its lead and headers: a few hundred KiB even for a kernel. */
const MAX_HEAD_BYTES = 64 << 20;

export interface RpmLockRepository {
  name: string;
  /** `mirror://<mirror>/<path>`: what the lock records. */
  url: string;
  /** Where it is read from now (unkeyed: another mirror with the same bytes costs nothing). */
  located: string;
  priority: number;
  /** The rpm-repodata node of this repository. */
  repodataNode: string;
}

export interface RpmLockNodeInput {
  variant: string;
  arch: string;
  requested: string[];
  weakDeps: boolean;
  repositories: RpmLockRepository[];
  keys: TrustedKeyFile[];
  /** `<package>` or `<package>/<scriptlet>` the variant accepts not running. */
  reviewed: string[];
}

export function rpmLockNodeId(variant: string): string {
  return `rpm-resolve:${variant}`;
}

export function rpmLockNode(input: RpmLockNodeInput): NodeSpec {
  const depName = (r: RpmLockRepository) => `repodata-${r.name}`;
  return {
    id: rpmLockNodeId(input.variant),
    kind: RPM_LOCK_STAGE.kind,
    version: RPM_LOCK_STAGE.version,
    deps: Object.fromEntries(input.repositories.map((r) => [depName(r), r.repodataNode])),
    files: input.keys.map((k) => k.file),
    params: {
      variant: input.variant,
      arch: input.arch,
      requested: input.requested,
      weakDeps: input.weakDeps,
      repositories: input.repositories.map((r) => ({ name: r.name, url: r.url, priority: r.priority })),
      keys: keyParams(input.keys),
      reviewed: [...input.reviewed].sort(),
    },
    unkeyed: { located: Object.fromEntries(input.repositories.map((r) => [r.name, r.located])) },
    description: `resolve the ${input.requested.length} requested RPM packages of ${input.variant}, review their scriptlets`,
    async run(ctx) {
      const located = (ctx.unkeyed as { located: Record<string, string> }).located;
      const repodata = await Promise.all(input.repositories.map((r) => loadRpmRepodata(ctx.dep(depName(r)))));
      const resolution = await resolveRpmPackages({
        repositories: input.repositories.map((r, i) => ({ name: r.name, priority: r.priority, packages: repodata[i]!.packages })),
        requests: input.requested,
        arch: input.arch,
        installWeakDeps: input.weakDeps,
        label: input.variant,
        fileProviders: (paths) => fileProviders(repodata, paths),
      });
      ctx.log(`resolved ${resolution.packages.length} packages (${resolution.stats.pool} in the pool)`);

      // Heads, a few at a time: verified like the fetch node verifies the whole file, then read.
      const keyring = await loadTrustedKeys(input.keys, (f) => ctx.file(f));
      const limit = pLimit(4);
      const heads = await Promise.all(
        resolution.packages.map((p) =>
          limit(async () => {
            const meta = p.package;
            const url = joinLocation(located[p.repository]!, meta.location);
            const head = await readHead(url, (prefix) => rpmHeadLength(prefix, p.nevra), {
              maxBytes: MAX_HEAD_BYTES,
              subject: p.nevra,
              signal: ctx.signal,
              baseDir: ctx.root,
              log: (line) => ctx.log(line),
            });
            const path = join(ctx.tmp, `${p.nevra}.head`);
            await writeFile(path, head);
            const verified = await verifyRpmHead({ rpmPath: path, expected: { name: meta.name, evr: meta.evr, arch: meta.arch }, keyring, headOnly: true });
            return { resolved: p, ...readScriptlets(verified.head.header), signedBy: verified.signedBy };
          }),
        ),
      );

      const review = reviewScriptlets(
        heads.map(
          (h): PackageScriptlets => ({
            name: h.resolved.package.name,
            scriptlets: h.scriptlets.map((s) => ({
              name: s.name,
              kind: h.triggers.find((t) => t.script === s.name)?.type,
              interpreter: s.interpreter,
              args: s.args,
              body: s.body.toString('utf8'),
            })),
          }),
        ),
        input.reviewed,
      );
      if (review.uncovered.length > 0) {
        const lines = review.uncovered.map(
          (u) => `  ${u.package}/${u.scriptlet} (${u.interpreter}): ${u.reason}${u.firstLines ? `\n      ${u.firstLines.split('\n').join('\n      ')}` : ''}`,
        );
        throw new Error(
          `${input.variant}: ${review.uncovered.length} scriptlet(s) that no post-install action covers (scriptlets never run at build time):\n${lines.join('\n')}\n` +
            `Review each, then list it under rpm.reviewed_scriptlets (\`<package>/<scriptlet>\`, or \`<package>\` for all of its scriptlets) to accept not running it.`,
        );
      }
      const coverage = new Map(review.covered.map((c) => [`${c.package}/${c.scriptlet}`, c.status === 'covered' ? c.actions : [c.status]]));

      const depends = dependsWithin(resolution.packages.map((p) => p.package));
      const lock: RpmLock = {
        lockVersion: 1,
        format: 'rpm',
        variant: input.variant,
        arch: input.arch,
        weakDeps: input.weakDeps,
        requested: canonicalRpmRequests(input.requested),
        repositories: input.repositories.map((r) => ({ name: r.name, url: r.url, priority: r.priority })),
        packages: heads.map(({ resolved, scriptlets }) => {
          const meta = resolved.package;
          if (meta.checksum.type !== 'sha256') throw new Error(`${resolved.nevra}: the repository gives a ${meta.checksum.type} checksum; the lock pins sha256`);
          return {
            name: meta.name,
            evr: { ...meta.evr },
            version: formatEvr(meta.evr),
            arch: meta.arch,
            repository: resolved.repository,
            size: meta.size,
            checksum: `sha256:${meta.checksum.hex}`,
            location: joinLocation(input.repositories.find((r) => r.name === resolved.repository)!.url, meta.location),
            depends: depends.get(meta.name) ?? [],
            scriptlets: scriptlets.map((s: RpmScriptlet): LockedScriptlet => ({
              name: s.name,
              interpreter: s.interpreter,
              sha256: s.sha256,
              covered: coverage.get(`${meta.name}/${scriptletName(s.name)}`) ?? [],
            })),
          };
        }),
      };
      await writeFile(join(ctx.out, 'lock.yaml'), serializeRpmLock(lock));
      await writeFile(join(ctx.out, 'resolution.json'), JSON.stringify(resolutionSummary(resolution.packages, heads), null, 2) + '\n');
      const actions = review.actions.length ? review.actions.join(', ') : 'none';
      ctx.log(`locked ${lock.packages.length} packages; scriptlets reviewed: ${review.covered.length} covered or not run on install (actions: ${actions})`);
    },
  };
}

/** File paths primary.xml does not answer, looked up in every repository's filelists. */
async function fileProviders(repodata: readonly RpmRepodata[], paths: string[]): Promise<Map<string, string[]>> {
  const merged = new Map<string, string[]>();
  for (const repo of repodata) {
    for (const [path, keys] of await repo.findFileProviders(new Set(paths))) merged.set(path, [...(merged.get(path) ?? []), ...keys]);
  }
  return merged;
}

/**
 * For the install order: the chosen packages each one requires (by name, provide or file; rich
 * dependencies by their atoms), itself left out. A requirement no chosen package meets (a rich
 * dependency's branch not taken) adds nothing.
 */
function dependsWithin(chosen: readonly RpmPackageMeta[]): Map<string, string[]> {
  const providers = new Map<string, Set<string>>();
  const add = (what: string, name: string) => {
    let set = providers.get(what);
    if (!set) providers.set(what, (set = new Set()));
    set.add(name);
  };
  for (const p of chosen) {
    add(p.name, p.name);
    for (const provide of p.provides) add(provide.name, p.name);
    for (const file of p.files) add(file, p.name);
  }
  const out = new Map<string, string[]>();
  for (const p of chosen) {
    const names = new Set<string>();
    for (const req of p.requires) {
      const atoms = isRichDep(req.name) ? richAtoms(parseRichDepCached(req.name)).map((a) => a.name) : [req.name];
      for (const atom of atoms) for (const provider of providers.get(atom) ?? []) if (provider !== p.name) names.add(provider);
    }
    out.set(p.name, [...names].sort());
  }
  return out;
}

function resolutionSummary(packages: readonly RpmResolvedPackage[], heads: ReadonlyArray<{ resolved: RpmResolvedPackage; signedBy?: string }>) {
  const signer = new Map(heads.map((h) => [h.resolved.nevra, h.signedBy]));
  return {
    packages: packages.map((p) => ({
      nevra: p.nevra,
      repository: p.repository,
      reason: p.reason,
      dependency: p.dependency,
      chain: p.chain,
      signedBy: signer.get(p.nevra) ?? null,
    })),
  };
}
