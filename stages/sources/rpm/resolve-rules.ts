// Dependencies as clauses over "package installed" variables, as libsolv writes its package
// rules (src/rules.c, solver_addpkgrulesforsolvable):
// - requires:   -s | p1 | p2 ...     (one of the providers; a package meeting its own requirement needs no rule)
// - conflicts:  -s | -p              (for every other provider of the conflict)
// - obsoletes:  -s | -p              (for every package whose NAME and EVR match: rpm obsoletes match names)
// - same name:  -s | -p              (two versions of a name never coexist, except installonly kernels)
// Rich dependencies become several such clauses (CNF), read as libsolv reads them
// (src/cplxdeps.c): `A if B` = A | -B (the negative literals -b make the clause bite only once
// B is installed), `A if B else C` = (A | -B) & (C | B), `A unless B` = A & -B,
// `A unless B else C` = (A & -B) | (C & B).
//
// A literal is a package id + 1, negated for "not installed".
import type { RpmDep } from './model.js';
import { type PackagePool } from './resolve-universe.js';
import { type RichDep, formatRichDep, isRichDep, parseRichDepCached } from './rich-deps.js';
import { evrInRange, formatDep, rangeOf } from './version.js';

export type RuleKind = 'requires' | 'conflicts' | 'obsoletes' | 'same-name' | 'job';

export interface Rule {
  /** Literals: +(id+1) "installed", -(id+1) "not installed". Negative literals first. */
  lits: number[];
  kind: RuleKind;
  /** The package whose dependency this is; -1 for a request. */
  pkg: number;
  /** The dependency as written (`glibc >= 2.34`, `(a or b)`), or the request. */
  dep: string;
  /** For a request: its index in the request list. */
  request?: number;
}

export const lit = (id: number): number => id + 1;
export const varOf = (l: number): number => (l < 0 ? -l : l) - 1;

/** rpm's internal dependencies (`rpmlib(PayloadIsZstd)`) are met by rpm itself, not by packages. */
export function isRpmlibDep(name: string): boolean {
  return name.startsWith('rpmlib(');
}

type Cnf = number[][];

/** The clauses (as lists of literals) that make a rich expression true; `negate` for false. */
export function richCnf(pool: PackagePool, dep: RichDep, negate: boolean): Cnf {
  const atomSet = (d: RichDep): number[] => {
    switch (d.kind) {
      case 'atom':
        return pool.whatProvides(d.dep);
      case 'with': {
        let acc = atomSet(d.operands[0]!);
        for (const o of d.operands.slice(1)) {
          const keep = new Set(atomSet(o));
          acc = acc.filter((p) => keep.has(p));
        }
        return acc;
      }
      case 'without': {
        const drop = new Set(atomSet(d.operands[1]));
        return atomSet(d.operands[0]).filter((p) => !drop.has(p));
      }
      default:
        throw new Error(`"with"/"without" operands must be package names, not ${formatRichDep(d)}`);
    }
  };
  const and = (a: Cnf, b: Cnf): Cnf => [...a, ...b];
  const or = (a: Cnf, b: Cnf): Cnf => {
    const out: Cnf = [];
    for (const x of a) for (const y of b) out.push([...x, ...y]);
    return out;
  };
  const walk = (d: RichDep, neg: boolean): Cnf => {
    switch (d.kind) {
      case 'atom':
      case 'with':
      case 'without': {
        const set = atomSet(d);
        // true: one clause "one of them"; false: "none of them", one clause each.
        return neg ? set.map((p) => [-lit(p)]) : [set.map(lit)];
      }
      case 'and':
        return neg ? d.operands.map((o) => walk(o, true)).reduce(or) : d.operands.flatMap((o) => walk(o, false));
      case 'or':
        return neg ? d.operands.flatMap((o) => walk(o, true)) : d.operands.map((o) => walk(o, false)).reduce(or);
      case 'if': {
        // libsolv: A if B = A | -B;  A if B else C = (A | -B) & (C | B)
        const [a, notA, b, notB] = [walk(d.then, false), walk(d.then, true), walk(d.condition, false), walk(d.condition, true)];
        if (!d.otherwise) return neg ? and(notA, b) : or(a, notB);
        const [c, notC] = [walk(d.otherwise, false), walk(d.otherwise, true)];
        return neg ? or(and(notA, b), and(notC, notB)) : and(or(a, notB), or(c, b));
      }
      case 'unless': {
        // libsolv: A unless B = A & -B;  A unless B else C = (A & -B) | (C & B)
        const [a, notA, b, notB] = [walk(d.then, false), walk(d.then, true), walk(d.condition, false), walk(d.condition, true)];
        if (!d.otherwise) return neg ? or(notA, b) : and(a, notB);
        const [c, notC] = [walk(d.otherwise, false), walk(d.otherwise, true)];
        return neg ? and(or(notA, b), or(notC, notB)) : or(and(a, notB), and(c, b));
      }
    }
  };
  return walk(dep, negate);
}

/** Normalizes a clause: unique literals, negatives first then positives ascending; null if always true. */
function normalize(lits: number[]): number[] | null {
  const set = new Set(lits);
  for (const l of set) if (set.has(-l)) return null;
  return [...set].sort((a, b) => (a < 0) !== (b < 0) ? (a < 0 ? -1 : 1) : Math.abs(a) - Math.abs(b));
}

/**
 * Writes the package rules of every package reachable from the start set: the packages that
 * can satisfy a requirement (and, with weak dependencies, a recommendation) of a reachable one.
 */
export class RuleBuilder {
  readonly rules: Rule[] = [];
  private readonly added: Uint8Array;
  private readonly sameName = new Set<string>();

