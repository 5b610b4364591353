// The Alpine package resolver: from a variant's requested packages and its repositories'
// indexes to a closed, conflict-free, sorted set of packages. Pure and deterministic: the same
// requests and indexes give the same set, whatever order the requests were written in.
//
// The algorithm follows apk-tools' solver (src/solver.c), which decides one name at a time:
// - requests are sorted by name and applied as constraints; every provider of a name that a
//   constraint excludes (version, `!conflict`) is disqualified, and so, transitively, is every
//   package with a dependency no remaining provider can meet;
// - the next name to decide: one somebody requires, real package names before virtual ones
//   (apk's name priority), the longest dependency chain first (top-level packages before
//   libraries), alphabetical on a tie;
// - its provider, as compare_providers() picks it: installable, fewer conflicts, allowed and
//   preferred repository tag, higher version of the requested name, higher version of the same
//   package, higher provider_priority (`k:`), the repository listed first;
// - an unversioned provide (`p:/bin/sh`, `p:ifupdown-any`) is never picked automatically, not
//   even as the name's only provider, unless the providing package has a provider_priority or
//   something requires that package by name (a request or any dependency, versioned or not):
//   apk's is_provider_auto_selectable, the rule since apk-tools 2.12.10 and in every 3.x (older
//   2.12 releases picked a sole provider). Names already provided by a chosen package are not
//   decided again, which is what makes apk "prefer already-selected packages";
// - choosing a package locks its name and everything it provides (other providers of those
//   names are disqualified, except that several unversioned provides may coexist) and applies its
//   dependencies as constraints;
// - a package whose install_if names are all installed (with matching versions) is added.
// After solving, the set is verified dependency by dependency; anything unmet becomes a problem
// with the chain of requests that led to it (resolve-errors.ts).
//
// Where this deliberately differs from apk:
// - No installed database: apk's "prefer installed"/upgrade rules do not apply (a fresh root).
// - apk also propagates "common dependencies" of names with several candidates ahead of the
//   decision (lookahead); here a decision's constraints are applied when it is made. Both decide
//   names in the same order; the lookahead only matters in indexes built to need it.
// - A tie that survives every rule (same versions, same priority, same repository) goes to the
//   alphabetically first package name, then index order. apk keeps the first in index order,
//   which follows the index generator's hash order: arbitrary, and not readable.
// - Repository pinning is simplified: a package from a tagged repository is allowed when a
//   request with that tag (`name@tag`) reaches it through dependencies.
// - Version numbers are unbounded (apk: 64-bit), see version.ts.
// - A name decided to stay empty that a later choice provides after all is taken by that
//   provider; apk reports an error.
// - Errors: apk lists per-package "conflicts/satisfies" lines; here every unmet dependency of
//   the final set is one problem with its chain (resolve-errors.ts).
import type { ApkIndex, ApkPackage } from './apkindex.js';
import {
  type Dependency,
  DependencyFormatError,
  formatDependency,
  matchMask,
  parseDependency,
} from './depend.js';
import { suggestNames } from '../../../util/did-you-mean.js';
import {
  type ConflictProblem,
  type ConflictSide,
  type ResolveProblem,
  resolveErrorFor,
} from './resolve-errors.js';
import { renderChain } from '../resolve-report.js';
import {
  type Disqualification,
  type NameNode,
  type PkgNode,
  type Provider,
  type Universe,
  buildUniverse,
  newName,
} from './resolve-universe.js';
import { DEPMASK_CHECKSUM, compareVersions, versionMatches } from './version.js';

export interface ResolveOptions {
  /** Requested packages as the variant writes them: `openssh`, `busybox>=1.35`, `foo@edge`, `!bar`. */
  requests: readonly (string | Dependency)[];
  /** Parsed indexes of the variant's repositories, in priority order (first preferred). */
  indexes: readonly ApkIndex[];
  /** Target architecture; packages built for another one (except `noarch`) are refused. */
  arch?: string;
  /** Names the request list at the start of chains and in messages (the variant). Default `world`. */
  label?: string;
}

export type InclusionReason = 'requested' | 'dependency' | 'install-if';

export interface ResolvedPackage {
  package: ApkPackage;
  reason: InclusionReason;
  /** Shortest chain of requests that brings the package in (`iuppiter -> openssh -> openssh-server`). */
  chain: string[];
}

