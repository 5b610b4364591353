// A llama-architecture GGUF model with seeded pseudo-random weights and a real SentencePiece
// tokenizer: it says nothing sensible, but llama.cpp loads it, tokenizes, chats through its
// template and samples under a grammar exactly as it would a trained model. Tests run real
// inference on the tiny shape (no model is downloaded); the SmolLM3-3B shape has the compute
// and memory cost of that model, for benchmarks.
//
// Layout (llama.cpp's LLM_ARCH_LLAMA, dimensions ne[0] first):
//   token_embd.weight         [n_embd, n_vocab]
//   blk.N.attn_norm.weight    [n_embd]                    (F32, like every norm)
//   blk.N.attn_q.weight       [n_embd, n_head * head_dim]
//   blk.N.attn_k.weight       [n_embd, n_head_kv * head_dim]
//   blk.N.attn_v.weight       [n_embd, n_head_kv * head_dim]
//   blk.N.attn_output.weight  [n_head * head_dim, n_embd]
//   blk.N.ffn_norm.weight     [n_embd]
//   blk.N.ffn_gate.weight     [n_embd, n_ff]
//   blk.N.ffn_up.weight       [n_embd, n_ff]
//   blk.N.ffn_down.weight     [n_ff, n_embd]
//   output_norm.weight        [n_embd]
//   output.weight             [n_embd, n_vocab]           (absent with tied embeddings)

import { gguf, type GgmlTypeName, type GgufTensor, type GgufValue, writeGguf } from './gguf.js';

export interface LlamaShape {
  name: string;
  contextLength: number;
  embedding: number;
  blocks: number;
  feedForward: number;
  heads: number;
  kvHeads: number;
  /** Tokens in the vocabulary: the 5 special and 256 byte tokens, the rest normal pieces. */
  vocab: number;
  rmsEpsilon: number;
  ropeFreqBase: number;
  /** No output.weight: the output projection reuses token_embd.weight. */
  tiedEmbeddings: boolean;
  /** Storage of the matrices (norms are always F32). */
  tensorType: GgmlTypeName;
}

/** Well under 1 MB: for tests. */
export const TINY: LlamaShape = {
  name: 'tiny-random-llama',
  contextLength: 512,
  embedding: 32,
  blocks: 2,
  feedForward: 64,
  heads: 4,
  kvHeads: 2,
  vocab: 512,
  rmsEpsilon: 1e-5,
  ropeFreqBase: 10000,
  tiedEmbeddings: false,
  tensorType: 'F32',
};

/**
 * SmolLM3-3B's hyperparameters (hidden 2048, 36 layers, 16 heads, 4 KV heads, FFN 11008, vocab
 * 128256, 64k context, rope theta 5e6, RMS eps 1e-6, tied embeddings), written as plain llama
 * (llama.cpp's smollm3 architecture also skips RoPE on every 4th layer: the same cost). About
 * 3.08 B parameters: Q8_0 is ~3.3 GB on disk (F16 ~6.2 GB, F32 ~12.3 GB).
 */
export const SMOLLM3_3B_SHAPE: LlamaShape = {
  name: 'random-smollm3-3b-shape',
  contextLength: 65536,
  embedding: 2048,
  blocks: 36,
  feedForward: 11008,
  heads: 16,
  kvHeads: 4,
  vocab: 128256,
  rmsEpsilon: 1e-6,
  ropeFreqBase: 5_000_000,
  tiedEmbeddings: true,
  tensorType: 'Q8_0',
};

export const SPECIAL_TOKENS = { unk: 0, bos: 1, eos: 2, imStart: 3, imEnd: 4 } as const;
const SPECIAL_TEXT = ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>'];
/** SentencePiece token types, as llama.cpp numbers them. */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;
const BYTE_TOKENS = 256;
const FIRST_PIECE = SPECIAL_TEXT.length + BYTE_TOKENS;

/** SentencePiece's word boundary: a piece starting with it starts a word. */
export const SPACE = '\u2581';

