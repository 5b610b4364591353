// Merging the packages' trees in the resolver's order. A path installed twice is fine when
// both installs agree (directories always do: the first package's metadata stays). Different
// content at one path is a conflict, unless one package lists the other in `replaces` (.PKGINFO),
// as apk allows; then the replacing package's file wins whichever came first.
import { join } from 'node:path';
import type { ManifestEntry } from '../shared/manifest.js';
import { PathConflictError } from './errors.js';
import { replacedNames, type UnpackedPackage } from './package-input.js';
import type { RootTree, TreeNode } from './tree.js';

export interface MergeReport {
  /** Paths where `replaces` decided: `/path: winner replaces loser`. */
  replaced: string[];
}

export function mergePackages(tree: RootTree, packages: readonly UnpackedPackage[]): MergeReport {
  const replaces = new Map(packages.map((pkg) => [pkg.name, replacedNames(pkg)]));
  const report: MergeReport = { replaced: [] };
  for (const pkg of packages) {
    for (const entry of pkg.manifest.entries) {
      const path = tree.resolve(entry.path);
      const node: TreeNode = { ...entry, path, package: pkg.name };
      if (entry.type === 'file') node.source = { file: join(pkg.dir, 'root', entry.path) };
      if (entry.type === 'hardlink') node.link = tree.resolve(entry.link!);
      tree.ensureParents(path, pkg.name);
      const existing = tree.get(path);
      if (existing === undefined) {
        tree.set(node);
        continue;
      }
      // A directory over a symlink to a directory (lib64 -> usr/lib64): kept, as apk keeps it.
      if (node.type === 'dir' && existing.type === 'symlink' && tree.get(tree.resolve(`${path}/.`).replace(/\/\.$/, ''))?.type === 'dir') continue;
      const difference = describeDifference(existing, node);
      if (difference === undefined) continue;
      const owner = existing.package ?? '(unknown)';
      if (existing.type === 'dir' || node.type === 'dir') {
        throw new PathConflictError(path, owner, pkg.name, difference);
      }
      if (replaces.get(pkg.name)?.has(owner)) {
        tree.set(node);
        report.replaced.push(`/${path}: ${pkg.name} replaces ${owner}`);
      } else if (replaces.get(owner)?.has(pkg.name)) {
        report.replaced.push(`/${path}: ${owner} replaces ${pkg.name}`);
      } else {
        throw new PathConflictError(path, owner, pkg.name, difference);
      }
    }
  }
  return report;
}

/** Why two installs of one path differ, or undefined when they agree. */
export function describeDifference(a: ManifestEntry, b: ManifestEntry): string | undefined {
  if (a.type !== b.type) return `a ${a.type} and a ${b.type}`;
  if (a.type === 'dir') return undefined;
  if (a.type === 'file' && a.sha256 !== b.sha256) return `sha256 ${a.sha256?.slice(0, 12)}… and ${b.sha256?.slice(0, 12)}…`;
  if (a.type === 'symlink' && a.target !== b.target) return `symlink to ${a.target} and to ${b.target}`;
  if (a.type === 'hardlink' && a.link !== b.link) return `hardlink to /${a.link} and to /${b.link}`;
  if ((a.type === 'char' || a.type === 'block') && (a.devmajor !== b.devmajor || a.devminor !== b.devminor)) {
    return `device ${a.devmajor},${a.devminor} and ${b.devmajor},${b.devminor}`;
  }
  if (a.type !== 'symlink' && a.mode !== b.mode) return `mode ${a.mode.toString(8)} and ${b.mode.toString(8)}`;
  if (a.uid !== b.uid || a.gid !== b.gid) return `owner ${a.uid}:${a.gid} and ${b.uid}:${b.gid}`;
  return undefined;
}