/** What settled the choice of a provider (the first rule of compare_providers that differed). */
export type ProviderRule =
  | 'only-candidate'
  | 'already-selected'
  | 'installable'
  | 'fewer-conflicts'
  | 'pinning'
  | 'provided-version'
  | 'package-version'
  | 'provider-priority'
  | 'repository-order'
  | 'name-order';

export interface ProviderChoice {
  /** The name that was required (`so:libcrypto.so.1.1`, `/bin/sh`, `ifupdown-any`). */
  name: string;
  /** The package chosen to provide it. */
  package: string;
  /** The version it provides the name under; null for an unversioned provide. */
  version: string | null;
  rule: ProviderRule;
  /** With `already-selected`: the name whose decision brought the package in. */
  selectedFor?: string;
  /** Every provider of the name in the repositories, `name-version`, sorted. */
  candidates: string[];
}

export interface Resolution {
  /** The installable set, sorted by name. */
  packages: ResolvedPackage[];
  /** For every name the set depends on that is provided by a package of another name. */
  providers: ProviderChoice[];
}

/** Resolves the requests against the indexes; throws a ResolveError subclass when impossible. */
export function resolvePackages(options: ResolveOptions): Resolution {
  const label = options.label ?? 'world';
  const requests = normalizeRequests(options.requests, options.indexes);
  const universe = buildUniverse(options.indexes, options.arch);
  const solver = new Solver(universe);
  solver.solve(requests);
  return collect(universe, solver, requests, label);
}

