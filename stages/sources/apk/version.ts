// Alpine package versions, ordered exactly as apk-tools (src/version.c, 2.14 / 3.x) orders them.
//
// Grammar: digit{.digit}...{letter}{_suffix{digits}}...{~hexhash}{-r digits}
// The comparison walks both strings token by token; the first differing token decides.
// Details that matter and are easy to get wrong:
// - a dotted number with a leading zero (`1.02`) compares as a string, not as a number;
// - a letter may only follow a number, a suffix number only a suffix;
// - pre-release suffixes (_alpha _beta _pre _rc) sort before "no suffix", the others
//   (_cvs _svn _git _hg _p) after it;
// - when one version is a prefix of the other, the longer one is greater unless what follows
//   is a pre-release suffix;
// - invalid versions still compare (token by token up to the invalid part), as in apk.
// Numbers are compared as decimal strings of any length, where apk uses 64-bit integers: the
// two agree for every number below 2^64.

/** Bits of a comparison result and of a dependency's operator (apk_version.h). */
export const VERSION_EQUAL = 1;
export const VERSION_LESS = 2;
export const VERSION_GREATER = 4;
export const VERSION_FUZZY = 8;
export const VERSION_CONFLICT = 16;
/** A dependency without version: any version matches. */
export const DEPMASK_ANY = VERSION_EQUAL | VERSION_LESS | VERSION_GREATER;
/** `><`: the "version" is a package checksum (Q1...). */
export const DEPMASK_CHECKSUM = VERSION_LESS | VERSION_GREATER;

export type VersionOrder = -1 | 0 | 1;

const enum Token {
  InitialDigit,
  Digit,
  Letter,
  Suffix,
  SuffixNumber,
  CommitHash,
  RevisionNumber,
  End,
  Invalid,
}

// Suffix ranks: below NONE = pre-release, above NONE = post-release.
const SUFFIX_INVALID = 0;
const SUFFIX_NONE = 5;
const SUFFIX_RANK: Record<string, number> = {
  alpha: 1,
  beta: 2,
  pre: 3,
  rc: 4,
  cvs: 6,
  svn: 7,
  git: 8,
  hg: 9,
  p: 10,
};

interface TokenState {
  token: Token;
  /** Raw text of the token (digits, the letter, the suffix word, the hash). */
  value: string;
  suffix: number;
  /** Read position in the version string. */
  pos: number;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 97 && c <= 102);
}

function readWhile(s: string, from: number, accept: (c: number) => boolean): number {
  let i = from;
  while (i < s.length && accept(s.charCodeAt(i))) i++;
  return i;
}

function parseDigits(t: TokenState, s: string): void {
  const end = readWhile(s, t.pos, isDigit);
  t.value = s.slice(t.pos, end);
  t.pos = end;
  if (t.value.length === 0) t.token = Token.Invalid;
}

function firstToken(s: string): TokenState {
  const t: TokenState = { token: Token.InitialDigit, value: '', suffix: SUFFIX_INVALID, pos: 0 };
  parseDigits(t, s);
  return t;
}

function nextToken(t: TokenState, s: string): void {
  if (t.pos >= s.length) {
    t.token = Token.End;
    return;
  }
  const c = s.charCodeAt(t.pos);
  if (isLower(c)) {
    if (t.token > Token.Digit) return invalid(t);
    t.value = s[t.pos]!;
    t.token = Token.Letter;
    t.pos++;
    return;
  }
  if (c === 46 /* . */ || isDigit(c)) {
    if (c === 46) {
      if (t.token > Token.Digit) return invalid(t);
      t.pos++;
    }
    if (t.token === Token.InitialDigit || t.token === Token.Digit) t.token = Token.Digit;
    else if (t.token === Token.Suffix) t.token = Token.SuffixNumber;
    else return invalid(t);
    parseDigits(t, s);
    return;
  }
  if (c === 95 /* _ */) {
    if (t.token > Token.SuffixNumber) return invalid(t);
    const end = readWhile(s, t.pos + 1, isLower);
    t.value = s.slice(t.pos + 1, end);
    t.pos = end;
    t.suffix = SUFFIX_RANK[t.value] ?? SUFFIX_INVALID;
    if (t.suffix === SUFFIX_INVALID) return invalid(t);
    t.token = Token.Suffix;
    return;
  }
  if (c === 126 /* ~ */) {
    if (t.token >= Token.CommitHash) return invalid(t);
    const end = readWhile(s, t.pos + 1, isHex);
    t.value = s.slice(t.pos + 1, end);
    t.pos = end;
    if (t.value.length === 0) return invalid(t);
    t.token = Token.CommitHash;
    return;
  }
  if (c === 45 /* - */) {
    if (t.token >= Token.RevisionNumber || s.charCodeAt(t.pos + 1) !== 114 /* r */) return invalid(t);
    t.pos += 2;
    t.token = Token.RevisionNumber;
    parseDigits(t, s);
    return;
  }
  invalid(t);
}

