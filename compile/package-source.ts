// What the image part of a graph needs from a variant's package source, whichever format it
// reads (Alpine APKs: compile/alpine.ts; RPMs: compile/rpm.ts): the nodes that fetch, verify and
// unpack the locked packages, and the lock's facts. compile/system.ts builds on this alone.
import type { NodeSpec } from '../graph/node.js';
import type { ApkLock } from '../stages/sources/apk/lock.js';
import type { RpmLock } from '../stages/sources/rpm/lock.js';

/** The format-neutral facts of a locked package. */
export interface LockedPackageFacts {
  name: string;
  /** The version as its format writes it (`1.36.1-r2`, `1:9.6p1-1.el10`). */
  version: string;
  /** The repository index's checksum of the package file. */
  checksum: string;
  repository: string;
  /** Locked packages it needs (installed first). */
  depends: string[];
}

export interface LockFacts {
  packages: LockedPackageFacts[];
  repositories: Array<{ name: string; url: string }>;
}

export interface PackageSource {
  format: 'apk' | 'rpm';
  nodes: NodeSpec[];
  /** The resolve node: it stands for the package nodes while there is no lock. */
  resolveId: string;
  /** Ids a locked build leaves out (the indexes and the resolver): a locked build reads no metadata. */
  resolutionIds: string[];
  lock?: LockFacts;
  lockFile: string;
  /** Node id of a package's unpacked tree (the resolve node while unlocked); undefined if the lock lacks it. */
  packageNode(name: string): string | undefined;
  /** Node id of a locked package's download. */
  fetchNode(name: string): string;
  /** Locked package names, dependencies before the packages that need them (empty while unlocked). */
  installOrder(): string[];
  /** Reads a lock file of this format (the lock phase shows what changed). */
  parseLock(text: string, file: string): ApkLock | RpmLock;
}

/**
 * Dependencies first (Kahn's algorithm, ties by name, so the order is deterministic); a
 * dependency cycle, which both apk and rpm allow, is entered at its alphabetically first package.
 */
export function installOrder(lock: LockFacts): string[] {
  const waiting = new Map(lock.packages.map((p) => [p.name, new Set(p.depends)]));
  const order: string[] = [];
  while (waiting.size > 0) {
    const ready = [...waiting.entries()].filter(([, deps]) => deps.size === 0).map(([name]) => name).sort();
    const next = ready[0] ?? [...waiting.keys()].sort()[0]!;
    order.push(next);
    waiting.delete(next);
    for (const deps of waiting.values()) deps.delete(next);
  }
  return order;
}

/**
 * The lookups of a package source over its package nodes: while unlocked the resolve node stands
 * for every package; locked, each name has its unpack and fetch nodes.
 */
export function packageLookups(
  lock: LockFacts | undefined,
  resolveId: string,
  nodes: { unpack: ReadonlyMap<string, string>; fetch: ReadonlyMap<string, string> },
): Pick<PackageSource, 'packageNode' | 'fetchNode' | 'installOrder'> {
  return {
    packageNode(name) {
      return lock ? nodes.unpack.get(name) : resolveId;
    },
    fetchNode(name) {
      const id = nodes.fetch.get(name);
      if (!id) throw new Error(`no fetch node for ${name}`);
      return id;
    },
    installOrder() {
      return lock ? installOrder(lock) : [];
    },
  };
}
