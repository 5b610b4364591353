// JSON schema -> GBNF with patterns kept: the grammar text, its refusals, and real inference on a
// tiny random model under it (every answer fits the schema, patterns included, whatever the weights).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateJson, loadLocalModel, type LocalModel } from '../../recipe/llm/local-model.js';
import { TINY, writeRandomLlamaModel } from '../../recipe/llm/random-model.js';
import { GrammarError, regexToGbnf, schemaToGbnf } from '../../recipe/llm/schema-grammar.js';

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'version', 'url', 'kind', 'steps'],
  properties: {
    name: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,30}$', maxLength: 31 },
    version: { type: 'string', pattern: '^[0-9]{1,4}(\\.[0-9]{1,4}){0,3}$', maxLength: 19 },
    url: { type: 'string', pattern: '^https?://[A-Za-z0-9./_-]{1,60}$' },
    kind: { enum: ['autotools', 'cmake', 'meson'] },
    steps: { type: 'array', minItems: 1, maxItems: 3, items: { type: 'string', maxLength: 30 } },
  },
};

describe('schema to grammar', () => {
  it('writes one rule per value, patterns as character classes and bounded repeats', () => {
    const gbnf = schemaToGbnf(SCHEMA);
    expect(gbnf).toContain('root ::= ');
    expect(gbnf).toContain('"\\"" [\\x61-\\x7a] [\\x2d\\x30-\\x39\\x61-\\x7a]{0,30} "\\""');
    expect(gbnf).toContain('[\\x30-\\x39]{1,4} ("." [\\x30-\\x39]{1,4}){0,3}');
    expect(gbnf).toContain('("\\"autotools\\"" | "\\"cmake\\"" | "\\"meson\\"")');
    // At least one step, at most three.
    expect(gbnf).toMatch(/"\[" r\d+ \(",\" r\d+\)\{0,2\} "\]"/);
  });

  it('never lets a string hold a quote, a backslash or anything but printable ASCII, even when a class names them', () => {
    expect(regexToGbnf('^[a"\\\\b]+$', 8)).toBe('[\\x61-\\x62]{1,8}');
    expect(regexToGbnf('[ -~]', 8)).toBe('[\\x20-\\x21\\x23-\\x5b\\x5d-\\x7e]');
    // A negated class is its complement within that set.
    expect(regexToGbnf('[^x]', 8)).toBe('[\\x20-\\x21\\x23-\\x5b\\x5d-\\x77\\x79-\\x7e]');
    expect(regexToGbnf('[\\^\\]-]', 8)).toBe('[\\x2d\\x5d-\\x5e]');
    expect(() => regexToGbnf('a"b', 8)).toThrow(GrammarError);
    expect(() => regexToGbnf('(ab', 8)).toThrow(/unclosed group/);
    expect(() => regexToGbnf('+a', 8)).toThrow(/nothing to repeat/);
    expect(() => schemaToGbnf({ type: 'number' })).toThrow(/not supported/);
    // A grammar cannot count characters across a pattern: an unbounded one is refused, not trusted.
    expect(() => schemaToGbnf({ type: 'string', pattern: '^[0-9]+(\\.[0-9]+)*$', maxLength: 20 })).toThrow(/allows \d+ characters, more than maxLength 20: bound its repeats/);
  });
});

describe('a tiny random model under the grammar', () => {
  let dir: string;
  let model: LocalModel;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'schema-grammar-'));
    await writeRandomLlamaModel(join(dir, 'tiny.gguf'), TINY, 11);
    model = await loadLocalModel(join(dir, 'tiny.gguf'), { threads: 1 });
  });
  afterAll(async () => {
    await model?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers values that fit the schema, patterns included, for any request', async () => {
    for (const user of ['a recipe for htop', 'package the zstd compressor', 'x']) {
      const { json } = (await generateJson(model, { system: 'Fill the skeleton.', user, schema: SCHEMA, maxTokens: 600 })) as { json: Record<string, unknown> };
      expect(json.name).toMatch(/^[a-z][a-z0-9-]{0,30}$/);
      expect(json.version).toMatch(/^[0-9]{1,4}(\.[0-9]{1,4}){0,3}$/);
      expect(json.url).toMatch(/^https?:\/\/[A-Za-z0-9./_-]{1,60}$/);
      expect(['autotools', 'cmake', 'meson']).toContain(json.kind);
      expect((json.steps as string[]).length).toBeGreaterThanOrEqual(1);
      expect((json.steps as string[]).length).toBeLessThanOrEqual(3);
      expect(Object.keys(json)).toEqual(['name', 'version', 'url', 'kind', 'steps']);
    }
  });
});
