// Object map methods. Keys are strings; a missing key reads as unit.
import { RhaiChar, clone, type RhaiMap, type RhaiValue } from '../values.js';
import { NO_MATCH, define } from './registry.js';

const isKey = (v: RhaiValue): v is string | RhaiChar => typeof v === 'string' || v instanceof RhaiChar;

function method(name: string, fn: (m: RhaiMap, args: RhaiValue[]) => RhaiValue | typeof NO_MATCH): void {
  define(name, (args) => (args[0] instanceof Map ? fn(args[0], args.slice(1)) : NO_MATCH));
}

method('len', (m, a) => (a.length === 0 ? BigInt(m.size) : NO_MATCH));
method('is_empty', (m, a) => (a.length === 0 ? m.size === 0 : NO_MATCH));
method('keys', (m, a) => (a.length === 0 ? [...m.keys()] : NO_MATCH));
method('values', (m, a) => (a.length === 0 ? [...m.values()].map(clone) : NO_MATCH));
method('clear', (m, a) => (a.length === 0 ? void m.clear() : NO_MATCH));
method('contains', (m, a) => (a.length === 1 && isKey(a[0]) ? m.has(String(a[0])) : NO_MATCH));
method('get', (m, a) => (a.length === 1 && isKey(a[0]) ? m.get(String(a[0])) : NO_MATCH));
method('set', (m, a) => (a.length === 2 && isKey(a[0]) ? void m.set(String(a[0]), clone(a[1])) : NO_MATCH));
method('remove', (m, a) => {
  if (a.length !== 1 || !isKey(a[0])) return NO_MATCH;
  const k = String(a[0]);
  const v = m.get(k);
  m.delete(k);
  return v;
});
method('mixin', (m, a) => {
  const other = a[0];
  if (a.length !== 1 || !(other instanceof Map)) return NO_MATCH;
  for (const [k, v] of other) m.set(k, clone(v));
  return undefined;
});
method('fill_with', (m, a) => {
  const other = a[0];
  if (a.length !== 1 || !(other instanceof Map)) return NO_MATCH;
  for (const [k, v] of other) if (!m.has(k)) m.set(k, clone(v));
  return undefined;
});