function normalizeRequests(requests: readonly (string | Dependency)[], indexes: readonly ApkIndex[]): Dependency[] {
  const tags = new Set(indexes.flatMap((i) => (i.repository.tag === undefined ? [] : [i.repository.tag])));
  const out = requests.map((r) => (typeof r === 'string' ? parseDependency(r.trim(), { allowTag: true }) : r));
  for (const dep of out) {
    const text = formatDependency(dep);
    if (dep.broken) throw new DependencyFormatError(text, `"${dep.version}" is not a valid apk version`);
    if (dep.tag !== undefined && !tags.has(dep.tag)) {
      const known = indexes.map((i) => i.repository.name + (i.repository.tag ? `@${i.repository.tag}` : ''));
      throw new DependencyFormatError(text, `no repository is tagged @${dep.tag} (repositories: ${known.join(', ')})`);
    }
  }
  // apk sorts the world by name; ties keep the written order.
  return out.map((dep, i) => ({ dep, i })).sort((a, b) => cmp(a.dep.name, b.dep.name) || a.i - b.i).map((x) => x.dep);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function repoTag(pkg: PkgNode): string | undefined {
  return pkg.pkg.repository.tag;
}

function allowTags(pkg: PkgNode, tags: Iterable<string> | null): void {
  if (tags === null) return;
  for (const t of tags) (pkg.tagsAllowed ??= new Set()).add(t);
}

function tagOk(pkg: PkgNode): boolean {
  const tag = repoTag(pkg);
  return tag === undefined || (pkg.tagsAllowed?.has(tag) ?? false);
}

/** Does provider `p` (null: nothing installed) satisfy `dep` of package `from`? (apk_dep_is_provided) */
export function providerSatisfies(dep: Dependency, p: Provider | null, from: PkgNode | null): boolean {
  if (p === null) return dep.conflict;
  // A package may conflict with a name it provides itself (the usual "replaces" idiom).
  if (dep.conflict && from === p.pkg) return true;
  if (dep.mask === DEPMASK_CHECKSUM) {
    const same = p.pkg.pkg.checksum === dep.version;
    return dep.conflict ? !same : same;
  }
  return versionMatches(p.version, matchMask(dep), dep.version ?? null);
}

interface Decision {
  rule: ProviderRule;
  /** The name whose decision assigned this one. */
  via: NameNode;
}

interface AssignConflict {
  name: NameNode;
  existing: Provider;
  incoming: Provider;
}

class Solver {
  private readonly dirtyQueue: NameNode[] = [];
  private dirtyHead = 0;
  private readonly unresolved = new Set<NameNode>();
  readonly decisions = new Map<NameNode, Decision>();
  readonly assignConflicts: AssignConflict[] = [];
  readonly chosenBroken = new Set<PkgNode>();

  constructor(private readonly universe: Universe) {}

  nameOf(name: string): NameNode {
    let node = this.universe.names.get(name);
    if (!node) {
      // A requested name no index knows: an empty name the final check reports as missing.
      node = newName(name);
      this.universe.names.set(name, node);
    }
    return node;
  }

  solve(requests: Dependency[]): void {
    for (const dep of requests) this.discover(this.nameOf(dep.name));
    for (const dep of requests) this.applyConstraint(null, dep);
    // Each round decides one name, so the names bound the rounds.
    const limit = 2 * this.universe.names.size + 10;
    for (let round = 0; ; round++) {
      if (round > limit) throw new Error('apk resolver did not converge (internal error): please report with the package list');
      this.propagate();
      const next = this.pickNext();
      if (!next) break;
      this.select(next);
    }
  }

  // --- discovery (apk: discover_name) ---------------------------------------------------------

  private discover(name: NameNode): void {
    if (name.seen) return;
    name.seen = true;
    for (const p of name.providers) {
      const pkg = p.pkg;
      if (!pkg.seen) {
        pkg.seen = true;
        pkg.iifFailed = pkg.pkg.installIf.length === 0;
        pkg.tagPreferred = repoTag(pkg) === undefined;
        pkg.depNames = pkg.pkg.depends.map((d) => this.nameOf(d.name));
        for (const depName of pkg.depNames) depName.dependents.push(pkg);
        for (const depName of pkg.depNames) {
          this.discover(depName);
          pkg.maxDepChain = Math.max(pkg.maxDepChain, depName.maxDepChain + 1);
        }
      }
      name.maxDepChain = Math.max(name.maxDepChain, pkg.maxDepChain);
    }
    for (const pkg of name.iifDependents) {
      this.discover(pkg.own);
      for (const n of pkg.provideNames) this.discover(n);
    }
  }

  // --- constraints and disqualification -------------------------------------------------------

  private applyConstraint(from: PkgNode | null, dep: Dependency): void {
    const name = this.nameOf(dep.name);
    this.discover(name);
    name.requirements.push({ from, dep });
    if (!dep.conflict) {
      name.requirers++;
      if (name.requirers === 1) {
        this.updateUnresolved(name);
        this.reevaluateReverseIif(name);
        this.queueDirty(name);
      }
    }
    for (const p of name.providers) {
      if (!providerSatisfies(dep, p, from)) {
        p.pkg.conflicts++;
        this.disqualify(p.pkg, { kind: 'constraint', dep, by: from });
      } else {
        this.inheritPinning(p.pkg, from, dep);
      }
    }
  }

  private inheritPinning(pkg: PkgNode, from: PkgNode | null, dep: Dependency): void {
    if (from) {
      allowTags(pkg, from.tagsAllowed);
      return;
    }
    if (dep.tag !== undefined) allowTags(pkg, [dep.tag]);
    // A request prefers its own tag's repositories (untagged ones for a plain request).
    pkg.tagPreferred = repoTag(pkg) === dep.tag;
  }

  private disqualify(pkg: PkgNode, reason: Disqualification): void {
    if (!pkg.selectable) return;
    pkg.selectable = false;
    pkg.disqualified ??= reason;
    this.reevaluateReverseDeps(pkg.own);
    for (const n of pkg.provideNames) this.reevaluateReverseDeps(n);
    this.reevaluateReverseIif(pkg.own);
  }

  /** The names of the dependents of `name` must re-check their dependencies. */
  private reevaluateReverseDeps(name: NameNode): void {
    for (const pkg of name.dependents) {
      this.markReevaluateDeps(pkg.own);
      for (const n of pkg.provideNames) this.markReevaluateDeps(n);
    }
  }

  private markReevaluateDeps(n: NameNode): void {
    if (!n.seen) return;
    n.reevaluateDeps = true;
    this.queueDirty(n);
  }

  /** The names of packages with install_if on `name` must re-check their trigger. */
  private reevaluateReverseIif(name: NameNode): void {
    for (const pkg of name.iifDependents) {
      this.markReevaluateIif(pkg.own);
      for (const n of pkg.provideNames) this.markReevaluateIif(n);
    }
  }

  private markReevaluateIif(n: NameNode): void {
    if (!n.seen) return;
    n.reevaluateIif = true;
    this.queueDirty(n);
  }

  private queueDirty(name: NameNode): void {
    if (name.dirty || name.locked || (name.requirers === 0 && !name.reevaluateIif)) return;
    name.dirty = true;
    this.dirtyQueue.push(name);
  }

  private updateUnresolved(name: NameNode): void {
    if (name.locked || (name.requirers === 0 && !name.hasIif)) this.unresolved.delete(name);
    else this.unresolved.add(name);
  }

  private satisfiable(dep: Dependency, from: PkgNode): boolean {
    const name = this.nameOf(dep.name);
    if (name.locked) return providerSatisfies(dep, name.chosen, from);
    if (name.requirers === 0 && providerSatisfies(dep, null, from)) return true;
    return name.providers.some((p) => p.pkg.selectable && providerSatisfies(dep, p, from));
  }

  // --- propagation (apk: reconsider_name) -----------------------------------------------------

  private propagate(): void {
    while (this.dirtyHead < this.dirtyQueue.length) {
      const name = this.dirtyQueue[this.dirtyHead++]!;
      name.dirty = false;
      if (!name.locked) this.reconsider(name);
    }
    this.dirtyQueue.length = 0;
    this.dirtyHead = 0;
  }

  private reconsider(name: NameNode): void {
    const reevaluateDeps = name.reevaluateDeps;
    const reevaluateIif = name.reevaluateIif;
    name.reevaluateDeps = false;
    name.reevaluateIif = false;
    let hasIif = false;
    for (const p of name.providers) {
      const pkg = p.pkg;
      if (reevaluateDeps && pkg.selectable) {
        const unmet = pkg.pkg.depends.find((dep) => !this.satisfiable(dep, pkg));
        if (unmet) this.disqualify(pkg, { kind: 'dependency', dep: unmet });
      }
      if (!pkg.selectable) continue;
      if (reevaluateIif && !pkg.iifTriggered && !pkg.iifFailed) this.evaluateInstallIf(pkg);
      hasIif ||= pkg.iifTriggered;
    }
    name.hasIif = hasIif;
    this.updateUnresolved(name);
  }

  private evaluateInstallIf(pkg: PkgNode): void {
    pkg.iifTriggered = true;
    for (const dep of pkg.pkg.installIf) {
      const n = this.nameOf(dep.name);
      if (!n.locked) {
        pkg.iifTriggered = false; // undecided yet: look again when it is
        return;
      }
      if (!providerSatisfies(dep, n.chosen, pkg)) {
        pkg.iifTriggered = false;
        pkg.iifFailed = true;
        return;
      }
    }
    // Triggered: it may come from the repositories its triggers came from.
    for (const dep of pkg.pkg.installIf) {
      const chosen = this.nameOf(dep.name).chosen;
      if (chosen) allowTags(pkg, chosen.pkg.tagsAllowed);
    }
  }

  // --- decisions (apk: the main loop, select_package, assign_name) -----------------------------

  private hasOptions(name: NameNode): boolean {
    let options = 0;
    for (const p of name.providers) {
      if (!p.pkg.selectable) continue;
      if (!tagOk(p.pkg)) return true;
      if (++options > 1) return true;
    }
    return false;
  }

  private reverseDepsDone(name: NameNode): boolean {
    const decided = (n: NameNode): boolean => !n.seen || n.locked;
    return name.dependents.every((pkg) => decided(pkg.own) && pkg.provideNames.every(decided));
  }

  private pickNext(): NameNode | undefined {
    let best: NameNode | undefined;
    let bestReady = false;
    for (const name of this.unresolved) {
      // apk takes a required name without alternatives whose dependents are all decided first.
      const ready = name.requirers > 0 && !this.hasOptions(name) && this.reverseDepsDone(name);
      if (!best || dequeueOrder(name, ready, best, bestReady) < 0) {
        best = name;
        bestReady = ready;
      }
    }
    return best;
  }

  private eligible(name: NameNode): Provider[] {
    if (name.requirers === 0 && !name.hasIif) return [];
    return name.providers.filter((p) => {
      const pkg = p.pkg;
      // Only pulled in by install_if: it must be triggered and allowed.
      if (name.requirers === 0 && (!pkg.iifTriggered || !tagOk(pkg))) return false;
      return autoSelectable(p);
    });
  }

  private select(name: NameNode): void {
    const candidates = this.eligible(name);
    let chosen: Provider | undefined;
    for (const p of candidates) if (!chosen || compareProviders(p, chosen).order > 0) chosen = p;
    if (!chosen) {
      this.assign(name, null, name, 'only-candidate');
      return;
    }
    let rule: ProviderRule = 'only-candidate';
    let runnerUp: Provider | undefined;
    for (const p of candidates) {
      if (p !== chosen && (!runnerUp || compareProviders(p, runnerUp).order > 0)) runnerUp = p;
    }
    if (runnerUp) rule = compareProviders(chosen, runnerUp).rule;

    const pkg = chosen.pkg;
    if (!pkg.selectable || !tagOk(pkg)) this.chosenBroken.add(pkg);
    this.assign(pkg.own, { pkg, version: pkg.pkg.version }, name, rule);
    pkg.pkg.provides.forEach((d, i) => this.assign(pkg.provideNames[i]!, { pkg, version: d.version ?? null }, name, rule));
    for (const dep of pkg.pkg.depends) this.applyConstraint(pkg, dep);
  }

  private assign(name: NameNode, p: Provider | null, via: NameNode, rule: ProviderRule): void {
    if (name.locked) {
      const existing = name.chosen;
      // Several packages may provide the same name without a version.
      if (p && existing && p.version === null && existing.version === null) return;
      if (p && existing && p.pkg === existing.pkg && p.version === existing.version) return;
      if (p && existing) this.assignConflicts.push({ name, existing, incoming: p });
      // Decided to stay empty (no eligible provider) and now provided after all: take it
      // (apk would report an error here; the provider is installed either way).
      if (p && !existing) name.chosen = p;
      return;
    }
    name.locked = true;
    name.chosen = p;
    this.decisions.set(name, { rule: via === name ? rule : 'already-selected', via });
    this.unresolved.delete(name);
    for (const p0 of name.providers) {
      if (p && p0.pkg === p.pkg) continue;
      if ((p === null || p.version === null) && p0.version === null) continue;
      this.disqualify(p0.pkg, { kind: 'name-taken', name: name.name, by: p ? p.pkg : null });
    }
    this.reevaluateReverseDeps(name);
    this.reevaluateReverseIif(name);
  }
}

/**
 * apk's is_provider_auto_selectable: a versioned provide always is; an unversioned one only when
 * its package has a provider_priority or something requires that package by name. A name with
 * one unversioned provider is no exception: apk refuses it ("please select one of the 'provided
 * by' packages explicitly") rather than guess.
 */
function autoSelectable(p: Provider): boolean {
  return p.version !== null || p.pkg.pkg.providerPriority !== 0 || p.pkg.own.requirers > 0;
}

/** apk's compare_name_dequeue plus its "ready" shortcut; negative: `a` goes first. */
function dequeueOrder(a: NameNode, aReady: boolean, b: NameNode, bReady: boolean): number {
  const ra = a.requirers > 0 ? 1 : 0;
  const rb = b.requirers > 0 ? 1 : 0;
  if (ra !== rb) return rb - ra;
  if (aReady !== bReady) return aReady ? -1 : 1;
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.maxDepChain !== b.maxDepChain) return b.maxDepChain - a.maxDepChain;
  return cmp(a.name, b.name);
}

