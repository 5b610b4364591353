// Recipe assistant benchmark (issue 14): `recipe llm`'s draft on a tiny random-weight model (the
// tests' model: the tool's own cost, grammar included), and the compute of a SmolLM3-3B-shaped
// model with random weights (Q8_0, the same arithmetic per token as the real one) on this CPU:
// prompt evaluation and generation rates, and from them what a draft costs. A random model under
// the grammar writes every field to its length limit, which a real model does not, so the big
// model's draft time is estimated from its rates and the token counts of a real-sized answer.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { draftPrompt, draftRecipe, projectExamples } from '../recipe/llm/draft.js';
import { generateJson, loadLocalModel, type LocalModel } from '../recipe/llm/local-model.js';
import { SMOLLM3_3B_SHAPE, TINY, writeRandomLlamaModel } from '../recipe/llm/random-model.js';
import { projectRoot } from '../fixtures/paths.js';
import { median, round, writeResult } from './stats.js';

const REQUESTS = ['htop 3.3.0, the process viewer', 'zstd, the compressor', 'GNU hello 2.12', 'jq 1.7.1', 'ripgrep 14.1.0'];
/** Answer tokens of a filled skeleton the size a real model writes (the hello example, tokenized). */
const REAL_ANSWER_CHARACTERS = 420;

export async function benchLlm(): Promise<object> {
  const dir = await mkdtemp(join(tmpdir(), 'pipeline-bench-llm-'));
  try {
    const tiny = await benchTiny(dir);
    const big = process.env.PIPELINE_BENCH_SKIP_3B ? { skipped: 'PIPELINE_BENCH_SKIP_3B is set' } : await benchSmolLm3Shape(dir);
    const result = { tiny, smolLm3Shape: big };
    const path = await writeResult('llm', result);
    console.log(JSON.stringify(result, null, 2));
    console.log(`written to ${path}`);
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchTiny(dir: string) {
  const file = join(dir, 'tiny.gguf');
  await writeRandomLlamaModel(file, { ...TINY, contextLength: 8192 }, 5);
  const rows: Record<string, unknown> = {};
  for (const threads of [1, availableParallelism()]) {
    const model = await loadLocalModel(file, { contextSize: 8192, threads });
    try {
      const runs = [];
      for (const request of REQUESTS) {
        const draft = await draftRecipe({ request, backend: localBackend(model), root: projectRoot() });
        runs.push({ ms: draft.ms, tokens: draft.tokens });
      }
      rows[`threads${threads}`] = {
        draftMs: round(median(runs.map((r) => r.ms))),
        answerTokens: median(runs.map((r) => r.tokens)),
        tokensPerSecond: round(median(runs.map((r) => r.tokens / (r.ms / 1000)))),
      };
    } finally {
      await model.dispose();
    }
  }
  return { model: 'TINY random llama, 219 KB', drafts: REQUESTS.length, ...rows };
}

async function benchSmolLm3Shape(dir: string) {
  const file = join(dir, 'smollm3-3b-shape.gguf');
  let started = performance.now();
  const bytes = await writeRandomLlamaModel(file, { ...SMOLLM3_3B_SHAPE, contextLength: 8192 }, 1);
  const writeMs = performance.now() - started;
  const threads = availableParallelism();
  started = performance.now();
  const model = await loadLocalModel(file, { contextSize: 4096, threads });
  const loadMs = performance.now() - started;
  try {
    // The real prompt (system text with the project's recipes as examples), a short answer: rates, not a whole random draft.
    const { system, user } = draftPrompt(REQUESTS[0], await projectExamples(projectRoot()));
    const schema = { type: 'object', additionalProperties: false, required: ['summary'], properties: { summary: { type: 'string', minLength: 48, maxLength: 48 } } };
    const r = await generateJson(model, { system, user, schema, maxTokens: 200 });
    const promptTokensPerSecond = (r.promptTokens ?? 0) / ((r.firstTokenMs ?? r.ms) / 1000);
    const generationTokensPerSecond = (r.tokens - 1) / ((r.ms - (r.firstTokenMs ?? 0)) / 1000);
    const answerTokens = Math.round(REAL_ANSWER_CHARACTERS / 3.5);
    return {
      model: `SMOLLM3_3B_SHAPE random weights, Q8_0, ${round(bytes / 2 ** 30, 2)} GiB`,
      threads,
      writeModelMs: round(writeMs),
      loadMs: round(loadMs),
      promptTokens: r.promptTokens,
      promptTokensPerSecond: round(promptTokensPerSecond, 2),
      generationTokensPerSecond: round(generationTokensPerSecond, 2),
      estimatedDraftSeconds: round(((r.promptTokens ?? 0) / promptTokensPerSecond + answerTokens / generationTokensPerSecond), 1),
      estimateBasis: `the prompt above plus ~${answerTokens} answer tokens (a ${REAL_ANSWER_CHARACTERS}-character filled skeleton)`,
    };
  } finally {
    await model.dispose();
  }
}

function localBackend(model: LocalModel) {
  return (p: { system: string; user: string; schema: unknown; maxTokens: number }) => generateJson(model, { system: p.system, user: p.user, schema: p.schema as never, maxTokens: p.maxTokens });
}
