// The random llama model (deterministic bytes, the layout llama.cpp expects) and real inference
// on it through node-llama-cpp, on the CPU: JSON answers constrained by a schema.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateJson, importNodeLlamaCpp, loadLocalModel, NODE_LLAMA_CPP_MISSING, type LocalModel } from '../../recipe/llm/local-model.js';
import { buildVocabulary, randomLlamaModel, SMOLLM3_3B_SHAPE, TINY, TokenType, writeRandomLlamaModel } from '../../recipe/llm/random-model.js';
import { tensorBytes } from '../../recipe/llm/gguf.js';

const base = mkdtempSync(join(tmpdir(), 'pipeline-llm-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

const RECIPE_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 24 },
    version: { type: 'string', maxLength: 12 },
    build_system: { enum: ['make', 'cmake', 'meson', 'cargo', 'autotools'] },
    commands: { type: 'array', items: { type: 'string', maxLength: 24 }, maxItems: 3 },
  },
} as const;

describe('writeRandomLlamaModel', () => {
  const tiny = join(base, 'tiny.gguf');
  beforeAll(async () => {
    await writeRandomLlamaModel(tiny, TINY, 1);
  });

  it('is under 1 MB and the same bytes for the same seed, other bytes for another', async () => {
    const size = statSync(tiny).size;
    expect(size).toBeLessThan(1 << 20);
    const again = join(base, 'again.gguf');
    const other = join(base, 'other.gguf');
    expect(await writeRandomLlamaModel(again, TINY, 1)).toBe(size);
    await writeRandomLlamaModel(other, TINY, 2);
    expect(sha(again)).toBe(sha(tiny));
    expect(sha(other)).not.toBe(sha(tiny));
    expect(statSync(other).size).toBe(size); // only the weights differ
  });

  it('has the llama hyperparameters, tokenizer and tensor layout llama.cpp reads', async () => {
    const info = await readGgufFileInfo(tiny, { logWarnings: false });
    const md = info.metadata as unknown as Record<string, any>;
    expect(md.general.architecture).toBe('llama');
    expect(md.llama).toEqual({
      context_length: 512,
      embedding_length: 32,
      block_count: 2,
      feed_forward_length: 64,
      attention: { head_count: 4, head_count_kv: 2, layer_norm_rms_epsilon: Math.fround(1e-5) },
      rope: { dimension_count: 8, freq_base: 10000 },
      vocab_size: 512,
    });
    const tok = md.tokenizer.ggml;
    expect(tok.model).toBe('llama');
    expect(tok.tokens).toHaveLength(512);
    expect(tok.tokens.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
    expect([tok.unknown_token_id, tok.bos_token_id, tok.eos_token_id]).toEqual([0, 1, 2]);
    const bytes = tok.tokens.filter((_: string, i: number) => tok.token_type[i] === TokenType.BYTE);
    expect(bytes).toHaveLength(256);
    expect(bytes[0]).toBe('<0x00>');
    expect(bytes[255]).toBe('<0xFF>');
    expect(new Set(tok.tokens).size).toBe(512);
    expect(tok.tokens).toContain('\u2581recipe');
    expect(tok.scores).toHaveLength(512);
    expect(md.tokenizer.chat_template).toContain('<|im_start|>');

    const dims = Object.fromEntries(info.tensorInfo!.map((t) => [t.name, t.dimensions.map(Number)]));
    expect(Object.keys(dims)).toHaveLength(1 + 2 * 9 + 2);
    expect(dims['token_embd.weight']).toEqual([32, 512]);
    expect(dims['blk.1.attn_norm.weight']).toEqual([32]);
    expect(dims['blk.1.attn_q.weight']).toEqual([32, 32]);
    expect(dims['blk.1.attn_k.weight']).toEqual([32, 16]); // 2 KV heads of 8
    expect(dims['blk.1.attn_v.weight']).toEqual([32, 16]);
    expect(dims['blk.1.attn_output.weight']).toEqual([32, 32]);
    expect(dims['blk.1.ffn_gate.weight']).toEqual([32, 64]);
    expect(dims['blk.1.ffn_up.weight']).toEqual([32, 64]);
    expect(dims['blk.1.ffn_down.weight']).toEqual([64, 32]);
    expect(dims['output_norm.weight']).toEqual([32]);
    expect(dims['output.weight']).toEqual([32, 512]);
  });

  it('describes SmolLM3-3B at ~3.1 B parameters, ~3.3 GB in Q8_0, without writing it', () => {
    const { tensors, metadata } = randomLlamaModel(SMOLLM3_3B_SHAPE, 1);
    const params = tensors.reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0);
    expect(params).toBeGreaterThan(3.0e9);
    expect(params).toBeLessThan(3.2e9);
    const bytes = tensors.reduce((n, t) => n + tensorBytes(t), 0);
    expect(bytes / 1e9).toBeGreaterThan(3.2);
    expect(bytes / 1e9).toBeLessThan(3.5);
    expect(tensors.some((t) => t.name === 'output.weight')).toBe(false); // tied embeddings
    expect(Object.fromEntries(metadata)['llama.attention.head_count_kv']).toEqual({ type: 'u32', value: 4 });
    expect(buildVocabulary(SMOLLM3_3B_SHAPE.vocab).tokens).toHaveLength(128256);
  });
});

