// Array methods. Mutating ones (`push`, `pop`, `sort`, ...) change the receiver in place; values
// put into an array are copies, as Rhai's value semantics want.
import { Fault } from '../errors.js';
import { compare } from '../ops.js';
import { RhaiFnPtr, checkI64, clone, display, equals, typeName, type RhaiValue } from '../values.js';
import { NO_MATCH, define, type BuiltinContext } from './registry.js';

type Arr = RhaiValue[];
const int = (v: RhaiValue): v is bigint => typeof v === 'bigint';

function method(name: string, fn: (arr: Arr, args: RhaiValue[], ctx: BuiltinContext) => RhaiValue | typeof NO_MATCH): void {
  define(name, (args, ctx) => (Array.isArray(args[0]) ? fn(args[0], args.slice(1), ctx) : NO_MATCH));
}

/** Index with negatives from the end; undefined when out of range. */
function at(arr: Arr, i: bigint): number | undefined {
  const n = Number(i) < 0 ? arr.length + Number(i) : Number(i);
  return n >= 0 && n < arr.length ? n : undefined;
}

/** A start position clamped into the array (for `extract`, `insert`, `split_off`). */
function clampStart(arr: Arr, i: bigint): number {
  const n = Number(i);
  return n < 0 ? Math.max(0, arr.length + n) : Math.min(n, arr.length);
}

/** Call a callback with (item) or (item, index), whichever it takes. */
function callback(ctx: BuiltinContext, fp: RhaiFnPtr, item: RhaiValue, i: number): RhaiValue {
  return ctx.arity(fp) === 2 ? ctx.callFn(fp, [item, BigInt(i)]) : ctx.callFn(fp, [item]);
}

function truthy(v: RhaiValue, what: string): boolean {
  if (typeof v !== 'boolean') throw new Fault('type', `the ${what} callback must return a bool, not ${typeName(v)}`);
  return v;
}

method('len', (arr, a) => (a.length === 0 ? BigInt(arr.length) : NO_MATCH));
method('is_empty', (arr, a) => (a.length === 0 ? arr.length === 0 : NO_MATCH));
method('push', (arr, a) => (a.length === 1 ? void arr.push(clone(a[0])) : NO_MATCH));
method('pop', (arr, a) => (a.length === 0 ? arr.pop() : NO_MATCH));
method('shift', (arr, a) => (a.length === 0 ? arr.shift() : NO_MATCH));
method('clear', (arr, a) => (a.length === 0 ? void (arr.length = 0) : NO_MATCH));
method('reverse', (arr, a) => (a.length === 0 ? void arr.reverse() : NO_MATCH));
method('contains', (arr, a) => (a.length === 1 ? arr.some((x) => equals(x, a[0])) : NO_MATCH));
method('insert', (arr, a) => (a.length === 2 && int(a[0]) ? void arr.splice(clampStart(arr, a[0]), 0, clone(a[1])) : NO_MATCH));
method('remove', (arr, a) => {
  if (a.length !== 1 || !int(a[0])) return NO_MATCH;
  const i = at(arr, a[0]);
  return i === undefined ? undefined : arr.splice(i, 1)[0];
});
method('get', (arr, a) => {
  if (a.length !== 1 || !int(a[0])) return NO_MATCH;
  const i = at(arr, a[0]);
  return i === undefined ? undefined : arr[i];
});
method('append', (arr, a) => {
  if (a.length !== 1) return NO_MATCH;
  if (Array.isArray(a[0])) arr.push(...a[0].map(clone));
  else arr.push(clone(a[0]));
  return undefined;
});
method('extract', (arr, a) => {
  if (a.length < 1 || a.length > 2 || !int(a[0]) || (a.length === 2 && !int(a[1]))) return NO_MATCH;
  const start = clampStart(arr, a[0]);
  const end = a.length === 2 ? start + Math.max(0, Number(a[1])) : arr.length;
  return arr.slice(start, end).map(clone);
});
method('split_off', (arr, a) => (a.length === 1 && int(a[0]) ? arr.splice(clampStart(arr, a[0])) : NO_MATCH));
method('truncate', (arr, a) => (a.length === 1 && int(a[0]) ? void (arr.length = Math.min(arr.length, Math.max(0, Number(a[0])))) : NO_MATCH));
method('join', (arr, a) => {
  if (a.length > 1) return NO_MATCH;
  const sep = a.length === 0 ? '' : a[0];
  if (typeof sep !== 'string') return NO_MATCH;
  return arr.map((x) => (x === undefined ? '' : display(x))).join(sep);
});

