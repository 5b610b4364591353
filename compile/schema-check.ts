// Checks a value against the JSON Schema that editors use for variant files (the subset we
// write: type, properties, required, additionalProperties, items, enum, const, pattern,
// minimum/maximum, minItems, minLength, $ref to #/$defs, oneOf of objects). One schema serves the
// editor and our errors, which give file:line:col, the key, and what was expected.
import { ConfigError } from '../graph/errors.js';
import { closest } from '../util/did-you-mean.js';
import type { PathPart, YamlSource } from './yaml-source.js';

export interface Schema {
  type?: string | readonly string[];
  description?: string;
  title?: string;
  $schema?: string;
  properties?: Readonly<Record<string, Schema>>;
  required?: readonly string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: readonly unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  minLength?: number;
  $ref?: string;
  $defs?: Readonly<Record<string, Schema>>;
  oneOf?: readonly Schema[];
  default?: unknown;
  examples?: readonly unknown[];
}

export function checkAgainstSchema(value: unknown, schema: Schema, source: YamlSource): void {
  const problems: string[] = [];
  check(value, schema, [], schema, source, problems);
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matchesType(v: unknown, type: string): boolean {
  const t = typeOf(v);
  return t === type || (type === 'number' && t === 'integer');
}

function label(path: PathPart[]): string {
  if (path.length === 0) return 'the file';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function describeExpected(schema: Schema): string {
  if (schema.enum) return `one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const types = typeof schema.type === 'string' ? schema.type : schema.type?.join(' or ') ?? 'a value';
  return `${/^[aeiou]/.test(types) ? 'an' : 'a'} ${types}${schema.pattern ? ` matching /${schema.pattern}/` : ''}`;
}

function resolveRef(schema: Schema, root: Schema): Schema {
  let s = schema;
  while (s.$ref) {
    const m = /^#\/\$defs\/(.+)$/.exec(s.$ref);
    const target = m && root.$defs?.[m[1]];
    if (!target) throw new Error(`schema $ref ${s.$ref} does not resolve`);
    s = { ...target, ...Object.fromEntries(Object.entries(s).filter(([k]) => k !== '$ref')) };
  }
  return s;
}

function check(value: unknown, rawSchema: Schema, path: PathPart[], root: Schema, source: YamlSource, problems: string[]): void {
  const schema = resolveRef(rawSchema, root);
  const at = () => source.where(path);
  const what = label(path);
  if (schema.oneOf) {
    const fits = schema.oneOf.filter((alt) => {
      const p: string[] = [];
      check(value, alt, path, root, source, p);
      return p.length === 0;
    });
    if (fits.length !== 1) {
      // Report against the alternative of the right type, which gives the most useful message.
      const near = schema.oneOf.find((alt) => {
        const r = resolveRef(alt, root);
        return !r.type || (typeof r.type === 'string' ? [r.type] : r.type).some((t) => matchesType(value, t));
      });
      if (near && fits.length === 0) check(value, near, path, root, source, problems);
      else problems.push(`${at()}: ${what} matches ${fits.length} of the allowed forms; expected exactly one`);
    }
    return;
  }
  if (schema.type) {
    const types: readonly string[] = typeof schema.type === 'string' ? [schema.type] : schema.type;
    if (!types.some((t) => matchesType(value, t))) {
      problems.push(`${at()}: ${what} must be ${describeExpected(schema)}, got ${describeValue(value)}`);
      return;
    }
  }
  if (schema.enum && !schema.enum.some((e) => e === value)) {
    const near = typeof value === 'string' ? closest(value, schema.enum.filter((e): e is string => typeof e === 'string')) : undefined;
    problems.push(`${at()}: ${what} must be ${describeExpected(schema)}, got ${short(value)}${near ? `; did you mean ${JSON.stringify(near)}?` : ''}`);
  }
  if (schema.const !== undefined && value !== schema.const) problems.push(`${at()}: ${what} must be ${JSON.stringify(schema.const)}`);
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) {
      problems.push(`${at()}: ${what} must match /${schema.pattern}/${schema.description ? ` (${schema.description})` : ''}, got ${short(value)}`);
    }
    if (schema.minLength !== undefined && value.length < schema.minLength) problems.push(`${at()}: ${what} must not be empty`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${at()}: ${what} must be at least ${schema.minimum}, got ${value}`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${at()}: ${what} must be at most ${schema.maximum}, got ${value}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) problems.push(`${at()}: ${what} needs at least ${schema.minItems} item(s)`);
    if (schema.items) value.forEach((item, i) => check(item, schema.items!, [...path, i], root, source, problems));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const req of schema.required ?? []) {
      if (!(req in obj)) problems.push(`${at()}: ${what} is missing the required key '${req}'${schema.properties?.[req]?.description ? ` (${schema.properties[req].description})` : ''}`);
    }
    for (const [key, v] of Object.entries(obj)) {
      const prop = schema.properties?.[key];
      if (prop) check(v, prop, [...path, key], root, source, problems);
      else if (schema.additionalProperties === false) {
        const allowed = Object.keys(schema.properties ?? {});
        const near = closest(key, allowed);
        problems.push(
          `${source.where([...path, key], { key: true })}: unknown key '${key}' in ${what}${near ? `; did you mean '${near}'?` : ''} (allowed: ${allowed.join(', ')})`,
        );
      } else if (typeof schema.additionalProperties === 'object') check(v, schema.additionalProperties, [...path, key], root, source, problems);
    }
  }
}

/** `an empty value` for YAML's `key:` with nothing after it, else the type and the value. */
function describeValue(v: unknown): string {
  return v === null ? 'an empty value' : `${typeOf(v)} ${short(v)}`;
}

function short(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}
