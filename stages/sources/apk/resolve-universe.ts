// The resolver's view of the repositories: every package once, every name with its providers.
// Built once per resolve from the parsed indexes; the solver (resolve.ts) keeps its per-run
// state on these nodes.
import type { ApkIndex, ApkPackage } from './apkindex.js';
import type { Dependency } from './depend.js';

/** Why a package can no longer be chosen (the first reason is kept). */
export type Disqualification =
  | { kind: 'constraint'; dep: Dependency; by: PkgNode | null }
  | { kind: 'dependency'; dep: Dependency }
  | { kind: 'name-taken'; name: string; by: PkgNode | null }
  | { kind: 'uninstallable'; reason: string };

export interface PkgNode {
  pkg: ApkPackage;
  /** Position of the first repository (priority order) holding this exact package. */
  repoIndex: number;
  /** Position in index order, for stable iteration. */
  order: number;
  own: NameNode;
  /** Names of `depends`, looked up when the package is discovered (most never are). */
  depNames: NameNode[] | null;
  provideNames: NameNode[];

  // Solver state.
  seen: boolean;
  selectable: boolean;
  disqualified?: Disqualification;
  conflicts: number;
  maxDepChain: number;
  iifTriggered: boolean;
  iifFailed: boolean;
  /** Repository tags this package may come from (inherited from the requests that reach it). */
  tagsAllowed: Set<string> | null;
  tagPreferred: boolean;
}

export interface Provider {
  pkg: PkgNode;
  /** Version under which the package provides the name; null for an unversioned provide. */
  version: string | null;
}

export interface Requirement {
  /** The package whose dependency this is; null for a requested (world) dependency. */
  from: PkgNode | null;
  dep: Dependency;
}

export interface NameNode {
  name: string;
  providers: Provider[];
  /**
   * Packages depending on this name. apk keeps the names those packages go by (`rdepends`);
   * the solver expands to them on use. Filled as packages are discovered: only discovered
   * packages can make a name worth reconsidering.
   */
  dependents: PkgNode[];
  /** Packages with an install_if condition on this name (apk's `rinstall_if`, per package). */
  iifDependents: PkgNode[];
  /** 0: only real packages, 1: real and virtual providers, 2: only virtual (apk's name->priority). */
  priority: number;

  // Solver state.
  seen: boolean;
  maxDepChain: number;
  requirers: number;
  requirements: Requirement[];
  locked: boolean;
  chosen: Provider | null;
  hasIif: boolean;
  reevaluateDeps: boolean;
  reevaluateIif: boolean;
  dirty: boolean;
}

export interface Universe {
  names: Map<string, NameNode>;
  packages: PkgNode[];
}

/** Shared by the many packages that provide nothing: never written to. */
const NO_NAMES: NameNode[] = [];

export function newName(name: string): NameNode {
  return {
    name,
    providers: [],
    dependents: [],
    iifDependents: [],
    priority: 0,
    seen: false,
    maxDepChain: 0,
    requirers: 0,
    requirements: [],
    locked: false,
    chosen: null,
    hasIif: false,
    reevaluateDeps: false,
    reevaluateIif: false,
    dirty: false,
  };
}

/**
 * Builds the universe from indexes in priority order (first = preferred). The same package
 * (same checksum) in several repositories is one node, attributed to the first repository.
 * `arch`: packages of another architecture (other than `noarch`) are uninstallable.
 */
export function buildUniverse(indexes: readonly ApkIndex[], arch?: string): Universe {
  const names = new Map<string, NameNode>();
  const nameOf = (n: string): NameNode => {
    let node = names.get(n);
    if (!node) {
      node = newName(n);
      names.set(n, node);
    }
    return node;
  };
  const byChecksum = new Map<string, PkgNode>();
  const packages: PkgNode[] = [];

  for (let repoIndex = 0; repoIndex < indexes.length; repoIndex++) {
    for (const pkg of indexes[repoIndex]!.packages) {
      const same = byChecksum.get(pkg.checksum);
      if (same && same.pkg.name === pkg.name && same.pkg.version === pkg.version) continue;
      const node: PkgNode = {
        pkg,
        repoIndex,
        order: packages.length,
        own: nameOf(pkg.name),
        depNames: null,
        provideNames: pkg.provides.length === 0 ? NO_NAMES : pkg.provides.map((d) => nameOf(d.name)),
        seen: false,
        selectable: true,
        conflicts: 0,
        maxDepChain: 0,
        iifTriggered: false,
        iifFailed: false,
        tagsAllowed: null,
        tagPreferred: false,
      };
      const archOk = arch === undefined || pkg.arch === undefined || pkg.arch === arch || pkg.arch === 'noarch';
      if (pkg.uninstallable) node.disqualified = { kind: 'uninstallable', reason: pkg.uninstallable };
      else if (!archOk) node.disqualified = { kind: 'uninstallable', reason: `built for ${pkg.arch}, not ${arch}` };
      node.selectable = node.disqualified === undefined;
      byChecksum.set(pkg.checksum, node);
      packages.push(node);
      node.own.providers.push({ pkg: node, version: pkg.version });
      for (let i = 0; i < pkg.provides.length; i++) {
        node.provideNames[i]!.providers.push({ pkg: node, version: pkg.provides[i]!.version ?? null });
      }
    }
  }

  for (const node of packages) for (const d of node.pkg.installIf) nameOf(d.name).iifDependents.push(node);
  for (const name of names.values()) {
    let virtual = 0;
    for (const p of name.providers) if (p.pkg.own !== name) virtual++;
    name.priority = virtual === 0 ? 0 : virtual === name.providers.length ? 2 : 1;
  }
  return { names, packages };
}