  constructor(
    private readonly pool: PackagePool,
    private readonly weak: boolean,
  ) {
    this.added = new Uint8Array(pool.size);
  }

  isAdded(id: number): boolean {
    return this.added[id] === 1;
  }

  /** Adds the rules of `start` and of everything reachable from it. */
  addClosure(start: Iterable<number>): void {
    const work = [...start];
    while (work.length > 0) {
      const id = work.pop()!;
      if (this.added[id]) continue;
      this.added[id] = 1;
      for (const next of this.addPackageRules(id)) if (!this.added[next]) work.push(next);
    }
  }

  /** The providers of a dependency, simple or rich: every package that could help meet it. */
  candidates(dep: RpmDep): number[] {
    if (!isRichDep(dep.name)) return this.pool.whatProvides(dep);
    const out = new Set<number>();
    for (const clause of richCnf(this.pool, parseRichDepCached(dep.name), false)) for (const l of clause) if (l > 0) out.add(varOf(l));
    return [...out];
  }

  private add(kind: RuleKind, pkg: number, dep: string, lits: number[]): void {
    const norm = normalize(lits);
    if (norm) this.rules.push({ lits: norm, kind, pkg, dep });
  }

  /** Adds one package's rules; returns the packages its requirements (and recommendations) can pull in. */
  private addPackageRules(id: number): number[] {
    const pool = this.pool;
    const pkg = pool.pkg(id);
    const s = lit(id);
    const next: number[] = [];
    for (const dep of pkg.meta.requires) {
      if (isRpmlibDep(dep.name)) continue;
      if (isRichDep(dep.name)) {
        const text = dep.name;
        for (const clause of richCnf(pool, parseRichDepCached(text), false)) {
          this.add('requires', id, text, [-s, ...clause]);
          for (const l of clause) if (l > 0) next.push(varOf(l));
        }
        continue;
      }
      const providers = pool.whatProvides(dep);
      if (providers.includes(id)) continue; // self-fulfilling
      this.add('requires', id, formatDep(dep), [-s, ...providers.map(lit)]);
      next.push(...providers);
    }
    for (const dep of pkg.meta.conflicts) {
      if (isRichDep(dep.name)) {
        for (const clause of richCnf(pool, parseRichDepCached(dep.name), true)) this.add('conflicts', id, dep.name, [-s, ...clause]);
        continue;
      }
      for (const p of pool.whatProvides(dep)) if (p !== id) this.add('conflicts', id, formatDep(dep), [-s, -lit(p)]);
    }
    if (!pkg.installOnly) {
      for (const dep of pkg.meta.obsoletes) {
        const range = rangeOf(dep);
        for (const other of pool.named(dep.name)) {
          if (other.id !== id && evrInRange(other.meta.evr, range)) this.add('obsoletes', id, formatDep(dep), [-s, -lit(other.id)]);
        }
      }
      for (const other of pool.named(pkg.meta.name)) {
        if (other.id === id || other.installOnly) continue;
        const key = id < other.id ? `${id},${other.id}` : `${other.id},${id}`;
        if (this.sameName.has(key)) continue;
        this.sameName.add(key);
        this.add('same-name', id, pkg.meta.name, [-s, -lit(other.id)]);
      }
    }
    if (this.weak) for (const dep of pkg.meta.recommends) if (!isRpmlibDep(dep.name)) next.push(...this.candidates(dep));
    return next;
  }
}

/**
 * Is a dependency met by the installed packages? libsolv's solver_dep_fulfilled, used for
 * Supplements and for the conditions of weak dependencies: `A if B` holds when A is installed or
 * B is not; `A unless B` when A is installed and B is not (libsolv's reading for reverse deps).
 */
export function depFulfilled(pool: PackagePool, dep: RpmDep, installed: (id: number) => boolean): boolean {
  if (!isRichDep(dep.name)) return pool.whatProvides(dep).some(installed);
  return richHolds(pool, parseRichDepCached(dep.name), installed);
}

function richHolds(pool: PackagePool, d: RichDep, installed: (id: number) => boolean): boolean {
  const holds = (x: RichDep): boolean => richHolds(pool, x, installed);
  switch (d.kind) {
    case 'and':
      return d.operands.every(holds);
    case 'or':
      return d.operands.some(holds);
    case 'if':
      if (d.otherwise) return holds(d.condition) ? holds(d.then) : holds(d.otherwise);
      return holds(d.then) || !holds(d.condition);
    case 'unless':
      if (d.otherwise) return !holds(d.condition) ? holds(d.then) : holds(d.otherwise);
      return holds(d.then) && !holds(d.condition);
    default:
      return richCnf(pool, d, false)[0]!.some((l) => installed(varOf(l)));
  }
}

/**
 * The packages a recommendation points at given what is installed (libsolv's
 * check_complex_dep / add_complex_recommends, simplified): the providers of each alternative
 * whose conditions hold.
 */
export function recommendedBy(pool: PackagePool, dep: RpmDep, installed: (id: number) => boolean): number[] {
  if (!isRichDep(dep.name)) return pool.whatProvides(dep);
  const out: number[] = [];
  const isTrue = (d: RichDep): boolean => richHolds(pool, d, installed);
  const walk = (d: RichDep): void => {
    switch (d.kind) {
      case 'and':
      case 'or':
        d.operands.forEach(walk);
        return;
      case 'if':
        if (isTrue(d.condition)) walk(d.then);
        else if (d.otherwise) walk(d.otherwise);
        return;
      case 'unless':
        if (!isTrue(d.condition)) walk(d.then);
        else if (d.otherwise) walk(d.otherwise);
        return;
      default:
        for (const l of richCnf(pool, d, false)[0]!) out.push(varOf(l));
    }
  };
  walk(parseRichDepCached(dep.name));
  return [...new Set(out)];
}
