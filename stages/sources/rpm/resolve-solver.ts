// The decision procedure, following libsolv's solver_run_sat (src/solver.c) for an empty root,
// which is what dnf runs for `dnf --installroot=EMPTY install ...`:
//   1. unit propagation of the rules that need no choice (a package nothing can satisfy is out);
//   2. the requests in order: each picks one candidate by policy (resolve-policy.ts);
//   3. resolve_dependencies: the requires rules in libsolv's rule order (the requiring package's
//      id DESCENDING, then the provider lists), cyclically; a rule whose candidates are still
//      several names after the non-reordering policy is postponed until every other rule is
//      settled, then decided with the full policy (which may by then prefer a recommended one);
//   4. weak dependencies (unless turned off): supplementing packages first, then the
//      recommendations of the installed packages in decision order; one that cannot be
//      installed is skipped;
//   5. auto-minimization: a choice whose alternative ended up installed anyway is re-taken with
//      that alternative, and a choice that was not recommended is re-taken with a recommended
//      alternative; then everything from step 2 runs again.
// Where libsolv learns a clause from a conflict and back-jumps (CDCL), this solver backtracks
// chronologically: the failed decision is negated one level up. Both explore the same choices in
// the same order for the conflicts real repositories produce (a failed alternative, a weak
// dependency that cannot be installed); the set they reach can differ only where two earlier
// choices conspire.
import { filterCandidates, type PolicyMode, type PolicyState } from './resolve-policy.js';
import { type Rule, depFulfilled, isRpmlibDep, lit, recommendedBy, varOf } from './resolve-rules.js';
import { type PackagePool } from './resolve-universe.js';

/** reasonOf values that are not rule indexes. */
const DECISION = -1;
/** Negation of a failed decision (what libsolv would learn as a clause). */
const FLIPPED = -2;

interface BranchEntry {
  id: number;
  taken: boolean;
}

interface Branch {
  /** The level the choice was made at (the chosen package is decided at level + 1). */
  level: number;
  entries: BranchEntry[];
}

/** Thrown inside the solver when level 1 itself is contradictory: the request cannot be met. */
export class Unsolvable {
  constructor(readonly rule: number) {}
}

export interface SolverOptions {
  weak: boolean;
}

export class Solver implements PolicyState {
  readonly value: Int8Array;
  readonly levelOf: Int32Array;
  readonly reasonOf: Int32Array;
  readonly trail: number[] = [];
  private readonly levelStarts: number[] = [0, 0];
  level = 1;
  private qhead = 0;
  private readonly occurrences: number[][];
  private readonly requireOrder: number[];
  private branches: Branch[] = [];
  private recommendedCache: { version: number; set: Set<number> } | null = null;
  /** Bumped on every change of the assignment (keys the recommended-set cache). */
  private version = 0;
  /** Weak-dependency rounds and minimization steps are bounded by the pool; a guard for bugs. */
  private rounds = 0;

  constructor(
    private readonly pool: PackagePool,
    private readonly rules: readonly Rule[],
    private readonly jobs: readonly number[],
    private readonly options: SolverOptions,
  ) {
    const n = pool.size;
    this.value = new Int8Array(n);
    this.levelOf = new Int32Array(n);
    this.reasonOf = new Int32Array(n).fill(DECISION);
    this.occurrences = Array.from({ length: 2 * n }, () => []);
    rules.forEach((rule, index) => {
      for (const l of rule.lits) this.occurrences[slot(l)]!.push(index);
    });
    this.requireOrder = libsolvRuleOrder(rules);
  }

  isTrue(id: number): boolean {
    return this.value[id]! > 0;
  }