/** apk's compare_providers for a fresh root; positive: `a` is better. Says which rule decided. */
function compareProviders(a: Provider, b: Provider): { order: number; rule: ProviderRule } {
  const A = a.pkg;
  const B = b.pkg;
  const decide = (order: number, rule: ProviderRule) => ({ order, rule });
  if (A.selectable !== B.selectable) return decide(A.selectable ? 1 : -1, 'installable');
  if (A.conflicts !== B.conflicts) return decide(B.conflicts - A.conflicts, 'fewer-conflicts');
  if (tagOk(A) !== tagOk(B)) return decide(tagOk(A) ? 1 : -1, 'pinning');
  if (A.tagPreferred !== B.tagPreferred) return decide(A.tagPreferred ? 1 : -1, 'pinning');
  // An unversioned provide compares as "equal, less and greater" in apk: never decides here.
  if (a.version !== null && b.version !== null) {
    const r = compareVersions(a.version, b.version);
    if (r !== 0) return decide(r, 'provided-version');
  }
  if (A.own === B.own) {
    const r = compareVersions(A.pkg.version, B.pkg.version);
    if (r !== 0) return decide(r, 'package-version');
  }
  if (A.pkg.providerPriority !== B.pkg.providerPriority) {
    return decide(A.pkg.providerPriority - B.pkg.providerPriority, 'provider-priority');
  }
  if (A.repoIndex !== B.repoIndex) return decide(B.repoIndex - A.repoIndex, 'repository-order');
  const byName = cmp(B.pkg.name, A.pkg.name);
  return decide(byName !== 0 ? byName : B.order - A.order, 'name-order');
}

