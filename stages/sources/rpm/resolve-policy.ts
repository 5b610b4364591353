// libsolv's choice among several packages that could meet one dependency (src/policy.c,
// policy_filter_unwanted), as dnf runs it. Before any rule: a dependency an installed package
// already meets is no choice at all (so already-chosen providers always win), and a choice
// between several names is postponed until every unambiguous dependency is settled
// (resolve-solver.ts), which lets more of them be met "for free". There is no "name matching
// the request" rule for dependencies: a request's candidates are its packages (and their
// obsoleters) only. Then, in order:
// 1. the best repository priority (dnf's `priority`, lower wins);
// 2. the best architecture (x86_64 over i686; noarch always stays: a no-op here, where the pool
//    holds only the target architecture and noarch);
// 3. one package per name, its best EVR; the survivors sorted by NAME (strcmp), so among
//    different names the alphabetically first wins unless a later rule reorders; then a name
//    obsoleted by another candidate is dropped;
// 4. (choosing only) keep the candidates an installed package recommends (or that supplement
//    something installed), if any; then those suggested/enhancing;
// 5. (choosing only) reorder: names whose newest version is not this one go last
//    (dislike_old_versions); candidates providing a lower version of a capability they share
//    with another candidate go after it (sort_by_common_dep); suggested ones first.
// The solver takes the first candidate and remembers the others as a branch (resolve-solver.ts).
import { type PackagePool } from './resolve-universe.js';
import { compareEvr, evrInRange, rangeOf } from './version.js';

export type PolicyMode = 'choose' | 'choose-noreorder' | 'recommend' | 'supplement';

/** What the policy needs to know about the current state of the solver. */
export interface PolicyState {
  /** Recommended by an installed package (libsolv's recommendsmap). */
  recommended(id: number): boolean;
  /** Supplements something installed. */
  supplementing(id: number): boolean;
  suggested(id: number): boolean;
}

export function filterCandidates(pool: PackagePool, list: number[], mode: PolicyMode, state: PolicyState): number[] {
  if (mode === 'supplement') {
    let out = dislikeOldVersions(pool, list);
    out = sortByCommonDep(pool, out);
    return preferSuggested(out, state);
  }
  let out = list;
  if (out.length > 1) out = pruneToHighestPriority(pool, out);
  if (out.length > 1) out = pruneToBestVersion(pool, out);
  if (out.length > 1 && (mode === 'choose' || mode === 'choose-noreorder')) {
    out = pruneToRecommended(out, state);
    if (out.length > 1 && mode === 'choose') {
      out = dislikeOldVersions(pool, out);
      out = sortByCommonDep(pool, out);
      out = preferSuggested(out, state);
    }
  }
  return out;
}