/** A ChatML template (Jinja), as `tokenizer.chat_template`. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const WORDS = [
  'the', 'a', 'and', 'to', 'of', 'in', 'is', 'for', 'with', 'from', 'on', 'it', 'this', 'that',
  'recipe', 'build', 'install', 'make', 'cmake', 'meson', 'ninja', 'cargo', 'configure', 'autotools',
  'go', 'python', 'rust', 'name', 'version', 'source', 'url', 'sha256', 'commands', 'system',
  'htop', 'curl', 'git', 'bash', 'zlib', 'openssl', 'ncurses', 'prefix', 'usr', 'bin', 'lib',
  'share', 'release', 'tar', 'gz', 'xz', 'zip', 'download', 'extract', 'shell', 'run', 'test',
  'true', 'false', 'null', 'json', 'yes', 'no', 'create', 'package', 'project', 'github', 'https',
];

/** The normal pieces: characters, word starts, words and their prefixes, then made-up pieces. */
function normalPieces(count: number): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (p: string): void => {
    if (out.length < count && !seen.has(p)) {
      seen.add(p);
      out.push(p);
    }
  };
  add(SPACE);
  for (let c = 0x21; c < 0x7f; c++) add(String.fromCharCode(c));
  const alnum = 'abcdefghijklmnopqrstuvwxyz0123456789';
  for (const c of alnum) add(SPACE + c);
  for (const w of WORDS) for (let i = 2; i <= w.length; i++) add(SPACE + w.slice(0, i));
  for (const w of WORDS) for (let i = 2; i <= w.length; i++) add(w.slice(0, i));
  // Then letter strings of growing length, with and without a word start, until the count.
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let len = 2; out.length < count; len++) {
    const total = letters.length ** len;
    for (let n = 0; n < total && out.length < count; n++) {
      let s = '';
      for (let k = 0, m = n; k < len; k++, m = Math.floor(m / letters.length)) s = letters[m % letters.length] + s;
      add(SPACE + s);
      add(s);
    }
  }
  return out;
}

export interface Vocabulary {
  tokens: string[];
  scores: Float32Array;
  types: Int32Array;
}

export function buildVocabulary(size: number): Vocabulary {
  if (size < FIRST_PIECE + 128) throw new Error(`vocabulary of ${size}: needs at least ${FIRST_PIECE + 128} tokens`);
  const bytes = Array.from({ length: BYTE_TOKENS }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const tokens = SPECIAL_TEXT.concat(bytes, normalPieces(size - FIRST_PIECE));
  const scores = new Float32Array(size);
  const types = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    if (i === SPECIAL_TOKENS.unk) types[i] = TokenType.UNKNOWN;
    else if (i < SPECIAL_TEXT.length) types[i] = TokenType.CONTROL;
    else if (i < FIRST_PIECE) types[i] = TokenType.BYTE;
    else {
      types[i] = TokenType.NORMAL;
      scores[i] = -(i - FIRST_PIECE); // earlier pieces merge first
    }
  }
  return { tokens, scores, types };
}

/** mulberry32: a small, fast 32-bit PRNG; the same seed gives the same numbers everywhere. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const CHUNK = 1 << 20; // values per chunk: a multiple of the Q8_0 block

/** Uniform values in [-limit, limit), from a stream seeded by the model seed and tensor name. */
function randomValues(count: number, limit: number, seed: number, name: string): () => Iterable<Float32Array> {
  return function* () {
    const next = mulberry32((seed ^ fnv1a(name)) >>> 0);
    for (let done = 0; done < count; done += CHUNK) {
      const chunk = new Float32Array(Math.min(CHUNK, count - done));
      for (let i = 0; i < chunk.length; i++) chunk[i] = (next() * 2 - 1) * limit;
      yield chunk;
    }
  };
}

function ones(count: number): Float32Array {
  return new Float32Array(count).fill(1);
}

const FILE_TYPE: Record<GgmlTypeName, number> = { F32: 0, F16: 1, Q8_0: 7 }; // LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_Q8_0

function checkShape(s: LlamaShape): void {
  for (const k of ['contextLength', 'embedding', 'blocks', 'feedForward', 'heads', 'kvHeads', 'vocab'] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1) throw new Error(`shape ${s.name}: ${k} must be a positive integer`);
  }
  if (s.embedding % s.heads !== 0) throw new Error(`shape ${s.name}: embedding ${s.embedding} is not a multiple of ${s.heads} heads`);
  if (s.heads % s.kvHeads !== 0) throw new Error(`shape ${s.name}: ${s.heads} heads are not a multiple of ${s.kvHeads} KV heads`);
  if ((s.embedding / s.heads) % 2 !== 0) throw new Error(`shape ${s.name}: head size ${s.embedding / s.heads} must be even (RoPE)`);
}