describe('local model', () => {
  const file = join(base, 'model.gguf');
  let model: LocalModel;
  beforeAll(async () => {
    await writeRandomLlamaModel(file, TINY, 7);
    model = await loadLocalModel(file, { threads: 1, contextSize: 512 });
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it('answers JSON that matches the schema, the same answer for the same question', async () => {
    const ask = () =>
      generateJson(model, {
        system: 'You write build recipes as JSON.',
        user: 'create a recipe for htop',
        schema: RECIPE_SCHEMA,
        maxTokens: 400,
        seed: 1,
      });
    const first = await ask();
    const json = first.json as Record<string, unknown>;
    expect(JSON.parse(first.text)).toEqual(json);
    expect(typeof json.name).toBe('string');
    expect((json.name as string).length).toBeGreaterThanOrEqual(1);
    expect((json.name as string).length).toBeLessThanOrEqual(24);
    expect(typeof json.version).toBe('string');
    expect(RECIPE_SCHEMA.properties.build_system.enum).toContain(json.build_system);
    expect(Array.isArray(json.commands)).toBe(true);
    expect((json.commands as unknown[]).length).toBeLessThanOrEqual(3);
    for (const c of json.commands as unknown[]) expect(typeof c).toBe('string');
    expect(first.tokens).toBeGreaterThan(0);
    expect(first.tokens).toBeLessThanOrEqual(400);
    expect(first.ms).toBeGreaterThan(0);
    const second = await ask();
    expect(second.text).toBe(first.text);
    expect(second.tokens).toBe(first.tokens);
  });

  it('says when the answer was cut at maxTokens', async () => {
    await expect(
      generateJson(model, { system: 's', user: 'u', schema: RECIPE_SCHEMA, maxTokens: 3 }),
    ).rejects.toThrow(/cut at maxTokens \(3\)/);
  });

  it('refuses a missing model file and a file that is not GGUF, by name', async () => {
    const missing = join(base, 'nope.gguf');
    await expect(loadLocalModel(missing)).rejects.toThrow(`local model: no model file at ${missing}`);
    const junk = join(base, 'junk.gguf');
    writeFileSync(junk, 'not a model');
    await expect(loadLocalModel(junk)).rejects.toThrow(`local model: ${junk} is not a GGUF model file`);
  });

  it('says how to install node-llama-cpp when it is missing', async () => {
    await expect(importNodeLlamaCpp('node-llama-cpp-not-installed')).rejects.toThrow(NODE_LLAMA_CPP_MISSING);
    expect(NODE_LLAMA_CPP_MISSING).toMatch(/npm install node-llama-cpp@3\.21\.1 @node-llama-cpp\/linux-x64@3\.21\.1/);
  });
});

describe('quantized random models', () => {
  for (const tensorType of ['F16', 'Q8_0'] as const) {
    it(`llama.cpp runs the tiny shape stored as ${tensorType}`, async () => {
      const file = join(base, `tiny-${tensorType}.gguf`);
      await writeRandomLlamaModel(file, { ...TINY, tensorType }, 3);
      const info = await readGgufFileInfo(file, { logWarnings: false });
      expect(info.tensorInfo!.find((t) => t.name === 'blk.0.ffn_down.weight')!.ggmlType).toBe(tensorType === 'F16' ? 1 : 8);
      expect(info.tensorInfo!.find((t) => t.name === 'blk.0.attn_norm.weight')!.ggmlType).toBe(0);
      const m = await loadLocalModel(file, { threads: 1, contextSize: 256 });
      try {
        const schema = { type: 'object', properties: { build_system: { enum: ['make', 'cmake'] } } } as const;
        const r = await generateJson(m, { system: 's', user: 'u', schema, maxTokens: 100 });
        expect(['make', 'cmake']).toContain((r.json as { build_system: string }).build_system);
      } finally {
        await m.dispose();
      }
    });
  }
});
