// RPM version ordering and dependency ranges, exactly as rpm orders them (rpmio/rpmvercmp.c,
// lib/rpmds.c) and libsolv matches them (pool_match_dep with rpm semantics).
//
// rpmvercmp walks both strings segment by segment:
// - separators (anything but ASCII letters, digits, `~`, `^`) only split segments;
// - `~` sorts before everything, the end of the string included (`1.0~rc1` < `1.0`);
// - `^` sorts after the end of the string but before any other segment (`1.0` < `1.0^git1` < `1.0.1`);
// - a numeric segment beats an alphabetic one; numbers compare without leading zeros, then by
//   length, then digit by digit (unbounded); letters compare as bytes (`A` < `a`);
// - when one side runs out, the side with something left wins.
import type { DepFlag, Evr, RpmDep } from './model.js';

export type Order = -1 | 0 | 1;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
const TILDE = 126;
const CARET = 94;

/** rpm's rpmvercmp: the order of two version (or release) strings. */
export function rpmvercmp(a: string, b: string): Order {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const at = (s: string, k: number): number => (k < s.length ? s.charCodeAt(k) : 0);
  while (i < a.length || j < b.length) {
    while (i < a.length && !isDigit(at(a, i)) && !isAlpha(at(a, i)) && at(a, i) !== TILDE && at(a, i) !== CARET) i++;
    while (j < b.length && !isDigit(at(b, j)) && !isAlpha(at(b, j)) && at(b, j) !== TILDE && at(b, j) !== CARET) j++;
    const ca = at(a, i);
    const cb = at(b, j);
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === CARET || cb === CARET) {
      if (ca === 0) return -1;
      if (cb === 0) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === 0 || cb === 0) break;
    const numeric = isDigit(ca);
    const accept = numeric ? isDigit : isAlpha;
    let ei = i;
    let ej = j;
    while (ei < a.length && accept(at(a, ei))) ei++;
    while (ej < b.length && accept(at(b, ej))) ej++;
    // The other side's segment is of the other kind (empty here): numbers are newer.
    if (ej === j) return numeric ? 1 : -1;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** An EVR whose release may be absent (a dependency's `>= 1.2`). */
export interface PartialEvr {
  epoch: number;
  version: string;
  release?: string;
}

/**
 * Compares two EVRs: epoch, then version, then release. A missing (or empty) release on either
 * side makes the releases compare equal, which is how `>= 1.2` matches `1.2-5`.
 */
export function compareEvr(a: PartialEvr, b: PartialEvr): Order {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return v;
  if (!a.release || !b.release) return 0;
  return rpmvercmp(a.release, b.release);
}

/** The full order of package EVRs (both releases present). */
export function comparePackageEvr(a: Evr, b: Evr): Order {
  return compareEvr(a, b);
}

export function formatEvr(evr: PartialEvr): string {
  const head = evr.epoch > 0 ? `${evr.epoch}:` : '';
  return `${head}${evr.version}${evr.release ? `-${evr.release}` : ''}`;
}

const FLAG_TEXT: Record<DepFlag, string> = { EQ: '=', LT: '<', LE: '<=', GT: '>', GE: '>=' };
const SENSE: Record<DepFlag, { less: boolean; equal: boolean; greater: boolean }> = {
  EQ: { less: false, equal: true, greater: false },
  LT: { less: true, equal: false, greater: false },
  LE: { less: true, equal: true, greater: false },
  GT: { less: false, equal: false, greater: true },
  GE: { less: false, equal: true, greater: true },
};

/** `foo >= 1:1.2-3`, `foo`, or a rich dependency's text as written. */
export function formatDep(dep: Pick<RpmDep, 'name' | 'flags' | 'evr'>): string {
  if (!dep.flags || !dep.evr) return dep.name;
  return `${dep.name} ${FLAG_TEXT[dep.flags]} ${formatEvr(dep.evr)}`;
}

/** A version range: a flag and an EVR, or null for "any version". */
export interface VersionRange {
  flags: DepFlag;
  evr: PartialEvr;
}

export function rangeOf(dep: Pick<RpmDep, 'flags' | 'evr'>): VersionRange | null {
  return dep.flags && dep.evr ? { flags: dep.flags, evr: dep.evr } : null;
}

/**
 * Do two ranges overlap (rpm's rpmdsCompare)? `provided` is what a package provides (usually
 * `= EVR`), `required` what a dependency asks for. Either side without a version (an unversioned
 * provide, an unversioned require) overlaps everything, as in rpm and libsolv.
 */
export function rangesOverlap(provided: VersionRange | null, required: VersionRange | null): boolean {
  if (provided === null || required === null) return true;
  const sense = compareEvr(provided.evr, required.evr);
  const a = SENSE[provided.flags];
  const b = SENSE[required.flags];
  if (sense < 0) return a.greater || b.less;
  if (sense > 0) return a.less || b.greater;
  return (a.equal && b.equal) || (a.less && b.less) || (a.greater && b.greater);
}

/** Does a package's own EVR satisfy a range (an obsoletes or a name match)? */
export function evrInRange(evr: Evr, range: VersionRange | null): boolean {
  return rangesOverlap({ flags: 'EQ', evr }, range);
}