/** The metadata and tensors of a random model (nothing is generated until it is written). */
export function randomLlamaModel(shape: LlamaShape, seed: number): { metadata: [string, GgufValue][]; tensors: GgufTensor[] } {
  checkShape(shape);
  const vocab = buildVocabulary(shape.vocab);
  const headDim = shape.embedding / shape.heads;
  const kvDim = headDim * shape.kvHeads;
  const metadata: [string, GgufValue][] = [
    ['general.architecture', gguf.str('llama')],
    ['general.name', gguf.str(shape.name)],
    ['general.alignment', gguf.u32(32)],
    ['general.file_type', gguf.u32(FILE_TYPE[shape.tensorType])],
    ['general.quantization_version', gguf.u32(2)],
    ['llama.context_length', gguf.u32(shape.contextLength)],
    ['llama.embedding_length', gguf.u32(shape.embedding)],
    ['llama.block_count', gguf.u32(shape.blocks)],
    ['llama.feed_forward_length', gguf.u32(shape.feedForward)],
    ['llama.attention.head_count', gguf.u32(shape.heads)],
    ['llama.attention.head_count_kv', gguf.u32(shape.kvHeads)],
    ['llama.attention.layer_norm_rms_epsilon', gguf.f32(shape.rmsEpsilon)],
    ['llama.rope.dimension_count', gguf.u32(headDim)],
    ['llama.rope.freq_base', gguf.f32(shape.ropeFreqBase)],
    ['llama.vocab_size', gguf.u32(shape.vocab)],
    ['tokenizer.ggml.model', gguf.str('llama')],
    ['tokenizer.ggml.tokens', gguf.strings(vocab.tokens)],
    ['tokenizer.ggml.scores', gguf.f32s(vocab.scores)],
    ['tokenizer.ggml.token_type', gguf.i32s(vocab.types)],
    ['tokenizer.ggml.unknown_token_id', gguf.u32(SPECIAL_TOKENS.unk)],
    ['tokenizer.ggml.bos_token_id', gguf.u32(SPECIAL_TOKENS.bos)],
    ['tokenizer.ggml.eos_token_id', gguf.u32(SPECIAL_TOKENS.eos)],
    ['tokenizer.ggml.eot_token_id', gguf.u32(SPECIAL_TOKENS.imEnd)],
    ['tokenizer.ggml.add_bos_token', gguf.bool(true)],
    ['tokenizer.ggml.add_eos_token', gguf.bool(false)],
    ['tokenizer.chat_template', gguf.str(CHATML_TEMPLATE)],
  ];
  const type = shape.tensorType;
  // Uniform in [-l, l) has standard deviation l/sqrt(3): l = sqrt(3/fan_in) keeps activations ~1.
  const matrix = (name: string, dims: [number, number]): GgufTensor => {
    const count = dims[0] * dims[1];
    return { name, dims, type, data: randomValues(count, Math.sqrt(3 / dims[0]), seed, name) };
  };
  const norm = (name: string): GgufTensor => ({ name, dims: [shape.embedding], type: 'F32', data: ones(shape.embedding) });
  const tensors: GgufTensor[] = [matrix('token_embd.weight', [shape.embedding, shape.vocab])];
  for (let b = 0; b < shape.blocks; b++) {
    const p = `blk.${b}.`;
    tensors.push(
      norm(`${p}attn_norm.weight`),
      matrix(`${p}attn_q.weight`, [shape.embedding, shape.embedding]),
      matrix(`${p}attn_k.weight`, [shape.embedding, kvDim]),
      matrix(`${p}attn_v.weight`, [shape.embedding, kvDim]),
      matrix(`${p}attn_output.weight`, [shape.embedding, shape.embedding]),
      norm(`${p}ffn_norm.weight`),
      matrix(`${p}ffn_gate.weight`, [shape.embedding, shape.feedForward]),
      matrix(`${p}ffn_up.weight`, [shape.embedding, shape.feedForward]),
      matrix(`${p}ffn_down.weight`, [shape.feedForward, shape.embedding]),
    );
  }
  tensors.push(norm('output_norm.weight'));
  if (!shape.tiedEmbeddings) tensors.push(matrix('output.weight', [shape.embedding, shape.vocab]));
  return { metadata, tensors };
}

/** Writes a random llama model to `file` (deterministic: same shape and seed, same bytes); returns its size. */
export async function writeRandomLlamaModel(file: string, shape: LlamaShape, seed: number): Promise<number> {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`seed ${seed}: must be a 32-bit unsigned integer`);
  return writeGguf(file, randomLlamaModel(shape, seed));
}