// --- the final set, its verification and the problems ----------------------------------------

interface Membership {
  reason: InclusionReason;
  chain: string[];
}

function step(depName: string, pkg: ApkPackage): string {
  return depName === pkg.name ? depName : `${depName} (${pkg.name})`;
}

function nv(pkg: ApkPackage): string {
  return `${pkg.name}-${pkg.version}`;
}

function collect(universe: Universe, solver: Solver, requests: Dependency[], label: string): Resolution {
  const members = new Map<PkgNode, Membership>();
  const chainOf = (from: PkgNode | null): string[] => (from ? members.get(from)?.chain ?? [label, from.pkg.name] : [label]);
  const queue: PkgNode[] = [];
  const lookup = (name: string): NameNode | undefined => universe.names.get(name);

  const admit = (pkg: PkgNode, membership: Membership): void => {
    if (members.has(pkg)) return;
    members.set(pkg, membership);
    queue.push(pkg);
  };
  const follow = (dep: Dependency, from: PkgNode | null, reason: InclusionReason): void => {
    if (dep.conflict) return;
    const chosen = lookup(dep.name)?.chosen;
    if (chosen) admit(chosen.pkg, { reason, chain: [...chainOf(from), step(dep.name, chosen.pkg.pkg)] });
  };
  const closure = (): void => {
    for (let i = 0; i < queue.length; i++) {
      const pkg = queue[i]!;
      for (const dep of pkg.pkg.depends) follow(dep, pkg, 'dependency');
    }
    queue.length = 0;
  };

  for (const dep of requests) follow(dep, null, 'requested');
  closure();
  // install_if: a decided package whose conditions are all met by the set joins it.
  const iifCandidates = [...new Set(
    [...universe.names.values()]
      .map((n) => n.chosen?.pkg)
      .filter((pkg): pkg is PkgNode => pkg !== undefined && pkg.selectable && pkg.pkg.installIf.length > 0),
  )].sort((a, b) => cmp(a.pkg.name, b.pkg.name) || a.order - b.order);
  const installedProvider = (name: string): Provider | null => {
    const chosen = lookup(name)?.chosen ?? null;
    return chosen && members.has(chosen.pkg) ? chosen : null;
  };
  for (let grew = true; grew; ) {
    grew = false;
    for (const pkg of iifCandidates) {
      if (members.has(pkg)) continue;
      if (!pkg.pkg.installIf.every((dep) => providerSatisfies(dep, installedProvider(dep.name), pkg))) continue;
      const trigger = pkg.pkg.installIf.map((dep) => installedProvider(dep.name)).find((p) => p !== null);
      admit(pkg, { reason: 'install-if', chain: [...chainOf(trigger?.pkg ?? null), `${pkg.pkg.name} (install_if)`] });
      grew = true;
    }
    closure();
  }

  const problems = verify(universe, solver, requests, members, chainOf, label);
  if (problems.length > 0) throw resolveErrorFor(label, problems);

  const packages = [...members.entries()]
    .map(([pkg, m]) => ({ package: pkg.pkg, reason: m.reason, chain: m.chain }))
    .sort((a, b) => cmp(a.package.name, b.package.name) || compareVersions(a.package.version, b.package.version));
  return { packages, providers: providerChoices(universe, solver, requests, members) };
}

