// A local GGUF model run in-process through node-llama-cpp, on the CPU, for JSON answers whose
// shape a JSON schema fixes at generation time (the sampler can only pick tokens the schema's
// grammar allows), greedy (temperature 0) with a fixed seed: the same model, prompt and schema
// give the same answer.
//
// node-llama-cpp is an optional dependency, imported only here and only when a model is loaded:
// without it the rest of the project works, and loading a model says how to install it. It
// never downloads or compiles anything at run time (`build: 'never'`, `skipDownload`): it uses
// the prebuilt CPU binary of @node-llama-cpp/linux-x64 or fails.
//
// Install (package.json, which cannot carry comments): node-llama-cpp and
// @node-llama-cpp/linux-x64 are exact optional dependencies. Its CUDA and Vulkan binary packages
// (hundreds of MB) and the ARM ones are `overrides`d to an alias of a Windows-only package of
// the same release, which npm skips on Linux as an optional package for another OS: only the CPU
// binary lands. `config.nodeLlamaCppPostinstall: "skip"` keeps its postinstall from probing or
// building anything. A release must have all its platform packages published (3.22.1 lacks the
// macOS and Windows ones, which breaks `npm ci`): hence 3.21.1.

import { open, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { checkSchema } from './schema-check.js';
import { schemaToGbnf, type GrammarSchema } from './schema-grammar.js';
import type {
  Llama,
  LlamaContext,
  LlamaModel,
} from 'node-llama-cpp';

export const NODE_LLAMA_CPP_MISSING =
  'node-llama-cpp is not installed (an optional peer dependency, needed only to run a local model in-process): ' +
  'install it with `npm install node-llama-cpp@3.21.1 @node-llama-cpp/linux-x64@3.21.1`, or ask a server with --llm-url instead';

export interface LocalModelOptions {
  /** Most tokens of prompt and answer together; the model's training context caps it. Default 4096. */
  contextSize?: number;
  /**
   * CPU threads. Default: half the cores (at least 1). llama.cpp's threads spin while they wait
   * for each other: more threads than free cores (a busy machine) makes every token orders of
   * magnitude slower, not faster.
   */
  threads?: number;
}

export interface LocalModel {
  readonly file: string;
  /** The model's name from its metadata (`general.name`), if it has one. */
  readonly name: string | undefined;
  /** Frees the model, its context and the runtime. */
  dispose(): Promise<void>;
}

export interface GenerateJsonOptions {
  system: string;
  user: string;
  /**
   * The answer's JSON schema: node-llama-cpp's subset (types, properties, enum, const, items,
   * min/maxItems, min/maxLength...) steers generation. A string's `pattern` cannot: it is checked
   * on the answer, and an answer that breaks it is an error.
   */
  /** The JSON schema the answer must fit (recipe/llm/schema-grammar.ts's subset: it becomes the grammar). */
  schema: GrammarSchema;
  /** Most tokens to generate; an answer cut there is an error. Default 512. */
  maxTokens?: number;
  /** Sampling seed (generation is greedy, so it only matters for ties). Default 0. */
  seed?: number;
}

export interface GenerateJsonResult {
  /** The answer as generated. */
  text: string;
  /** The answer parsed and checked against the schema. */
  json: unknown;
  /** Tokens generated. */
  tokens: number;
  /** Wall time of the generation, prompt evaluation included. */
  ms: number;
  /** Tokens of the prompt the model evaluated, and the time until its first answer token (mostly that evaluation). */
  promptTokens?: number;
  firstTokenMs?: number;
}

interface LoadedModel extends LocalModel {
  readonly llama: Llama;
  readonly model: LlamaModel;
  readonly context: LlamaContext;
  readonly lib: typeof import('node-llama-cpp');
}

type NodeLlamaCpp = typeof import('node-llama-cpp');

/** node-llama-cpp, or an error that says how to install it. The specifier is a variable so bundlers leave it alone. */
export async function importNodeLlamaCpp(specifier = 'node-llama-cpp'): Promise<NodeLlamaCpp> {
  try {
    return (await import(specifier)) as NodeLlamaCpp;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new Error(NODE_LLAMA_CPP_MISSING, { cause: e });
    throw e;
  }
}

/** Refuses a path that is not a readable GGUF file, naming it. */
async function checkModelFile(file: string): Promise<void> {
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error(`local model: ${file} is not a file`);
    size = s.size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`local model: no model file at ${file}`, { cause: e });
    throw e;
  }
  const head = Buffer.alloc(4);
  const fh = await open(file, 'r');
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  if (size < 4 || head.toString('latin1') !== 'GGUF') throw new Error(`local model: ${file} is not a GGUF model file`);
}