function invalid(t: TokenState): void {
  t.token = Token.Invalid;
}

/** Byte-wise string order, shorter first on a common prefix (apk_blob_sort). */
function compareStrings(a: string, b: string): VersionOrder {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Decimal strings as unbounded non-negative integers. */
function compareNumbers(a: string, b: string): VersionOrder {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return compareStrings(x, y);
}

function compareTokens(a: TokenState, b: TokenState): VersionOrder {
  switch (a.token) {
    case Token.Digit:
      // A leading zero makes the component a string (as in Gentoo): 1.02 < 1.1.
      if (a.value[0] === '0' || b.value[0] === '0') return compareStrings(a.value, b.value);
      return compareNumbers(a.value, b.value);
    case Token.InitialDigit:
    case Token.SuffixNumber:
    case Token.RevisionNumber:
      return compareNumbers(a.value, b.value);
    case Token.Suffix:
      return a.suffix < b.suffix ? -1 : a.suffix > b.suffix ? 1 : 0;
    default:
      return compareStrings(a.value, b.value);
  }
}

/** Returns VERSION_LESS, VERSION_EQUAL or VERSION_GREATER (apk_version_compare_fuzzy). */
function compareMask(a: string, b: string, fuzzy: boolean): number {
  const ta = firstToken(a);
  const tb = firstToken(b);
  while (ta.token === tb.token && ta.token < Token.End) {
    const r = compareTokens(ta, tb);
    if (r !== 0) return r < 0 ? VERSION_LESS : VERSION_GREATER;
    nextToken(ta, a);
    nextToken(tb, b);
  }
  if (ta.token === tb.token) return VERSION_EQUAL;
  // Fuzzy matching: `a` starts with every component of `b`.
  if (tb.token === Token.End && fuzzy) return VERSION_EQUAL;
  // One is a prefix of the other: longer is newer, unless it continues with a pre-release.
  if (ta.token === Token.Suffix && ta.suffix < SUFFIX_NONE) return VERSION_LESS;
  if (tb.token === Token.Suffix && tb.suffix < SUFFIX_NONE) return VERSION_GREATER;
  if (ta.token > tb.token) return VERSION_LESS;
  if (tb.token > ta.token) return VERSION_GREATER;
  return VERSION_EQUAL;
}

/** Orders two versions as apk does: -1 if a < b, 0 if equal, 1 if a > b. */
export function compareVersions(a: string, b: string): VersionOrder {
  const r = compareMask(a, b, false);
  return r === VERSION_LESS ? -1 : r === VERSION_GREATER ? 1 : 0;
}

/** True when apk accepts the string as a package version (apk_version_validate). */
export function isValidVersion(version: string): boolean {
  const t = firstToken(version);
  while (t.token < Token.End) nextToken(t, version);
  return t.token === Token.End;
}

/**
 * Does version `a` satisfy operator mask `op` against version `b` (apk_version_match)?
 * `a === null` is a provider without version (an unversioned `p:` entry): apk treats it as
 * equal to, less than and greater than everything, so it satisfies every versioned operator.
 */
export function versionMatches(a: string | null, op: number, b: string | null): boolean {
  let ok: boolean;
  if ((op & DEPMASK_ANY) === DEPMASK_ANY) ok = true;
  else if (a === null || b === null) ok = ((a === null && b === null ? VERSION_EQUAL : DEPMASK_ANY) & op) !== 0;
  else ok = (compareMask(a, b, (op & VERSION_FUZZY) !== 0) & op) !== 0;
  return (op & VERSION_CONFLICT) !== 0 ? !ok : ok;
}

/** Operator mask of an operator string made of `<`, `>`, `=`, `~` (0 if any other character). */
export function operatorMask(op: string): number {
  let mask = 0;
  for (const c of op) {
    if (c === '<') mask |= VERSION_LESS;
    else if (c === '>') mask |= VERSION_GREATER;
    else if (c === '=') mask |= VERSION_EQUAL;
    else if (c === '~') mask |= VERSION_FUZZY | VERSION_EQUAL;
    else return 0;
  }
  return mask;
}

/** Canonical spelling of an operator mask (apk_version_op_string); `''` for "any version". */
export function operatorString(mask: number): string {
  switch (mask & ~VERSION_CONFLICT) {
    case VERSION_LESS:
      return '<';
    case VERSION_LESS | VERSION_EQUAL:
      return '<=';
    case VERSION_LESS | VERSION_EQUAL | VERSION_FUZZY:
      return '<~';
    case VERSION_EQUAL | VERSION_FUZZY:
    case VERSION_FUZZY:
      return '~';
    case VERSION_EQUAL:
      return '=';
    case VERSION_GREATER | VERSION_EQUAL:
      return '>=';
    case VERSION_GREATER | VERSION_EQUAL | VERSION_FUZZY:
      return '>~';
    case VERSION_GREATER:
      return '>';
    case DEPMASK_CHECKSUM:
      return '><';
    case DEPMASK_ANY:
      return '';
    default:
      return '?';
  }
}
