// Rhai values as JS values: int = bigint (i64), float = number, unit = undefined, map = Map
// (keeps insertion order), plus small classes for the types JS has no match for.
import { Fault } from './errors.js';
import type { Node } from './ast.js';

export class RhaiChar {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** `a..b` / `a..=b`: an integer range, as Rhai has. */
export class RhaiRange {
  constructor(
    readonly from: bigint,
    readonly to: bigint,
    readonly inclusive: boolean,
  ) {}
  /** Exclusive end. */
  get end(): bigint {
    return this.inclusive ? this.to + 1n : this.to;
  }
}

/** What a closure carries: its code and a snapshot of the variables it uses. */
export interface ClosureDef {
  params: string[];
  body: Node;
  captured: [string, RhaiValue][];
  file: string;
}

export class RhaiFnPtr {
  constructor(
    readonly name: string,
    readonly curried: RhaiValue[] = [],
    readonly closure?: ClosureDef,
  ) {}
}

export type RhaiMap = Map<string, RhaiValue>;
export type RhaiValue = undefined | boolean | bigint | number | string | RhaiChar | RhaiRange | RhaiFnPtr | RhaiValue[] | RhaiMap;

export const I64_MIN = -(1n << 63n);
export const I64_MAX = (1n << 63n) - 1n;

export function checkI64(x: bigint): bigint {
  if (x < I64_MIN || x > I64_MAX) throw new Fault('runtime', 'integer overflow');
  return x;
}

/** Type name for messages (`cannot add int and map`). */
export function typeName(v: RhaiValue): string {
  switch (typeof v) {
    case 'undefined':
      return '()';
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float';
    case 'string':
      return 'string';
  }
  if (v instanceof RhaiChar) return 'char';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Map) return 'map';
  if (v instanceof RhaiFnPtr) return 'Fn';
  return 'range';
}

/** What Rhai's `type_of()` returns. */
export function rhaiTypeOf(v: RhaiValue): string {
  const t = typeName(v);
  return t === 'int' ? 'i64' : t === 'float' ? 'f64' : t;
}

/** Copy arrays and maps deeply: Rhai passes and assigns them by value. */
export function clone(v: RhaiValue): RhaiValue {
  if (Array.isArray(v)) return v.map(clone);
  if (v instanceof Map) {
    const m: RhaiMap = new Map();
    for (const [k, x] of v) m.set(k, clone(x));
    return m;
  }
  return v;
}

export function equals(a: RhaiValue, b: RhaiValue): boolean {
  if (a === b) return true;
  if (typeof a === 'bigint' && typeof b === 'number') return Number(a) === b;
  if (typeof a === 'number' && typeof b === 'bigint') return a === Number(b);
  if (a instanceof RhaiChar && b instanceof RhaiChar) return a.value === b.value;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equals(x, b[i]));
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, x] of a) if (!b.has(k) || !equals(x, b.get(k))) return false;
    return true;
  }
  if (a instanceof RhaiFnPtr && b instanceof RhaiFnPtr) return a.name === b.name && !a.closure && !b.closure;
  if (a instanceof RhaiRange && b instanceof RhaiRange) return a.from === b.from && a.end === b.end;
  return false;
}

function floatText(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  return String(x);
}

/** `to_string()` / `print` / string concatenation text. */
export function display(v: RhaiValue): string {
  switch (typeof v) {
    case 'undefined':
      return '()';
    case 'string':
      return v;
    case 'number':
      return floatText(v);
    case 'bigint':
    case 'boolean':
      return String(v);
  }
  if (v instanceof RhaiChar) return v.value;
  return debug(v);
}

/** `debug()` text: strings quoted, containers spelled out. */
export function debug(v: RhaiValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof RhaiChar) return `'${v.value}'`;
  if (Array.isArray(v)) return `[${v.map(debug).join(', ')}]`;
  if (v instanceof Map) return `#{${[...v].map(([k, x]) => `${JSON.stringify(k)}: ${debug(x)}`).join(', ')}}`;
  if (v instanceof RhaiFnPtr) return `Fn(${v.closure ? '<closure>' : v.name})`;
  if (v instanceof RhaiRange) return `${v.from}..${v.inclusive ? '=' : ''}${v.to}`;
  return display(v);
}

export type JsValue = null | boolean | number | string | JsValue[] | { [key: string]: JsValue };

/**
 * Plain JSON-ish JS from a Rhai value: ints become numbers when safe (else decimal strings),
 * unit null, chars strings, maps objects (key order kept), function pointers their name.
 */
export function toJs(v: RhaiValue): JsValue {
  switch (typeof v) {
    case 'undefined':
      return null;
    case 'bigint':
      return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    case 'boolean':
    case 'number':
    case 'string':
      return v;
  }
  if (v instanceof RhaiChar) return v.value;
  if (Array.isArray(v)) return v.map(toJs);
  if (v instanceof Map) {
    const o: { [key: string]: JsValue } = {};
    for (const [k, x] of v) o[k] = toJs(x);
    return o;
  }
  if (v instanceof RhaiFnPtr) return v.name;
  return debug(v);
}

/** A Rhai value from plain JS: integral numbers become ints, objects maps, null unit. */
export function fromJs(v: unknown): RhaiValue {
  if (v === null || v === undefined) return undefined;
  switch (typeof v) {
    case 'number':
      return Number.isInteger(v) ? BigInt(v) : v;
    case 'bigint':
      return checkI64(v);
    case 'boolean':
    case 'string':
      return v;
  }
  if (Array.isArray(v)) return v.map(fromJs);
  if (v instanceof Map) {
    const m: RhaiMap = new Map();
    for (const [k, x] of v) m.set(String(k), fromJs(x));
    return m;
  }
  if (v instanceof RhaiChar || v instanceof RhaiFnPtr || v instanceof RhaiRange) return v;
  if (typeof v === 'object') {
    const m: RhaiMap = new Map();
    for (const [k, x] of Object.entries(v)) m.set(k, fromJs(x));
    return m;
  }
  throw new Fault('type', `cannot convert a JS ${typeof v} to a Rhai value`);
}
