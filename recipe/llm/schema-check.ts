// A small JSON-schema validator for the subset the recipe assistant's schemas use: what a model's
// answer is checked against when nothing guarantees it matched (a remote server may ignore
// response_format, or enforce only part of it).
//
// Keywords: type (object, string, array, integer, number, boolean, null), properties, required,
// additionalProperties (false or a schema), enum, const, minLength, maxLength (in code points, as
// JSON Schema counts), pattern (a `u` regexp, unanchored as JSON Schema says), items, minItems,
// maxItems. Annotations (title, description, default, examples, $schema, $id) are ignored. Any
// other keyword throws: a schema this cannot check must not pass for checked.

/** A value's problems against `schema`, each `<JSON path>: <what is wrong>`, in document order; [] when it matches. */
export function checkSchema(schema: unknown, value: unknown, path = '$'): string[] {
  const problems: string[] = [];
  check(schema, value, path, problems);
  return problems;
}

const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment']);
const KEYWORDS = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'enum',
  'const',
  'minLength',
  'maxLength',
  'pattern',
  'items',
  'minItems',
  'maxItems',
]);
const TYPES = new Set(['object', 'string', 'array', 'integer', 'number', 'boolean', 'null']);

type Schema = {
  type?: string;
  properties?: Record<string, unknown>;
  required?: string[];
  additionalProperties?: boolean | Record<string, unknown>;
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: unknown;
  minItems?: number;
  maxItems?: number;
};

/** `$.a`, `$.commands[2]`, `$["build system"]`. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** A short rendering of a value for a message. */
function show(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function schemaError(path: string, what: string): Error {
  return new Error(`schema-check: the schema at ${path} ${what}`);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function check(schemaIn: unknown, value: unknown, path: string, problems: string[]): void {
  if (schemaIn === true || schemaIn === undefined) return;
  if (schemaIn === false) {
    problems.push(`${path}: no value is allowed here`);
    return;
  }
  if (!schemaIn || typeof schemaIn !== 'object' || Array.isArray(schemaIn)) throw schemaError(path, 'is not an object');
  for (const k of Object.keys(schemaIn)) {
    if (!KEYWORDS.has(k) && !ANNOTATIONS.has(k)) throw schemaError(path, `uses "${k}", which schema-check does not support`);
  }
  const s = schemaIn as Schema;

  if (s.type !== undefined) {
    if (!TYPES.has(s.type)) throw schemaError(path, `has an unknown type ${show(s.type)}`);
    const t = typeOf(value);
    const ok = t === s.type || (s.type === 'number' && t === 'integer');
    if (!ok) {
      problems.push(`${path}: expected ${s.type === 'integer' || s.type === 'array' || s.type === 'object' ? 'an' : 'a'} ${s.type}, got ${t === 'null' ? 'null' : `${t} ${show(value)}`}`);
      return; // the rest of the keywords assume the type
    }
  }
  if (s.enum !== undefined) {
    if (!Array.isArray(s.enum)) throw schemaError(path, 'has an enum that is not an array');
    if (!s.enum.some((e) => deepEqual(e, value))) problems.push(`${path}: ${show(value)} is not one of ${s.enum.map(show).join(', ')}`);
  }
  if ('const' in s && !deepEqual(s.const, value)) problems.push(`${path}: ${show(value)} is not ${show(s.const)}`);

  if (typeof value === 'string') {
    const length = [...value].length;
    if (s.minLength !== undefined && length < s.minLength) problems.push(`${path}: ${show(value)} is shorter than ${s.minLength} characters`);
    if (s.maxLength !== undefined && length > s.maxLength) problems.push(`${path}: ${show(value)} is longer than ${s.maxLength} characters (${length})`);
    if (s.pattern !== undefined) {
      let re: RegExp;
      try {
        re = new RegExp(s.pattern, 'u');
      } catch (e) {
        throw schemaError(path, `has a pattern that is not a valid regular expression: ${(e as Error).message}`);
      }
      if (!re.test(value)) problems.push(`${path}: ${show(value)} does not match ${s.pattern}`);
    }
  }

  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) problems.push(`${path}: ${value.length} items, fewer than ${s.minItems}`);
    if (s.maxItems !== undefined && value.length > s.maxItems) problems.push(`${path}: ${value.length} items, more than ${s.maxItems}`);
    if (s.items !== undefined) {
      if (Array.isArray(s.items)) throw schemaError(path, 'has a tuple "items" (an array), which schema-check does not support');
      value.forEach((item, i) => check(s.items, item, childPath(path, i), problems));
    }
  }

  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = s.properties ?? {};
    if (typeof props !== 'object' || Array.isArray(props)) throw schemaError(path, 'has properties that are not an object');
    if (s.required !== undefined) {
      if (!Array.isArray(s.required)) throw schemaError(path, 'has a required that is not an array');
      for (const k of s.required) if (!Object.hasOwn(obj, k)) problems.push(`${childPath(path, k)}: required, missing`);
    }
    for (const [k, v] of Object.entries(obj)) {
      if (Object.hasOwn(props, k)) check(props[k], v, childPath(path, k), problems);
      else if (s.additionalProperties === false) problems.push(`${childPath(path, k)}: not allowed (no such property)`);
      else if (s.additionalProperties !== undefined && s.additionalProperties !== true) check(s.additionalProperties, v, childPath(path, k), problems);
    }
  }
}
