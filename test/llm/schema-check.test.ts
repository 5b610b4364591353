// The JSON-schema subset checker the model's answers pass through: each keyword, the JSON paths
// of the problems, and refusal of schemas it cannot check.
import { describe, expect, it } from 'vitest';
import { checkSchema, childPath } from '../../recipe/llm/schema-check.js';

const RECIPE = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 40, pattern: '^[a-z][a-z0-9-]*$' },
    version: { type: 'string', maxLength: 20 },
    build_system: { type: 'string', enum: ['autotools', 'cmake', 'meson', 'make', 'cargo', 'go', 'python'] },
    commands: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, maxItems: 3 },
    jobs: { type: 'integer' },
  },
  required: ['name', 'version', 'build_system', 'commands'],
  additionalProperties: false,
} as const;

const good = { name: 'htop', version: '3.3.0', build_system: 'autotools', commands: ['./configure', 'make'] };

describe('checkSchema', () => {
  it('finds nothing wrong with a matching value', () => {
    expect(checkSchema(RECIPE, good)).toEqual([]);
    expect(checkSchema(RECIPE, { ...good, jobs: 4 })).toEqual([]);
  });

  it('reports a wrong type with its path, and does not look further into that value', () => {
    expect(checkSchema(RECIPE, [])).toEqual(['$: expected an object, got array []']);
    expect(checkSchema(RECIPE, null)).toEqual(['$: expected an object, got null']);
    expect(checkSchema(RECIPE, { ...good, name: 7 })).toEqual(['$.name: expected a string, got integer 7']);
    expect(checkSchema(RECIPE, { ...good, commands: 'make' })).toEqual(['$.commands: expected an array, got string "make"']);
    expect(checkSchema(RECIPE, { ...good, jobs: 1.5 })).toEqual(['$.jobs: expected an integer, got number 1.5']);
    expect(checkSchema(RECIPE, { ...good, jobs: '4' })).toEqual(['$.jobs: expected an integer, got string "4"']);
    expect(checkSchema({ type: 'number' }, 3)).toEqual([]);
    expect(checkSchema({ type: 'boolean' }, 0)).toEqual(['$: expected a boolean, got integer 0']);
  });

  it('reports missing required properties and extra ones under additionalProperties: false', () => {
    expect(checkSchema(RECIPE, { name: 'htop', build_system: 'make', commands: ['make'], extra: 1, 'odd key': 2 })).toEqual([
      '$.version: required, missing',
      '$.extra: not allowed (no such property)',
      '$["odd key"]: not allowed (no such property)',
    ]);
    // Without additionalProperties: false, extra keys pass; as a schema, they are checked against it.
    expect(checkSchema({ type: 'object', properties: {} }, { x: 1 })).toEqual([]);
    expect(checkSchema({ type: 'object', additionalProperties: { type: 'string' } }, { x: 1, y: 'a' })).toEqual(['$.x: expected a string, got integer 1']);
  });

  it('checks enum and const', () => {
    expect(checkSchema(RECIPE, { ...good, build_system: 'scons' })).toEqual([
      '$.build_system: "scons" is not one of "autotools", "cmake", "meson", "make", "cargo", "go", "python"',
    ]);
    // enum without type, as node-llama-cpp's schemas write it; values compared deeply.
    expect(checkSchema({ enum: ['a', 1, null, { k: [1] }] }, { k: [1] })).toEqual([]);
    expect(checkSchema({ enum: ['a', 1] }, '1')).toEqual(['$: "1" is not one of "a", 1']);
    expect(checkSchema({ const: 'x' }, 'y')).toEqual(['$: "y" is not "x"']);
  });

  it('checks string lengths in characters (code points), and patterns', () => {
    expect(checkSchema(RECIPE, { ...good, name: '' })).toEqual([
      '$.name: "" is shorter than 1 characters',
      '$.name: "" does not match ^[a-z][a-z0-9-]*$',
    ]);
    expect(checkSchema(RECIPE, { ...good, name: 'h'.repeat(41) })).toEqual([`$.name: "${'h'.repeat(41)}" is longer than 40 characters (41)`]);
    // A long value is shortened in the message.
    expect(checkSchema(RECIPE, { ...good, name: 'h'.repeat(80) })).toEqual([`$.name: "${'h'.repeat(56)}... is longer than 40 characters (80)`]);
    expect(checkSchema(RECIPE, { ...good, name: 'Htop' })).toEqual(['$.name: "Htop" does not match ^[a-z][a-z0-9-]*$']);
    expect(checkSchema({ type: 'string', maxLength: 2 }, '😀😀')).toEqual([]); // two code points, four UTF-16 units
    expect(checkSchema({ type: 'string', pattern: 'b' }, 'abc')).toEqual([]); // unanchored, as JSON Schema says
  });

  it('checks array sizes and every item, with its index in the path', () => {
    expect(checkSchema(RECIPE, { ...good, commands: [] })).toEqual(['$.commands: 0 items, fewer than 1']);
    expect(checkSchema(RECIPE, { ...good, commands: ['a', '', 'c', 4] })).toEqual([
      '$.commands: 4 items, more than 3',
      '$.commands[1]: "" is shorter than 1 characters',
      '$.commands[3]: expected a string, got integer 4',
    ]);
  });

  it('reports every problem of a value, in document order', () => {
    const bad = { name: 'H', version: 3, build_system: 'scons', commands: ['a', 'b', 'c', 'd'], extra: true };
    expect(checkSchema(RECIPE, bad)).toEqual([
      '$.name: "H" does not match ^[a-z][a-z0-9-]*$',
      '$.version: expected a string, got integer 3',
      '$.build_system: "scons" is not one of "autotools", "cmake", "meson", "make", "cargo", "go", "python"',
      '$.commands: 4 items, more than 3',
      '$.extra: not allowed (no such property)',
    ]);
  });

  it('goes through nested objects and arrays of objects', () => {
    const schema = {
      type: 'object',
      properties: { steps: { type: 'array', items: { type: 'object', properties: { run: { type: 'string' } }, required: ['run'] } } },
    };
    expect(checkSchema(schema, { steps: [{ run: 'make' }, {}, { run: 1 }] })).toEqual([
      '$.steps[1].run: required, missing',
      '$.steps[2].run: expected a string, got integer 1',
    ]);
    expect(checkSchema(schema.properties.steps, [{}], '$.x')).toEqual(['$.x[0].run: required, missing']);
  });

  it('refuses a schema it cannot check rather than passing the value', () => {
    expect(() => checkSchema({ type: 'object', properties: { a: { anyOf: [] } } }, { a: 1 })).toThrow(
      'schema-check: the schema at $.a uses "anyOf", which schema-check does not support',
    );
    expect(() => checkSchema({ type: 'tuple' }, 1)).toThrow('schema-check: the schema at $ has an unknown type "tuple"');
    expect(() => checkSchema({ type: 'string', pattern: '(' }, 'x')).toThrow(/schema-check: the schema at \$ has a pattern that is not a valid regular expression/);
    expect(() => checkSchema('string', 'x')).toThrow('schema-check: the schema at $ is not an object');
    // Annotations are fine; true/false schemas too.
    expect(checkSchema({ type: 'string', title: 'Name', description: 'the package' }, 'x')).toEqual([]);
    expect(checkSchema({ type: 'object', properties: { a: false } }, { a: 1 })).toEqual(['$.a: no value is allowed here']);
  });

  it('writes paths the JSONPath way', () => {
    expect(childPath('$', 'name')).toBe('$.name');
    expect(childPath('$', 'build system')).toBe('$["build system"]');
    expect(childPath('$.a', 2)).toBe('$.a[2]');
  });
});
