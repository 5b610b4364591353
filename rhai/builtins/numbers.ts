// Numbers and conversions, plus the functions every value has (`type_of`, `to_string`, ...).
import { Fault } from '../errors.js';
import { compare } from '../ops.js';
import { I64_MAX, I64_MIN, RhaiChar, RhaiRange, checkI64, debug, display, rhaiTypeOf, typeName, type RhaiValue } from '../values.js';
import { NO_MATCH, define } from './registry.js';

const isNum = (v: RhaiValue): v is bigint | number => typeof v === 'bigint' || typeof v === 'number';

function one(name: string, fn: (v: RhaiValue) => RhaiValue | typeof NO_MATCH): void {
  define(name, (a) => (a.length === 1 ? fn(a[0]) : NO_MATCH));
}

function floatToInt(x: number): bigint {
  if (!Number.isFinite(x)) throw new Fault('runtime', `cannot convert ${x} to an integer`);
  const i = BigInt(Math.trunc(x));
  if (i < I64_MIN || i > I64_MAX) throw new Fault('runtime', `${x} is out of range for an integer`);
  return i;
}

function parseInt64(s: string, radix = 10): bigint {
  const t = s.trim();
  const ok = radix === 10 ? /^[+-]?[0-9]+$/.test(t) : radix === 16 ? /^[+-]?[0-9a-fA-F]+$/.test(t) : /^[+-]?[0-7]+$/.test(t) || /^[+-]?[01]+$/.test(t);
  if (!ok) throw new Fault('runtime', `cannot parse ${JSON.stringify(s)} as an integer`);
  const neg = t.startsWith('-');
  const digits = t.replace(/^[+-]/, '');
  const v = BigInt((radix === 16 ? '0x' : radix === 8 ? '0o' : radix === 2 ? '0b' : '') + digits);
  return checkI64(neg ? -v : v);
}

function parseFloat64(s: string): number {
  const t = s.trim();
  if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(t)) throw new Fault('runtime', `cannot parse ${JSON.stringify(s)} as a float`);
  return Number(t);
}

one('type_of', (v) => rhaiTypeOf(v));
one('to_string', (v) => display(v));
one('to_debug', (v) => debug(v));
one('is_string', (v) => typeof v === 'string');
one('to_int', (v) => {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return floatToInt(v);
  if (typeof v === 'string') return parseInt64(v);
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (v instanceof RhaiChar) return BigInt(v.value.codePointAt(0)!);
  return NO_MATCH;
});
one('to_float', (v) => (isNum(v) ? Number(v) : typeof v === 'string' ? parseFloat64(v) : NO_MATCH));
one('to_char', (v) => (typeof v === 'bigint' && v >= 0n && v <= 0x10ffffn ? new RhaiChar(String.fromCodePoint(Number(v))) : NO_MATCH));
one('parse_int', (v) => (typeof v === 'string' ? parseInt64(v) : NO_MATCH));
define('parse_int', (a) => (a.length === 2 && typeof a[0] === 'string' && typeof a[1] === 'bigint' ? parseInt64(a[0], Number(a[1])) : NO_MATCH));
one('parse_float', (v) => (typeof v === 'string' ? parseFloat64(v) : NO_MATCH));
one('abs', (v) => (typeof v === 'bigint' ? checkI64(v < 0n ? -v : v) : typeof v === 'number' ? Math.abs(v) : NO_MATCH));
one('sign', (v) => (typeof v === 'bigint' ? (v > 0n ? 1n : v < 0n ? -1n : 0n) : typeof v === 'number' ? BigInt(Math.sign(v)) : NO_MATCH));
one('is_odd', (v) => (typeof v === 'bigint' ? v % 2n !== 0n : NO_MATCH));
one('is_even', (v) => (typeof v === 'bigint' ? v % 2n === 0n : NO_MATCH));
one('is_zero', (v) => (isNum(v) ? Number(v) === 0 : NO_MATCH));
for (const f of ['floor', 'ceil', 'round', 'sqrt', 'exp', 'ln'] as const) {
  const impl = { floor: Math.floor, ceil: Math.ceil, round: Math.round, sqrt: Math.sqrt, exp: Math.exp, ln: Math.log }[f];
  one(f, (v) => (isNum(v) ? impl(Number(v)) : NO_MATCH));
}
one('int', (v) => (typeof v === 'number' ? floatToInt(v) : NO_MATCH));
one('to_hex', (v) => (typeof v === 'bigint' ? BigInt.asUintN(64, v).toString(16) : NO_MATCH));

define('min', (a) => (a.length === 2 && isNum(a[0]) && isNum(a[1]) ? (compare(a[0], a[1]) <= 0 ? a[0] : a[1]) : NO_MATCH));
define('max', (a) => (a.length === 2 && isNum(a[0]) && isNum(a[1]) ? (compare(a[0], a[1]) >= 0 ? a[0] : a[1]) : NO_MATCH));

define('range', (a) => {
  if (a.length === 2 && typeof a[0] === 'bigint' && typeof a[1] === 'bigint') return new RhaiRange(a[0], a[1], false);
  if (a.length === 3 && typeof a[0] === 'bigint' && typeof a[1] === 'bigint' && typeof a[2] === 'bigint') {
    const [from, to, step] = a as [bigint, bigint, bigint];
    if (step === 0n) throw new Fault('runtime', 'range step cannot be zero');
    const out: RhaiValue[] = [];
    for (let i = from; step > 0n ? i < to : i > to; i += step) {
      out.push(i);
      if (out.length > 10_000_000) throw new Fault('runtime', 'range too large');
    }
    return out;
  }
  return NO_MATCH;
});

// Ranges as values.
define('len', (a) => (a.length === 1 && a[0] instanceof RhaiRange ? (a[0].end > a[0].from ? a[0].end - a[0].from : 0n) : NO_MATCH));
define('contains', (a) => (a.length === 2 && a[0] instanceof RhaiRange && typeof a[1] === 'bigint' ? a[1] >= a[0].from && a[1] < a[0].end : NO_MATCH));

export function describeTypes(args: RhaiValue[]): string {
  return args.map(typeName).join(', ');
}