  /** Runs to a complete, consistent set; throws Unsolvable when there is none. */
  solve(): void {
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i]!;
      if (rule.lits.length === 0) throw new Unsolvable(i);
      if (rule.lits.length !== 1) continue;
      const l = rule.lits[0]!;
      const v = this.litValue(l);
      if (v < 0) throw new Unsolvable(i);
      if (v === 0) this.assign(l, i);
    }
    const conflict = this.propagate();
    if (conflict >= 0) throw new Unsolvable(conflict);

    for (;;) {
      if (++this.rounds > 20 * this.pool.size + 100) throw new Error('rpm resolver did not converge (internal error): please report with the package list');
      if (!this.resolveJobs()) continue;
      if (!this.resolveDependencies()) continue;
      if (this.options.weak && this.resolveWeak()) continue;
      if (this.minimize()) continue;
      return;
    }
  }

  // --- assignments ------------------------------------------------------------------------------

  private litValue(l: number): number {
    const v = this.value[varOf(l)]!;
    return l > 0 ? v : -v;
  }

  private assign(l: number, reason: number): void {
    const v = varOf(l);
    this.value[v] = l > 0 ? 1 : -1;
    this.levelOf[v] = this.level;
    this.reasonOf[v] = reason;
    this.trail.push(l);
    this.version++;
  }

  /** Unit propagation; returns the index of a rule all of whose literals are false, or -1. */
  private propagate(): number {
    while (this.qhead < this.trail.length) {
      const falsified = -this.trail[this.qhead++]!;
      for (const index of this.occurrences[slot(falsified)]!) {
        let open = 0;
        let last = 0;
        let satisfied = false;
        for (const l of this.rules[index]!.lits) {
          const v = this.litValue(l);
          if (v > 0) {
            satisfied = true;
            break;
          }
          if (v === 0) {
            open++;
            last = l;
          }
        }
        if (satisfied) continue;
        if (open === 0) return index;
        if (open === 1) this.assign(last, index);
      }
    }
    return -1;
  }

  /** Undoes every assignment above `level` and the branches made at `level` or above. */
  private revert(level: number, keep?: Branch): void {
    const end = this.levelStarts[level + 1] ?? this.trail.length;
    while (this.trail.length > end) {
      const v = varOf(this.trail.pop()!);
      this.value[v] = 0;
      this.reasonOf[v] = DECISION;
    }
    this.levelStarts.length = level + 1;
    this.level = level;
    this.version++;
    this.qhead = Math.min(this.qhead, this.trail.length);
    while (this.branches.length > 0) {
      const last = this.branches[this.branches.length - 1]!;
      if (last === keep || last.level < level) break;
      this.branches.pop();
    }
  }

  /**
   * Decides `l` one level up and propagates. On a conflict the decision is negated one level
   * down (and so on up the levels); returns false when that happened, so the caller restarts.
   */
  private decide(l: number): boolean {
    this.level++;
    this.levelStarts[this.level] = this.trail.length;
    this.assign(l, DECISION);
    let ok = true;
    for (;;) {
      const conflict = this.propagate();
      if (conflict < 0) return ok;
      ok = false;
      if (this.level <= 1) throw new Unsolvable(conflict);
      const decision = this.trail[this.levelStarts[this.level]!]!;
      this.revert(this.level - 1);
      this.assign(-decision, FLIPPED);
    }
  }

  private selectAndInstall(candidates: number[]): boolean {
    const list = candidates.length > 1 ? this.filter(candidates, 'choose') : candidates;
    if (list.length > 1) {
      this.branches.push({ level: this.level, entries: list.map((id, i) => ({ id, taken: i === 0 })) });
    }
    return this.decide(lit(list[0]!));
  }

  private filter(list: number[], mode: PolicyMode): number[] {
    return filterCandidates(this.pool, list, mode, this);
  }

  /** Undecided positive candidates of a rule whose negative literals all hold; null if met or not applicable. */
  private openCandidates(rule: Rule): number[] | null {
    const out: number[] = [];
    for (const l of rule.lits) {
      const v = this.litValue(l);
      if (l < 0) {
        if (v >= 0) return null; // its package is not (yet) installed: the rule does not bite
      } else {
        if (v > 0) return null;
        if (v === 0) out.push(varOf(l));
      }
    }
    return out;
  }

  // --- steps ------------------------------------------------------------------------------------

  private resolveJobs(): boolean {
    for (const index of this.jobs) {
      const open = this.openCandidates(this.rules[index]!);
      if (!open || open.length === 0) continue;
      if (!this.selectAndInstall(open)) return false;
    }
    return true;
  }

  private resolveDependencies(): boolean {
    const order = this.requireOrder;
    const n = order.length;
    let postponed = 0; // 0: none yet; -1: second pass, no more postponing; else position + 1
    for (let i = 0, seen = 0; ; i++, seen++) {
      if (seen >= n) {
        if (postponed <= 0) break;
        i = postponed - 1;
        postponed = -1;
        seen = 0;
      }
      if (i >= n) i = 0;
      const rule = this.rules[order[i]!]!;
      if (this.value[rule.pkg]! <= 0) continue;
      let open = this.openCandidates(rule);
      if (!open || open.length === 0) continue;
      if (open.length > 1 && postponed >= 0) {
        open = this.filter(open, 'choose-noreorder');
        if (open.length > 1) {
          if (postponed === 0) postponed = i + 1;
          continue;
        }
      }
      if (!this.selectAndInstall(open)) return false;
      seen = -1;
    }
    return true;
  }

  /** libsolv's resolve_weak; returns true when something was decided (the main loop reruns). */
  private resolveWeak(): boolean {
    const pool = this.pool;
    const installed = (id: number) => this.isTrue(id);
    const dq: number[] = [];
    const inDq = new Set<number>();
    const pushUnique = (id: number) => {
      if (!inDq.has(id)) {
        inDq.add(id);
        dq.push(id);
      }
    };
    const dqs: number[] = [];
    for (let id = 0; id < pool.size; id++) {
      const v = this.value[id]!;
      if (v < 0) continue;
      const meta = pool.pkg(id).meta;
      if (v > 0) {
        for (const rec of meta.recommends) {
          if (isRpmlibDep(rec.name)) continue;
          const providers = recommendedBy(pool, rec, installed);
          if (providers.some(installed)) continue;
          for (const p of providers) if (this.value[p] === 0) pushUnique(p);
        }
      } else if (meta.supplements.length > 0 && this.supplementing(id)) {
        dqs.push(id);
      }
    }
    // An installonly package whose name is already installed in another version is not supplemented.
    const supplemented = dqs.filter((id) => {
      const p = pool.pkg(id);
      return !p.installOnly || !pool.named(p.meta.name).some((q) => this.isTrue(q.id));
    });
    for (const id of supplemented) pushUnique(id);
    if (dq.length === 0) return false;
    if (dq.length === 1) {
      this.decide(lit(dq[0]!));
      return true;
    }
    const best = new Set(this.filter(dq, 'recommend'));
    let first = supplemented.filter((id) => best.has(id));
    if (first.length > 1) first = this.filter(first, 'supplement');
    const decisionCount = this.trail.length;
    for (const id of first) {
      if (this.value[id] !== 0) continue;
      if (!this.decide(lit(id)) || this.trail.length < decisionCount) return true;
    }
    for (let i = 0; i < decisionCount; i++) {
      const l = this.trail[i]!;
      if (l < 0) continue;
      for (const rec of pool.pkg(varOf(l)).meta.recommends) {
        if (isRpmlibDep(rec.name)) continue;
        const providers = recommendedBy(pool, rec, installed);
        if (providers.some(installed)) continue;
        let open = providers.filter((p) => this.value[p] === 0 && best.has(p));
        if (open.length === 0) continue;
        if (open.length > 1) open = this.filter(open, 'choose');
        if (open.length > 1) this.branches.push({ level: this.level, entries: open.map((id, k) => ({ id, taken: k === 0 })) });
        if (!this.decide(lit(open[0]!)) || this.trail.length < decisionCount) return true;
      }
    }
    return true;
  }

  /** libsolv's auto-minimization step; returns true when a branch was re-taken. */
  private minimize(): boolean {
    let pick: { branch: Branch; entry: BranchEntry } | null = null;
    for (let b = this.branches.length - 1; b >= 0; b--) {
      const branch = this.branches[b]!;
      let recommendedAlternative: BranchEntry | null = null;
      let found = false;
      for (const entry of branch.entries) {
        if (entry.taken) continue;
        if (this.isTrue(entry.id) && this.levelOf[entry.id]! > branch.level) {
          pick = { branch, entry };
          recommendedAlternative = null;
          found = true;
          break;
        }
        if (!recommendedAlternative && (this.recommended(entry.id) || this.supplementing(entry.id))) recommendedAlternative = entry;
      }
      if (found || !recommendedAlternative) continue;
      const chosen = branch.entries.find(
        (e) => e.taken && this.isTrue(e.id) && this.levelOf[e.id] === branch.level + 1 && !(this.recommended(e.id) || this.supplementing(e.id)),
      );
      if (chosen) pick = { branch, entry: recommendedAlternative };
    }
    if (!pick) return false;
    pick.entry.taken = true;
    this.revert(pick.branch.level, pick.branch);
    this.decide(lit(pick.entry.id));
    return true;
  }

  // --- policy state -----------------------------------------------------------------------------

  recommended(id: number): boolean {
    const cache = this.recommendedCache;
    if (cache && cache.version === this.version) return cache.set.has(id);
    const set = new Set<number>();
    const installed = (p: number) => this.isTrue(p);
    for (const l of this.trail) {
      if (l < 0) continue;
      for (const rec of this.pool.pkg(varOf(l)).meta.recommends) {
        if (isRpmlibDep(rec.name)) continue;
        for (const p of recommendedBy(this.pool, rec, installed)) set.add(p);
      }
    }
    this.recommendedCache = { version: this.version, set };
    return set.has(id);
  }

  supplementing(id: number): boolean {
    const installed = (p: number) => this.isTrue(p);
    return this.pool.pkg(id).meta.supplements.some((dep) => depFulfilled(this.pool, dep, installed));
  }

  suggested(id: number): boolean {
    const installed = (p: number) => this.isTrue(p);
    const meta = this.pool.pkg(id).meta;
    if (meta.enhances.some((dep) => depFulfilled(this.pool, dep, installed))) return true;
    for (const l of this.trail) {
      if (l < 0) continue;
      for (const sug of this.pool.pkg(varOf(l)).meta.suggests) if (recommendedBy(this.pool, sug, installed).includes(id)) return true;
    }
    return false;
  }
}