method('index_of', (arr, a, ctx) => {
  if (a.length !== 1) return NO_MATCH;
  const f = a[0];
  const i = f instanceof RhaiFnPtr ? arr.findIndex((x, n) => truthy(callback(ctx, f, x, n), 'index_of')) : arr.findIndex((x) => equals(x, f));
  return BigInt(i);
});
method('map', (arr, a, ctx) => {
  const f = a[0];
  if (a.length !== 1 || !(f instanceof RhaiFnPtr)) return NO_MATCH;
  return arr.map((x, i) => callback(ctx, f, x, i));
});
method('filter', (arr, a, ctx) => {
  const f = a[0];
  if (a.length !== 1 || !(f instanceof RhaiFnPtr)) return NO_MATCH;
  return arr.filter((x, i) => truthy(callback(ctx, f, x, i), 'filter'));
});
method('retain', (arr, a, ctx) => {
  const f = a[0];
  if (a.length !== 1 || !(f instanceof RhaiFnPtr)) return NO_MATCH;
  const kept = arr.filter((x, i) => truthy(callback(ctx, f, x, i), 'retain'));
  const removed = arr.filter((x) => !kept.includes(x));
  arr.splice(0, arr.length, ...kept);
  return removed;
});
method('some', (arr, a, ctx) => {
  const f = a[0];
  if (a.length !== 1 || !(f instanceof RhaiFnPtr)) return NO_MATCH;
  return arr.some((x, i) => truthy(callback(ctx, f, x, i), 'some'));
});
method('all', (arr, a, ctx) => {
  const f = a[0];
  if (a.length !== 1 || !(f instanceof RhaiFnPtr)) return NO_MATCH;
  return arr.every((x, i) => truthy(callback(ctx, f, x, i), 'all'));
});
method('find', (arr, a, ctx) => {
  const f = a[0];
  if (a.length !== 1 || !(f instanceof RhaiFnPtr)) return NO_MATCH;
  return arr.find((x, i) => truthy(callback(ctx, f, x, i), 'find'));
});
method('reduce', (arr, a, ctx) => {
  const f = a[0];
  if (a.length < 1 || a.length > 2 || !(f instanceof RhaiFnPtr)) return NO_MATCH;
  // Rhai's reduce starts from () when no initial value is given.
  let acc: RhaiValue = a.length === 2 ? a[1] : undefined;
  arr.forEach((x, i) => {
    acc = ctx.arity(f) === 3 ? ctx.callFn(f, [acc, x, BigInt(i)]) : ctx.callFn(f, [acc, x]);
  });
  return acc;
});
method('sort', (arr, a, ctx) => {
  if (a.length === 0) {
    arr.sort(compare);
    return undefined;
  }
  const f = a[0];
  if (a.length !== 1 || !(f instanceof RhaiFnPtr)) return NO_MATCH;
  arr.sort((x, y) => {
    const r = ctx.callFn(f, [x, y]);
    if (typeof r !== 'bigint') throw new Fault('type', `the sort callback must return an int, not ${typeName(r)}`);
    return Number(r);
  });
  return undefined;
});
method('dedup', (arr, a) => {
  if (a.length !== 0) return NO_MATCH;
  const out = arr.filter((x, i) => i === 0 || !equals(x, arr[i - 1]));
  arr.splice(0, arr.length, ...out);
  return undefined;
});

/** `arr[i]`. */
export function arrayGet(arr: Arr, i: bigint): RhaiValue {
  const n = at(arr, checkI64(i));
  if (n === undefined) throw new Fault('runtime', `array index ${i} out of bounds (length ${arr.length})`);
  return arr[n];
}

/** `arr[i] = v` (the index must exist). */
export function arraySet(arr: Arr, i: bigint, v: RhaiValue): void {
  const n = at(arr, i);
  if (n === undefined) throw new Fault('runtime', `array index ${i} out of bounds (length ${arr.length})`);
  arr[n] = v;
}