function verify(
  universe: Universe,
  solver: Solver,
  requests: Dependency[],
  members: Map<PkgNode, Membership>,
  chainOf: (from: PkgNode | null) => string[],
  label: string,
): ResolveProblem[] {
  const problems: ResolveProblem[] = [];
  const reported = new Set<string>();
  const add = (key: string, problem: ResolveProblem): void => {
    if (reported.has(key)) return;
    reported.add(key);
    problems.push(problem);
  };
  const knownNames = (): string[] =>
    [...universe.names.values()].filter((n) => n.providers.length > 0).map((n) => n.name);
  const sideOf = (pkg: PkgNode | null): string => (pkg ? nv(pkg.pkg) : label);

  const check = (dep: Dependency, from: PkgNode | null): void => {
    const name = universe.names.get(dep.name);
    const chosen = name?.chosen ?? null;
    const installed = chosen !== null && members.has(chosen.pkg) ? chosen : null;
    if (providerSatisfies(dep, installed, from)) return;
    const text = formatDependency(dep);
    const chain = [...chainOf(from), text];
    const where = renderChain(chain);

    if (dep.conflict && installed) {
      const present = { package: nv(installed.pkg.pkg), chain: members.get(installed.pkg)!.chain, wants: dep.name };
      const against = { package: sideOf(from), chain: chainOf(from), wants: text };
      add(`conflict:${dep.name}:${sideOf(from)}`, conflict(dep.name, present, against,
        `${present.package} is installed (${renderChain(present.chain)}), ` +
          `but ${against.package} (${renderChain(against.chain)}) conflicts with it: ${text}`));
      return;
    }
    if (!name || name.providers.length === 0) {
      const suggestions = from === null ? suggestNames(dep.name, knownNames()) : [];
      const hint = suggestions.length > 0 ? `; did you mean ${suggestions.join(', ')}?` : '';
      add(`missing:${dep.name}:${where}`, {
        kind: 'missing',
        name: dep.name,
        dependency: text,
        chain,
        suggestions,
        message: `${where}: no provider: no package in the repositories is or provides ${dep.name}${hint}`,
      });
      return;
    }
    if (!installed) {
      const candidates = name.providers.map((p) => ({ package: nv(p.pkg.pkg), why: whyNotChosen(p, label) }));
      // The providers exist but apk would not pick any by itself: say which one to ask for.
      const message = name.providers.every((p) => !autoSelectable(p))
        ? `${where}: no provider is chosen: ${unchosenVirtual(dep.name, name.providers)}`
        : `${where}: no installable provider (${candidates.map((c) => `${c.package}: ${c.why}`).join('; ')})`;
      add(`no-candidate:${dep.name}:${where}`, { kind: 'no-candidate', name: dep.name, dependency: text, chain, candidates, message });
      return;
    }
    // A provider is installed but does not meet this constraint: either another requirement
    // chose it (a conflict between two requirers) or no available version meets it at all.
    const other = name.requirements.find(
      (r) => !r.dep.conflict && (r.from === null || members.has(r.from)) && providerSatisfies(r.dep, installed, r.from),
    );
    if (other) {
      const first = { package: sideOf(other.from), chain: [...chainOf(other.from), formatDependency(other.dep)], wants: formatDependency(other.dep) };
      const second = { package: sideOf(from), chain, wants: text };
      add(`conflict:${dep.name}:${sideOf(from)}`, conflict(dep.name, first, second,
        `${renderChain(first.chain)} and ${renderChain(second.chain)}: no single version of ${dep.name} meets both ` +
          `(${nv(installed.pkg.pkg)} meets the first)`));
      return;
    }
    const available = name.providers.map((p) => (p.pkg.own === name ? nv(p.pkg.pkg) : `${nv(p.pkg.pkg)} (provides ${dep.name}${p.version ? `=${p.version}` : ''})`));
    add(`unsatisfiable:${dep.name}:${where}`, {
      kind: 'unsatisfiable',
      name: dep.name,
      dependency: text,
      chain,
      available,
      message: `${where}: no version satisfies the constraint; available: ${available.join(', ')}`,
    });
  };

  for (const dep of requests) check(dep, null);
  const sortedMembers = [...members.keys()].sort((a, b) => cmp(a.pkg.name, b.pkg.name) || a.order - b.order);
  for (const pkg of sortedMembers) for (const dep of pkg.pkg.depends) check(dep, pkg);

  for (const c of solver.assignConflicts) {
    if (!members.has(c.existing.pkg) || !members.has(c.incoming.pkg)) continue;
    const side = (p: Provider) => ({
      package: nv(p.pkg.pkg),
      chain: members.get(p.pkg)!.chain,
      wants: p.pkg.own === c.name ? c.name.name : `${c.name.name}${p.version ? `=${p.version}` : ''}`,
    });
    const a = side(c.existing);
    const b = side(c.incoming);
    add(`provides:${c.name.name}`, conflict(c.name.name, a, b,
      `${a.package} (${renderChain(a.chain)}) provides ${a.wants} and ${b.package} (${renderChain(b.chain)}) provides ${b.wants}; ` +
        'only one of them can be installed'));
  }

  for (const pkg of sortedMembers) {
    const reason = pkg.disqualified;
    if (reason?.kind === 'uninstallable') {
      const chain = members.get(pkg)!.chain;
      add(`uninstallable:${nv(pkg.pkg)}`, {
        kind: 'uninstallable',
        package: nv(pkg.pkg),
        chain,
        reason: reason.reason,
        message: `${renderChain(chain)}: ${nv(pkg.pkg)} (repository ${pkg.pkg.repository.name}) cannot be installed: ${reason.reason}`,
      });
    } else if (!tagOk(pkg)) {
      const chain = members.get(pkg)!.chain;
      const why = `it is only in the repository tagged @${repoTag(pkg)}; request it as ${pkg.pkg.name}@${repoTag(pkg)}`;
      add(`pinned:${nv(pkg.pkg)}`, { kind: 'uninstallable', package: nv(pkg.pkg), chain, reason: why, message: `${renderChain(chain)}: ${nv(pkg.pkg)}: ${why}` });
    }
  }
  // Safety net: a package chosen against its disqualification must have shown up above.
  if (problems.length === 0) {
    for (const pkg of solver.chosenBroken) {
      if (!members.has(pkg)) continue;
      const chain = members.get(pkg)!.chain;
      const why = describeDisqualification(pkg.disqualified, label);
      add(`broken:${nv(pkg.pkg)}`, { kind: 'uninstallable', package: nv(pkg.pkg), chain, reason: why, message: `${renderChain(chain)}: ${nv(pkg.pkg)} was needed although ${why}` });
    }
  }
  return problems;
}