function pruneToHighestPriority(pool: PackagePool, list: number[]): number[] {
  let best = Infinity;
  for (const id of list) best = Math.min(best, pool.pkg(id).repository.priority);
  return list.filter((id) => pool.pkg(id).repository.priority === best);
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function pruneToBestVersion(pool: PackagePool, list: number[]): number[] {
  const sorted = [...list].sort((a, b) => byName(pool.pkg(a).meta.name, pool.pkg(b).meta.name) || a - b);
  const out: number[] = [];
  let best = -1;
  for (const id of sorted) {
    if (best < 0) {
      best = id;
      continue;
    }
    if (pool.pkg(best).meta.name !== pool.pkg(id).meta.name) {
      out.push(best);
      best = id;
      continue;
    }
    if (compareEvr(pool.pkg(best).meta.evr, pool.pkg(id).meta.evr) < 0) best = id;
  }
  out.push(best);
  return out.length > 1 ? pruneObsoleted(pool, out) : out;
}

/** Does `a` obsolete `b` (a different name; rpm obsoletes match package names)? */
function obsoletes(pool: PackagePool, a: number, b: number): boolean {
  const A = pool.pkg(a).meta;
  const B = pool.pkg(b).meta;
  if (A.name === B.name) return false;
  return A.obsoletes.some((o) => o.name === B.name && evrInRange(B.evr, rangeOf(o)));
}

/** Drops candidates another candidate obsoletes (two that obsolete each other both stay). */
function pruneObsoleted(pool: PackagePool, list: number[]): number[] {
  if (!list.some((id) => pool.pkg(id).meta.obsoletes.length > 0)) return list;
  return list.filter((b) => !list.some((a) => a !== b && obsoletes(pool, a, b) && !obsoletes(pool, b, a)));
}

function stablePartition(list: number[], good: (id: number) => boolean): number[] {
  return [...list.filter(good), ...list.filter((id) => !good(id))];
}

function pruneToRecommended(list: number[], state: PolicyState): number[] {
  let out = list.filter((id) => state.recommended(id) || state.supplementing(id));
  if (out.length === 0) out = list;
  if (out.length < 2) return out;
  const suggested = out.filter((id) => state.suggested(id));
  return suggested.length > 0 ? suggested : out;
}

/** A candidate with a newer version of the same name and arch available goes to the back. */
function dislikeOldVersions(pool: PackagePool, list: number[]): number[] {
  const old = (id: number): boolean => {
    const p = pool.pkg(id);
    return pool.named(p.meta.name).some((q) => {
      if (q.id === id || q.meta.arch !== p.meta.arch) return false;
      if (q.repository.priority !== p.repository.priority) return q.repository.priority < p.repository.priority;
      return compareEvr(q.meta.evr, p.meta.evr) > 0;
    });
  };
  return stablePartition(list, (id) => !old(id));
}

function preferSuggested(list: number[], state: PolicyState): number[] {
  return stablePartition(list, (id) => state.suggested(id));
}

interface CommonProvide {
  index: number;
  name: string;
  evr: { epoch: number; version: string; release?: string };
  /** `< EVR` provides sort after `= EVR` ones. */
  less: boolean;
}

/**
 * libsolv's sort_by_common_dep: when candidates provide the same capability with different
 * versions, the ones providing a lower version move back (by how many higher ones precede them).
 */
function sortByCommonDep(pool: PackagePool, list: number[]): number[] {
  if (list.length < 2) return list;
  const entries: CommonProvide[] = [];
  list.forEach((id, index) => {
    for (const p of pool.pkg(id).meta.provides) {
      if (!p.evr || (p.flags !== 'EQ' && p.flags !== 'LE' && p.flags !== 'LT')) continue;
      if (p.flags === 'EQ' && looksLikeHash(p.evr)) continue;
      entries.push({ index, name: p.name, evr: p.evr, less: p.flags === 'LT' });
    }
  });
  if (entries.length < 2) return list;
  const cmp = (a: CommonProvide, b: CommonProvide): number => {
    if (a.name !== b.name) return byName(a.name, b.name);
    const r = compareEvr(b.evr, a.evr); // higher first; a missing release matches any
    if (r === 0 && a.less !== b.less) return a.less ? 1 : -1;
    return r;
  };
  entries.sort(cmp);
  const badness = new Array<number>(list.length).fill(0);
  let bad = 0;
  let havebad = false;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const prev = i > 0 ? entries[i - 1]! : undefined;
    if (prev && prev.name === e.name) {
      if (prev.index !== e.index && cmp(prev, e) === -1) {
        bad++;
        havebad = true;
      }
    } else bad = 0;
    badness[e.index]! += bad;
  }
  if (!havebad) return list;
  return list.map((id, i) => ({ id, i })).sort((a, b) => badness[a.i]! - badness[b.i]! || a.i - b.i).map((x) => x.id);
}

/** libsolv ignores `= <hex digits>` provides (build ids, commit hashes) of 4+ characters. */
function looksLikeHash(evr: { epoch: number; version: string; release?: string }): boolean {
  const text = `${evr.epoch > 0 ? `${evr.epoch}:` : ''}${evr.version}${evr.release ? `-${evr.release}` : ''}`;
  return text.length >= 4 && /^[0-9a-f]+$/.test(text);
}