/** Index into the occurrence lists: each literal has its own slot. */
function slot(l: number): number {
  return l > 0 ? 2 * (l - 1) : 2 * (-l - 1) + 1;
}

/**
 * The requires rules libsolv's resolve_dependencies can face with a choice (three literals or
 * more), in its rule order after solver_unifyrules: by the requiring package's id descending,
 * then by the rest of the literals (libsolv compares the raw ids: negatives first).
 */
function libsolvRuleOrder(rules: readonly Rule[]): number[] {
  const rest = (r: Rule): number[] => r.lits.filter((l) => l !== -lit(r.pkg));
  const order: number[] = [];
  rules.forEach((r, i) => {
    if (r.kind === 'requires' && r.lits.length >= 3) order.push(i);
  });
  const rests = new Map(order.map((i) => [i, rest(rules[i]!)]));
  return order.sort((a, b) => {
    const ra = rules[a]!;
    const rb = rules[b]!;
    if (ra.pkg !== rb.pkg) return rb.pkg - ra.pkg;
    const xa = rests.get(a)!;
    const xb = rests.get(b)!;
    for (let k = 0; k < Math.min(xa.length, xb.length); k++) if (xa[k] !== xb[k]) return xa[k]! - xb[k]!;
    return xa.length - xb.length || a - b;
  });
}