function conflict(name: string, a: ConflictSide, b: ConflictSide, sentence: string): ConflictProblem {
  return { kind: 'conflict', name, sides: [a, b], message: `conflict on ${name}: ${sentence}` };
}

/** `/bin/sh is a virtual name, provided by busybox-1.35.0-r17 without ...: add busybox to the package list`. */
function unchosenVirtual(name: string, providers: readonly Provider[]): string {
  const packages = [...new Set(providers.map((p) => p.pkg.pkg.name))].sort(cmp);
  const versions = providers.map((p) => nv(p.pkg.pkg)).sort(cmp);
  const pick = packages.length === 1 ? packages[0] : `one of ${packages.join(', ')}`;
  return (
    `${name} is a virtual name, provided by ${versions.join(', ')} without a version or provider_priority, ` +
    `and apk picks such a provider only when something asks for it: add ${pick} to the package list`
  );
}

function whyNotChosen(p: Provider, label: string): string {
  if (!autoSelectable(p)) return `unversioned provide without provider_priority, and nothing asks for ${p.pkg.pkg.name}`;
  if (p.pkg.disqualified) return describeDisqualification(p.pkg.disqualified, label);
  if (!tagOk(p.pkg)) return `only in the repository tagged @${repoTag(p.pkg)}`;
  return 'not chosen';
}

