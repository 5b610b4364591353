// Operators on values with Rhai's rules: i64 with overflow errors, int/float mixing gives float,
// `+` with a string concatenates anything, mismatched types are type errors naming both.
import { Fault } from './errors.js';
import { RhaiChar, RhaiRange, checkI64, clone, display, equals, typeName, type RhaiMap, type RhaiValue } from './values.js';

const VERB: Record<string, string> = {
  '+': 'add',
  '-': 'subtract',
  '*': 'multiply',
  '/': 'divide',
  '%': 'take the remainder of',
  '**': 'raise',
  '<<': 'shift',
  '>>': 'shift',
  '&': "apply '&' to",
  '|': "apply '|' to",
  '^': "apply '^' to",
  '<': 'compare',
  '>': 'compare',
  '<=': 'compare',
  '>=': 'compare',
};

function mismatch(op: string, a: RhaiValue, b: RhaiValue): Fault {
  return new Fault('type', `cannot ${VERB[op] ?? `apply '${op}' to`} ${typeName(a)} and ${typeName(b)}`);
}

function intPow(a: bigint, b: bigint): bigint {
  if (b < 0n) throw new Fault('runtime', `negative exponent ${b} for an integer power`);
  if (a === 0n || a === 1n) return b === 0n ? 1n : a;
  if (a === -1n) return b % 2n === 0n ? 1n : -1n;
  if (b > 64n) throw new Fault('runtime', 'integer overflow');
  return checkI64(a ** b);
}

function shift(a: bigint, b: bigint, left: boolean): bigint {
  if (b < 0n) return shift(a, -b, !left);
  if (left) {
    if (b > 63n) throw new Fault('runtime', 'integer overflow');
    return BigInt.asIntN(64, a << b);
  }
  return b > 63n ? (a < 0n ? -1n : 0n) : a >> b;
}

function arith(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    default:
      return a ** b;
  }
}

export function binaryOp(op: string, a: RhaiValue, b: RhaiValue): RhaiValue {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    switch (op) {
      case '+':
        return checkI64(a + b);
      case '-':
        return checkI64(a - b);
      case '*':
        return checkI64(a * b);
      case '/':
        if (b === 0n) throw new Fault('runtime', 'division by zero');
        return checkI64(a / b);
      case '%':
        if (b === 0n) throw new Fault('runtime', 'division by zero');
        return a % b;
      case '**':
        return intPow(a, b);
      case '<<':
        return shift(a, b, true);
      case '>>':
        return shift(a, b, false);
      case '&':
        return a & b;
      case '|':
        return a | b;
      case '^':
        return a ^ b;
    }
  }
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    if (op === '+' || op === '-' || op === '*' || op === '/' || op === '%' || op === '**') return arith(op, Number(a), Number(b));
  }
  switch (op) {
    case '==':
      return equals(a, b);
    case '!=':
      return !equals(a, b);
    case '<':
    case '>':
    case '<=':
    case '>=':
      return compareOp(op, a, b);
    case 'in':
      return contains(b, a);
    case '+':
      return add(a, b);
    case '&':
    case '|':
    case '^':
      if (typeof a === 'boolean' && typeof b === 'boolean') return op === '&' ? a && b : op === '|' ? a || b : a !== b;
  }
  throw mismatch(op, a, b);
}

function add(a: RhaiValue, b: RhaiValue): RhaiValue {
  if (typeof a === 'string' || typeof b === 'string') return concatText(a) + concatText(b);
  if (a instanceof RhaiChar && b instanceof RhaiChar) return a.value + b.value;
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b].map(clone);
  if (a instanceof Map && b instanceof Map) {
    const m = clone(a) as RhaiMap;
    for (const [k, v] of b) m.set(k, clone(v));
    return m;
  }
  throw mismatch('+', a, b);
}

/** Unit adds nothing to a string (`"x" + ()` is `"x"`), as in Rhai. */
function concatText(v: RhaiValue): string {
  return v === undefined ? '' : display(v);
}

/** Order of two values, or a type error when they cannot be ordered. */
export function compare(a: RhaiValue, b: RhaiValue): number {
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) {
    if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const sa = typeof a === 'string' || a instanceof RhaiChar ? String(a) : undefined;
  const sb = typeof b === 'string' || b instanceof RhaiChar ? String(b) : undefined;
  if (sa !== undefined && sb !== undefined) return sa < sb ? -1 : sa > sb ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  throw mismatch('<', a, b);
}

function compareOp(op: string, a: RhaiValue, b: RhaiValue): boolean {
  const c = compare(a, b);
  return op === '<' ? c < 0 : op === '>' ? c > 0 : op === '<=' ? c <= 0 : c >= 0;
}

/** The `in` operator: `needle in haystack`. */
export function contains(haystack: RhaiValue, needle: RhaiValue): boolean {
  if (typeof haystack === 'string') {
    if (typeof needle === 'string' || needle instanceof RhaiChar) return haystack.includes(String(needle));
  } else if (Array.isArray(haystack)) {
    return haystack.some((x) => equals(x, needle));
  } else if (haystack instanceof Map) {
    if (typeof needle === 'string' || needle instanceof RhaiChar) return haystack.has(String(needle));
  } else if (haystack instanceof RhaiRange) {
    if (typeof needle === 'bigint') return needle >= haystack.from && needle < haystack.end;
  }
  throw new Fault('type', `cannot look for ${typeName(needle)} in ${typeName(haystack)}`);
}

export function unaryOp(op: string, v: RhaiValue): RhaiValue {
  if (op === '!') {
    if (typeof v === 'boolean') return !v;
    throw new Fault('type', `cannot apply '!' to ${typeName(v)}`);
  }
  if (typeof v === 'bigint') return op === '-' ? checkI64(-v) : v;
  if (typeof v === 'number') return op === '-' ? -v : v;
  throw new Fault('type', `cannot apply unary '${op}' to ${typeName(v)}`);
}