export async function loadLocalModel(file: string, options: LocalModelOptions = {}): Promise<LocalModel> {
  await checkModelFile(file);
  const lib = await importNodeLlamaCpp();
  const threads = options.threads ?? Math.max(1, Math.floor(availableParallelism() / 2));
  const llama = await lib.getLlama({
    gpu: false,
    build: 'never',
    usePrebuiltBinaries: true,
    skipDownload: true,
    progressLogs: false,
    logLevel: lib.LlamaLogLevel.error,
    maxThreads: threads,
  });
  try {
    const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
    try {
      const context = await model.createContext({
        contextSize: { max: options.contextSize ?? 4096 },
        sequences: 1,
        threads,
      });
      const loaded: LoadedModel = {
        file,
        name: model.fileInfo.metadata.general?.name,
        llama,
        model,
        context,
        lib,
        async dispose() {
          await context.dispose();
          await model.dispose();
          await llama.dispose();
        },
      };
      return loaded;
    } catch (e) {
      await model.dispose();
      throw e;
    }
  } catch (e) {
    await llama.dispose();
    throw e;
  }
}

function internals(model: LocalModel): LoadedModel {
  const m = model as Partial<LoadedModel>;
  if (!m.context || !m.llama || !m.lib) throw new Error('generateJson: not a model from loadLocalModel');
  return m as LoadedModel;
}

/** One answer to one question, as JSON matching `schema`. Each call starts from an empty chat. */
export async function generateJson(model: LocalModel, options: GenerateJsonOptions): Promise<GenerateJsonResult> {
  const { llama, context, lib } = internals(model);
  const maxTokens = options.maxTokens ?? 512;
  // Our own converter: it keeps the schema's patterns (node-llama-cpp's leaves them out).
  const grammar = await llama.createGrammar({ grammar: schemaToGbnf(options.schema as GrammarSchema) });
  const session = new lib.LlamaChatSession({
    contextSequence: context.getSequence(),
    systemPrompt: options.system,
    autoDisposeSequence: true,
  });
  try {
    let tokens = 0;
    let firstTokenMs: number | undefined;
    const sequence = session.sequence;
    const inputBefore = sequence.tokenMeter.usedInputTokens;
    const started = performance.now();
    const answer = await session.promptWithMeta(options.user, {
      grammar,
      maxTokens,
      temperature: 0,
      seed: options.seed ?? 0,
      onToken: (t) => {
        firstTokenMs ??= performance.now() - started;
        tokens += t.length;
      },
    });
    const ms = performance.now() - started;
    const timing = { promptTokens: sequence.tokenMeter.usedInputTokens - inputBefore, firstTokenMs: firstTokenMs ?? ms };
    const text = answer.responseText;
    if (answer.stopReason === 'maxTokens') {
      throw new Error(`local model: the answer was cut at maxTokens (${maxTokens}) before its JSON was complete: ${text.slice(0, 200)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`local model: the answer does not match the schema: ${(e as Error).message}: ${text.slice(0, 200)}`, { cause: e });
    }
    // The grammar holds the shape; lengths and anything else it cannot are checked here.
    const problems = checkSchema(options.schema as object, json);
    if (problems.length) throw new Error(`local model: the answer does not match the schema: ${problems.join('; ')}: ${text.slice(0, 200)}`);
    return { text, json, tokens, ms, ...timing };
  } finally {
    session.dispose();
  }
}