function describeDisqualification(d: Disqualification | undefined, label: string): string {
  if (!d) return 'it was not selectable';
  switch (d.kind) {
    case 'constraint':
      return `excluded by ${formatDependency(d.dep)} (from ${d.by ? nv(d.by.pkg) : label})`;
    case 'dependency':
      return `its dependency ${formatDependency(d.dep)} cannot be met`;
    case 'name-taken':
      return d.by ? `${d.name} is already provided by ${nv(d.by.pkg)}` : `${d.name} is decided to stay uninstalled`;
    case 'uninstallable':
      return d.reason;
  }
}

function providerChoices(
  universe: Universe,
  solver: Solver,
  requests: Dependency[],
  members: Map<PkgNode, Membership>,
): ProviderChoice[] {
  const needed = new Set<string>();
  for (const dep of requests) if (!dep.conflict) needed.add(dep.name);
  for (const pkg of members.keys()) for (const dep of pkg.pkg.depends) if (!dep.conflict) needed.add(dep.name);
  const out: ProviderChoice[] = [];
  for (const n of [...needed].sort(cmp)) {
    const name = universe.names.get(n);
    const chosen = name?.chosen;
    if (!name || !chosen || chosen.pkg.own === name) continue;
    const decision = solver.decisions.get(name);
    const choice: ProviderChoice = {
      name: n,
      package: chosen.pkg.pkg.name,
      version: chosen.version,
      rule: decision?.rule ?? 'only-candidate',
      candidates: name.providers.map((p) => nv(p.pkg.pkg)).sort(cmp),
    };
    if (decision && decision.rule === 'already-selected') choice.selectedFor = decision.via.name;
    out.push(choice);
  }
  return out;
}
