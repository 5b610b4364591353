// The RPM package resolver: from a variant's requested packages and its repositories' primary.xml
// to the complete, consistent set dnf would install into an empty root, package for package.
// Pure apart from the optional filelists lookup, and deterministic: the same repositories and
// requests (in the same order, as with dnf) give the same set.
//
// Pieces: resolve-universe.ts (the pool and its provider indexes), resolve-rules.ts (dependencies
// as clauses), resolve-policy.ts (which of several providers libsolv picks), resolve-solver.ts
// (the decision procedure), resolve-errors.ts (what is reported when it fails).
//
// Requests follow dnf's `install SPEC`: a package name (every version and, like dnf's default
// `obsoletes=True`, the packages obsoleting it are candidates), else a capability or a file path;
// `name >= 1.2` limits the versions. The best candidate is picked by the same policy as any
// dependency. dnf's wildcards (`*`, `?`, `[...]`) and NEVRA forms (`bash-5.1.8-2.el9`) are not
// accepted: a request names a package or capability exactly.
//
// Where this deliberately differs from dnf: packages of other architectures (i686 on x86_64) are
// never installed, where libsolv would take one that alone provides a dependency; such a
// dependency is reported as unmet, naming the foreign package.
import type { DepFlag, RpmDep, RpmPackageMeta, RpmRepository } from './model.js';
import { suggestNames } from '../../../util/did-you-mean.js';
import {
  type RpmResolveProblem,
  rpmResolveErrorFor,
} from './resolve-errors.js';
import { renderChain } from '../resolve-report.js';
import { type Rule, RuleBuilder, depFulfilled, isRpmlibDep, lit, varOf } from './resolve-rules.js';
import { Solver, Unsolvable } from './resolve-solver.js';
import { PackagePool, type PoolPackage, nevra } from './resolve-universe.js';

export type { PackagePool } from './resolve-universe.js';
import { filterCandidates } from './resolve-policy.js';
import { RichDepError, isRichDep, parseDepEvr, parseRichDepCached, richAtoms } from './rich-deps.js';
import { comparePackageEvr, evrInRange, formatDep, rangeOf } from './version.js';

export interface RpmResolveOptions {
  /** The variant's repositories; `priority` lower wins, as in dnf. */
  repositories: readonly RpmRepository[];
  /** What the variant asks for: `bash`, `openssh-server`, `/usr/bin/python3`, `kernel-core >= 5.14`. */
  requests: readonly string[];
  /** Target architecture; only it and `noarch` are installed. Default `x86_64`. */
  arch?: string;
  /** Install Recommends and Supplements, like dnf's `install_weak_deps=True` (the default). */
  installWeakDeps?: boolean;
  /**
   * Looks up file paths primary.xml does not list (it has `/etc/*` and `*bin/*` only), in
   * filelists.xml: path -> package keys (`name-epoch:version-release.arch`). Without it such a
   * file dependency has no provider.
   */
  fileProviders?: (paths: string[]) => Promise<ReadonlyMap<string, readonly string[]>>;
  /** Names the request list at the start of chains and in messages (the variant). Default `world`. */
  label?: string;
  /**
   * A pool built by buildRpmPool from these same repositories, to resolve several request lists
   * against one set of metadata without indexing it again (filelists answers are kept in it).
   */
  pool?: PackagePool;
}

/** Indexes repositories once for several resolves (see RpmResolveOptions.pool). */
export function buildRpmPool(repositories: readonly RpmRepository[], arch = 'x86_64'): PackagePool {
  return new PackagePool(repositories, arch);
}

export type InclusionReason = 'requested' | 'requires' | 'recommends' | 'supplements';

export interface RpmResolvedPackage {
  package: RpmPackageMeta;
  /** The repository it comes from. */
  repository: string;
  /** `name-[epoch:]version-release.arch`. */
  nevra: string;
  reason: InclusionReason;
  /** Name of the package whose dependency brought this one in; absent for a request. */
  requiredBy?: string;
  /** That dependency as written (`libc.so.6(GLIBC_2.34)(64bit)`), or the request. */
  dependency: string;
  /** Shortest chain that brings the package in (`world -> bash -> glibc`). */
  chain: string[];
}

