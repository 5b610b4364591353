// Canonical JSON: object keys sorted by code unit, no whitespace. The same value always
// serializes to the same bytes, whatever order its keys were built in.
import type { Json } from './node.js';

export function canonicalJson(value: Json | undefined): string {
  if (value === undefined || value === null) return 'null';
  if (Array.isArray(value)) return '[' + value.map((v) => canonicalJson(v)).join(',') + ']';
  if (typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(value[k])).join(',') + '}';
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new TypeError(`cannot serialize ${value} into a key`);
  }
  return JSON.stringify(value);
}
