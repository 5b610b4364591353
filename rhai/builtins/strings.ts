// String methods. Rhai counts characters, not bytes, so indexes work on code points.
import { Fault } from '../errors.js';
import { RhaiChar, checkI64, typeName, type RhaiValue } from '../values.js';
import { NO_MATCH, define } from './registry.js';

const isText = (v: RhaiValue): v is string | RhaiChar => typeof v === 'string' || v instanceof RhaiChar;
const chars = (s: string): string[] => Array.from(s);
const int = (v: RhaiValue): v is bigint => typeof v === 'bigint';

/** A string method: only when the receiver is a string. */
function method(name: string, fn: (s: string, args: RhaiValue[], all: RhaiValue[]) => RhaiValue | typeof NO_MATCH): void {
  define(name, (args) => (typeof args[0] === 'string' ? fn(args[0], args.slice(1), args) : NO_MATCH));
}

/** Clamp a char index like Rhai: negative counts from the end. */
function position(i: bigint, length: number): number {
  const n = Number(i);
  return n < 0 ? Math.max(0, length + n) : Math.min(n, length);
}

method('len', (s, a) => (a.length === 0 ? BigInt(chars(s).length) : NO_MATCH));
method('is_empty', (s, a) => (a.length === 0 ? s.length === 0 : NO_MATCH));
method('contains', (s, a) => (a.length === 1 && isText(a[0]) ? s.includes(String(a[0])) : NO_MATCH));
method('starts_with', (s, a) => (a.length === 1 && isText(a[0]) ? s.startsWith(String(a[0])) : NO_MATCH));
method('ends_with', (s, a) => (a.length === 1 && isText(a[0]) ? s.endsWith(String(a[0])) : NO_MATCH));
method('to_lower', (s, a) => (a.length === 0 ? s.toLowerCase() : NO_MATCH));
method('to_upper', (s, a) => (a.length === 0 ? s.toUpperCase() : NO_MATCH));
method('chars', (s, a) => (a.length === 0 ? chars(s).map((c) => new RhaiChar(c)) : NO_MATCH));
method('bytes', (s, a) => (a.length === 0 ? BigInt(Buffer.byteLength(s)) : NO_MATCH));

// In place, returning unit, as Rhai's `replace`/`trim`/... do.
function inPlace(name: string, fn: (s: string, a: RhaiValue[]) => string | typeof NO_MATCH): void {
  method(name, (s, a, all) => {
    const r = fn(s, a);
    if (r === NO_MATCH) return NO_MATCH;
    all[0] = r;
    return undefined;
  });
}
inPlace('replace', (s, a) => (a.length === 2 && isText(a[0]) && isText(a[1]) ? s.split(String(a[0])).join(String(a[1])) : NO_MATCH));
inPlace('trim', (s, a) => (a.length === 0 ? s.trim() : NO_MATCH));
inPlace('make_lower', (s, a) => (a.length === 0 ? s.toLowerCase() : NO_MATCH));
inPlace('make_upper', (s, a) => (a.length === 0 ? s.toUpperCase() : NO_MATCH));
inPlace('truncate', (s, a) => (a.length === 1 && int(a[0]) ? chars(s).slice(0, Math.max(0, Number(a[0]))).join('') : NO_MATCH));
inPlace('pad', (s, a) => {
  if (a.length !== 2 || !int(a[0]) || !isText(a[1])) return NO_MATCH;
  const want = Number(a[0]);
  const fill = String(a[1]);
  let out = s;
  let n = chars(s).length;
  while (n < want && fill) {
    out += fill;
    n += chars(fill).length;
  }
  return chars(out).slice(0, Math.max(want, chars(s).length)).join('');
});

method('sub_string', (s, a) => {
  const cs = chars(s);
  if (a.length === 0 || a.length > 2 || !int(a[0]) || (a.length === 2 && !int(a[1]))) return NO_MATCH;
  const start = position(a[0], cs.length);
  const len = a.length === 2 ? Math.max(0, Number(a[1] as bigint)) : cs.length;
  return cs.slice(start, start + len).join('');
});

method('index_of', (s, a) => {
  if (a.length < 1 || a.length > 2 || !isText(a[0]) || (a.length === 2 && !int(a[1]))) return NO_MATCH;
  const cs = chars(s);
  const from = a.length === 2 ? position(a[1] as bigint, cs.length) : 0;
  const at = cs.slice(from).join('').indexOf(String(a[0]));
  return at < 0 ? -1n : BigInt(from + chars(cs.slice(from).join('').slice(0, at)).length);
});

method('split', (s, a) => {
  if (a.length === 1 && isText(a[0])) return s.split(String(a[0]));
  if (a.length === 1 && int(a[0])) {
    const cs = chars(s);
    const at = position(a[0], cs.length);
    return [cs.slice(0, at).join(''), cs.slice(at).join('')];
  }
  if (a.length === 2 && isText(a[0]) && int(a[1])) {
    // At most n parts; the last keeps the rest.
    const sep = String(a[0]);
    const n = Math.max(1, Number(a[1]));
    const parts = s.split(sep);
    return parts.length <= n ? parts : [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
  }
  return NO_MATCH;
});

method('get', (s, a) => {
  if (a.length !== 1 || !int(a[0])) return NO_MATCH;
  const cs = chars(s);
  const i = Number(a[0]) < 0 ? cs.length + Number(a[0]) : Number(a[0]);
  return i >= 0 && i < cs.length ? new RhaiChar(cs[i]!) : undefined;
});

method('repeat', (s, a) => {
  if (a.length !== 1 || !int(a[0])) return NO_MATCH;
  if (a[0] < 0n || a[0] * BigInt(s.length) > 100_000_000n) throw new Fault('runtime', `cannot repeat a string ${a[0]} times`);
  return s.repeat(Number(a[0]));
});

// Chars.
define('to_upper', (a) => (a.length === 1 && a[0] instanceof RhaiChar ? new RhaiChar(a[0].value.toUpperCase()) : NO_MATCH));
define('to_lower', (a) => (a.length === 1 && a[0] instanceof RhaiChar ? new RhaiChar(a[0].value.toLowerCase()) : NO_MATCH));

/** A character index into a string, for `s[i]`. */
export function charAt(s: string, i: bigint): RhaiChar {
  const cs = chars(s);
  const n = Number(checkI64(i));
  const at = n < 0 ? cs.length + n : n;
  if (at < 0 || at >= cs.length) throw new Fault('runtime', `string index ${i} out of bounds (length ${cs.length})`);
  return new RhaiChar(cs[at]!);
}

/** `s[i] = c`: a new string with one character replaced. */
export function setCharAt(s: string, i: bigint, c: RhaiValue): string {
  if (!isText(c)) throw new Fault('type', `cannot put ${typeName(c)} into a string`);
  const cs = chars(s);
  const n = Number(i);
  const at = n < 0 ? cs.length + n : n;
  if (at < 0 || at >= cs.length) throw new Fault('runtime', `string index ${i} out of bounds (length ${cs.length})`);
  cs[at] = String(c);
  return cs.join('');
}