export interface RpmResolution {
  /** The install set, sorted by name, then EVR, then arch. */
  packages: RpmResolvedPackage[];
  /** Packages considered (the pool) and rules written: for diagnostics and benchmarks. */
  stats: { pool: number; rules: number; fileLookups: number };
}

const CMP: Record<string, DepFlag> = { '=': 'EQ', '==': 'EQ', '<': 'LT', '<=': 'LE', '>': 'GT', '>=': 'GE' };

/** `name`, `name >= 1.2-3`: a request as an RpmDep. */
export function parseRequest(text: string): RpmDep {
  // dnf expands `*`, `?` and `[...]` as wildcards over names and provides; a locked package list
  // names its packages exactly.
  if (/[*?[]/.test(text)) throw new RichDepError(text, text.search(/[*?[]/), 'wildcards are not accepted in a request: name the package or capability exactly');
  const words = text.trim().split(/\s+/);
  if (words.length === 1 && words[0]) return { name: words[0] };
  if (words.length === 3 && CMP[words[1]!]) {
    const evr = parseDepEvr(words[2]!, (reason) => {
      throw new RichDepError(text, 0, reason);
    });
    return { name: words[0]!, flags: CMP[words[1]!]!, evr };
  }
  throw new RichDepError(text, 0, 'a request is a name, a capability or a path, optionally followed by a comparison and a version (`foo >= 1.2`)');
}

/** Resolves the requests; throws an RpmResolveError subclass when they cannot be installed. */
export async function resolveRpmPackages(options: RpmResolveOptions): Promise<RpmResolution> {
  const label = options.label ?? 'world';
  const weak = options.installWeakDeps ?? true;
  const arch = options.arch ?? 'x86_64';
  const pool = options.pool ?? new PackagePool(options.repositories, arch);
  if (pool.arch !== arch) throw new Error(`resolveRpmPackages: the pool was built for ${pool.arch}, not ${arch}`);
  const requests = options.requests.map((text) => ({ text, dep: parseRequest(text) }));

  const problems: RpmResolveProblem[] = [];
  const jobs = requests.map(({ text, dep }, index) => {
    const candidates = requestCandidates(pool, dep);
    if (candidates.length === 0) {
      const foreign = pool.foreignProviders(dep).map(nevra);
      const suggestions = foreign.length > 0 ? [] : suggestNames(dep.name, pool.names());
      const hint =
        foreign.length > 0
          ? `; only packages of another architecture provide it (${foreign.join(', ')}), and only ${pool.arch} and noarch are installed`
          : suggestions.length > 0
            ? `; did you mean ${suggestions.join(', ')}?`
            : '';
      problems.push({
        kind: 'missing',
        request: text,
        chain: [label, text],
        suggestions,
        message: `${renderChain([label, text])}: no package in the repositories is or provides ${text}${hint}`,
      });
    }
    return { text, dep, index, candidates };
  });
  if (problems.length > 0) throw rpmResolveErrorFor(label, problems);

  const roots = [...new Set(jobs.flatMap((j) => j.candidates))];
  if (weak) for (const p of pool.packages) if (p.meta.supplements.length > 0) roots.push(p.id);
  let fileLookups = 0;
  if (options.fileProviders) {
    for (;;) {
      const unanswered = unansweredPaths(pool, roots, weak);
      if (unanswered.length === 0) break;
      fileLookups++;
      pool.addFileProviders(unanswered, await options.fileProviders(unanswered));
    }
  }

  const builder = new RuleBuilder(pool, weak);
  builder.addClosure(roots);
  const rules: Rule[] = builder.rules;
  const jobRules = jobs.map((job) => {
    rules.push({ lits: job.candidates.map(lit), kind: 'job', pkg: -1, dep: job.text, request: job.index });
    return rules.length - 1;
  });

  const solver = new Solver(pool, rules, jobRules, { weak });
  try {
    solver.solve();
  } catch (error) {
    if (!(error instanceof Unsolvable)) throw error;
    throw rpmResolveErrorFor(label, explain(pool, rules, solver, error.rule, label));
  }

  const installed = pool.packages.filter((p) => solver.isTrue(p.id));
  const reasons = explainInstallSet(pool, installed, jobs, label);
  const packages = installed
    .map((p) => ({ package: p.meta, repository: p.repository.name, nevra: nevra(p.meta), ...reasons.get(p.id)! }))
    .sort(
      (a, b) =>
        cmp(a.package.name, b.package.name) || comparePackageEvr(a.package.evr, b.package.evr) || cmp(a.package.arch, b.package.arch),
    );
  return { packages, stats: { pool: pool.size, rules: rules.length, fileLookups } };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** dnf's candidates for `install SPEC`: the packages of that name (and their obsoleters), else its providers. */
function requestCandidates(pool: PackagePool, dep: RpmDep): number[] {
  const range = rangeOf(dep);
  const named = pool.named(dep.name).filter((p) => evrInRange(p.meta.evr, range));
  if (named.length === 0) return pool.whatProvides(dep);
  const out = new Set(named.map((p) => p.id));
  if (!range) {
    for (const p of pool.packages) {
      if (p.meta.obsoletes.some((o) => named.some((n) => n.meta.name === o.name && evrInRange(n.meta.evr, rangeOf(o))))) out.add(p.id);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** File paths the reachable packages depend on that primary.xml does not answer. */
function unansweredPaths(pool: PackagePool, roots: readonly number[], weak: boolean): string[] {
  const seen = new Uint8Array(pool.size);
  const work = [...roots];
  const paths = new Set<string>();
  const visit = (dep: RpmDep): void => {
    if (isRpmlibDep(dep.name)) return;
    const atoms = isRichDep(dep.name) ? richAtoms(parseRichDepCached(dep.name)) : [dep];
    for (const atom of atoms) {
      if (atom.name.startsWith('/') && !pool.fileAnswered(atom.name)) paths.add(atom.name);
      for (const p of pool.whatProvides(atom)) if (!seen[p]) work.push(p);
    }
  };
  while (work.length > 0) {
    const id = work.pop()!;
    if (seen[id]) continue;
    seen[id] = 1;
    const meta = pool.pkg(id).meta;
    meta.requires.forEach(visit);
    if (weak) meta.recommends.forEach(visit);
  }
  return [...paths].sort(cmp);
}

// --- why each package is in the set -------------------------------------------------------------

type Reason = Pick<RpmResolvedPackage, 'reason' | 'requiredBy' | 'dependency' | 'chain'>;

function step(dep: string, pkg: PoolPackage): string {
  return dep === pkg.meta.name ? dep : `${dep} (${pkg.meta.name})`;
}

/**
 * The shortest explanation of each installed package: requests first, then requirements
 * (breadth first), then recommendations, then supplements; each step names the package and the
 * dependency that pulled the next one in.
 */
function explainInstallSet(
  pool: PackagePool,
  installed: readonly PoolPackage[],
  jobs: readonly { text: string; candidates: number[] }[],
  label: string,
): Map<number, Reason> {
  const inSet = new Set(installed.map((p) => p.id));
  const isIn = (id: number) => inSet.has(id);
  const reasons = new Map<number, Reason>();
  let queue: number[] = [];
  const admit = (id: number, reason: Reason) => {
    if (reasons.has(id)) return;
    reasons.set(id, reason);
    queue.push(id);
  };
  for (const job of jobs) {
    for (const id of job.candidates) if (isIn(id)) admit(id, { reason: 'requested', dependency: job.text, chain: [label, step(job.text, pool.pkg(id))] });
  }
  const follow = (from: number, deps: readonly RpmDep[], reason: InclusionReason) => {
    const by = pool.pkg(from);
    for (const dep of deps) {
      if (isRpmlibDep(dep.name)) continue;
      const text = isRichDep(dep.name) ? dep.name : formatDep(dep);
      const atoms = isRichDep(dep.name) ? richAtoms(parseRichDepCached(dep.name)) : [dep];
      for (const atom of atoms) {
        for (const p of pool.whatProvides(atom)) {
          if (!isIn(p) || p === from) continue;
          admit(p, { reason, requiredBy: by.meta.name, dependency: text, chain: [...reasons.get(from)!.chain, step(text, pool.pkg(p))] });
        }
      }
    }
  };
  const drain = (withRecommends: boolean) => {
    for (let i = 0; i < queue.length; i++) follow(queue[i]!, pool.pkg(queue[i]!).meta.requires, 'requires');
    if (withRecommends) for (let i = 0; i < queue.length; i++) follow(queue[i]!, pool.pkg(queue[i]!).meta.recommends, 'recommends');
  };
  const everyone = () => [...reasons.keys()];
  drain(false);
  queue = everyone();
  for (let changed = true; changed; ) {
    const before = reasons.size;
    drain(true);
    queue = everyone();
    for (const p of installed) {
      if (reasons.has(p.id)) continue;
      const sup = p.meta.supplements.find((d) => depFulfilled(pool, d, isIn));
      if (!sup) continue;
      const text = isRichDep(sup.name) ? sup.name : formatDep(sup);
      const atoms = isRichDep(sup.name) ? richAtoms(parseRichDepCached(sup.name)) : [sup];
      const trigger = atoms.flatMap((a) => pool.whatProvides(a)).find((id) => reasons.has(id));
      const base = trigger !== undefined ? reasons.get(trigger)!.chain : [label];
      admit(p.id, {
        reason: 'supplements',
        requiredBy: trigger !== undefined ? pool.pkg(trigger).meta.name : undefined,
        dependency: text,
        chain: [...base, `${p.meta.name} (supplements ${text})`],
      });
    }
    changed = reasons.size !== before;
  }
  for (const p of installed) {
    if (!reasons.has(p.id)) throw new Error(`rpm resolver: ${nevra(p.meta)} is in the set for no reason (internal error)`);
  }
  return reasons;
}

// --- explaining a failure -----------------------------------------------------------------------

/** Turns a contradiction at level 1 into problems that name the chain that led to it. */
function explain(pool: PackagePool, rules: readonly Rule[], solver: Solver, conflict: number, label: string): RpmResolveProblem[] {
  const problems: RpmResolveProblem[] = [];
  const reasonRule = (id: number): Rule | null => {
    const r = solver.reasonOf[id]!;
    return r >= 0 ? rules[r]! : null;
  };
  // Why a package is wanted: the chain of rules that forced it.
  const chainTrue = (id: number, depth = 0): string[] => {
    const rule = reasonRule(id);
    const pkg = pool.pkg(id);
    if (!rule || depth > 64) return [label, pkg.meta.name];
    if (rule.kind === 'job') return [label, step(rule.dep, pkg)];
    if (rule.pkg >= 0 && rule.pkg !== id) return [...chainTrue(rule.pkg, depth + 1), step(rule.dep, pkg)];
    return [label, pkg.meta.name];
  };
  const best = (ids: number[]): number[] => filterCandidates(pool, ids, 'choose-noreorder', { recommended: () => false, supplementing: () => false, suggested: () => false });
  const ownRequires = (id: number) => rules.filter((r) => r.kind === 'requires' && r.pkg === id);
  // Why a package cannot be installed, appended to `chain` (which already names it).
  const explainFalse = (id: number, chain: string[], seen: Set<number>): void => {
    if (seen.has(id)) return;
    seen.add(id);
    let rule = reasonRule(id);
    if (!rule || rule.kind === 'job' || (rule.kind === 'requires' && rule.pkg !== id)) {
      // Negated by the search: look for a requirement none of whose providers can be installed.
      rule = ownRequires(id).find((r) => r.lits.every((l) => l < 0 || solver.value[varOf(l)]! < 0)) ?? rule;
    }
    if (rule && rule.kind === 'requires' && rule.pkg === id) {
      explainRequirement(rule, chain, seen);
      return;
    }
    if (rule && (rule.kind === 'conflicts' || rule.kind === 'obsoletes' || rule.kind === 'same-name')) {
      const other = rule.lits.map(varOf).find((v) => v !== id && solver.isTrue(v));
      if (other !== undefined) {
        conflictProblem(rule, { id, chain }, { id: other, chain: chainTrue(other) });
        return;
      }
    }
    const pkg = pool.pkg(id);
    problems.push({
      kind: 'uninstallable',
      package: nevra(pkg.meta),
      chain,
      reason: 'it cannot be installed together with the rest of the request',
      message: `${renderChain(chain)}: ${nevra(pkg.meta)} cannot be installed together with the rest of the request`,
    });
  };
  const explainRequirement = (rule: Rule, chain: string[], seen: Set<number>): void => {
    const providers = rule.lits.filter((l) => l > 0).map(varOf);
    const where = [...chain, rule.dep];
    if (providers.length === 0) {
      const atoms = isRichDep(rule.dep) ? [] : [parseRequestLike(rule.dep)];
      const foreign = atoms.flatMap((a) => (a ? pool.foreignProviders(a) : [])).map(nevra);
      const hint = foreign.length > 0 ? ` (only ${foreign.join(', ')}, of another architecture)` : '';
      problems.push({
        kind: 'nothing-provides',
        dependency: rule.dep,
        chain: where,
        foreignProviders: foreign,
        message: `${renderChain(where)}: nothing provides it${hint}`,
      });
      return;
    }
    // Every alternative failed: say why for each (the best ones first, a few at most).
    const ordered = [...best(providers), ...providers].filter((p, i, all) => all.indexOf(p) === i).slice(0, 5);
    for (const next of ordered) explainFalse(next, [...chain, step(rule.dep, pool.pkg(next))], seen);
  };
  const conflictProblem = (rule: Rule, a: { id: number; chain: string[] }, b: { id: number; chain: string[] }): void => {
    const owner = rule.pkg === b.id ? [b, a] : [a, b];
    const sideA = { package: nevra(pool.pkg(owner[0]!.id).meta), chain: owner[0]!.chain };
    const sideB = { package: nevra(pool.pkg(owner[1]!.id).meta), chain: owner[1]!.chain };
    const verb = rule.kind === 'same-name' ? `is another version of ${rule.dep} than` : rule.kind === 'obsoletes' ? `obsoletes (${rule.dep})` : `conflicts (${rule.dep}) with`;
    problems.push({
      kind: 'conflict',
      rule: rule.kind,
      dependency: rule.dep,
      sides: [sideA, sideB],
      message: `${sideA.package} (${renderChain(sideA.chain)}) ${verb} ${sideB.package} (${renderChain(sideB.chain)}); only one of them can be installed`,
    });
  };

  const rule = rules[conflict]!;
  if (rule.kind === 'job') {
    const candidates = rule.lits.map(varOf);
    const first = best(candidates)[0]!;
    explainFalse(first, [label, step(rule.dep, pool.pkg(first))], new Set());
  } else if (rule.kind === 'requires') {
    explainRequirement(rule, chainTrue(rule.pkg), new Set([rule.pkg]));
  } else {
    const [a, b] = rule.lits.map(varOf);
    conflictProblem(rule, { id: a!, chain: chainTrue(a!) }, { id: b!, chain: chainTrue(b!) });
  }
  // Every other request that cannot be met at all.
  for (const r of rules) {
    if (r.kind !== 'job' || r === rule) continue;
    const candidates = r.lits.map(varOf);
    if (candidates.every((c) => solver.value[c]! < 0)) {
      const first = best(candidates)[0]!;
      explainFalse(first, [label, step(r.dep, pool.pkg(first))], new Set());
    }
  }
  if (problems.length === 0) {
    problems.push({ kind: 'uninstallable', package: label, chain: [label], reason: 'no consistent set exists', message: `${label}: the requests cannot be installed together` });
  }
  return problems;
}

/** A rendered simple dependency back into an RpmDep (for the foreign-architecture hint). */
function parseRequestLike(text: string): RpmDep | null {
  try {
    return parseRequest(text);
  } catch {
    return null;
  }
}
