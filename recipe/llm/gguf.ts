// A writer of GGUF v3 files, the model format of llama.cpp (little endian throughout):
//
//   header     "GGUF", u32 version (3), u64 tensor count, u64 metadata key/value count
//   metadata   per key: string key, u32 value type, value (arrays: u32 element type, u64 count,
//              elements); a string is a u64 byte length and its UTF-8 bytes, no terminator
//   tensors    per tensor: string name, u32 dimension count, u64 per dimension (ne[0] first: the
//              innermost, fastest-varying one), u32 ggml type, u64 offset of its data from the
//              start of the data section (a multiple of the alignment)
//   padding    zeros up to the alignment (`general.alignment`, 32 unless the metadata says)
//   data       each tensor's bytes at its offset, zero-padded to the alignment
//
// Tensor data is given as float32 values (all at once or as a stream of chunks, so a model of
// several GB never sits in memory) and stored as F32, F16 or Q8_0.

import { open, rm } from 'node:fs/promises';
import { endianness } from 'node:os';

const LITTLE_ENDIAN = endianness() === 'LE';

/** GGUF metadata value types, as numbered in the file. */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

/** The ggml tensor types this writer stores, as numbered in the file. */
export const GgmlType = { F32: 0, F16: 1, Q8_0: 8 } as const;
export type GgmlTypeName = keyof typeof GgmlType;

/** Q8_0: blocks of 32 values, each an f16 scale and 32 signed bytes. */
export const Q8_0_BLOCK = 32;
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** A metadata value with its GGUF type (a JS number alone does not say u32, i32 or f32). */
export type GgufValue =
  | { type: 'u8'; value: number }
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'u64'; value: bigint }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'f32[]'; value: ArrayLike<number> }
  | { type: 'i32[]'; value: ArrayLike<number> };

/** Constructors for metadata values: `gguf.u32(2048)`, `gguf.strings(['a', 'b'])`. */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: 'u8', value }),
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  u64: (value: bigint): GgufValue => ({ type: 'u64', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  str: (value: string): GgufValue => ({ type: 'string', value }),
  strings: (value: readonly string[]): GgufValue => ({ type: 'string[]', value }),
  f32s: (value: ArrayLike<number>): GgufValue => ({ type: 'f32[]', value }),
  i32s: (value: ArrayLike<number>): GgufValue => ({ type: 'i32[]', value }),
};

/** A tensor to write: its values come as float32 chunks, in storage order (ne[0] fastest). */
export interface GgufTensor {
  name: string;
  /** ne[0] first (for a weight matrix: the input width, then the output rows). */
  dims: readonly number[];
  type: GgmlTypeName;
  /** All values, or a function returning them chunk by chunk (for Q8_0, whole blocks of 32). */
  data: Float32Array | (() => Iterable<Float32Array>);
}

export interface GgufFile {
  /** Key/value metadata, in file order. `general.alignment` is honoured if present. */
  metadata: ReadonlyArray<readonly [string, GgufValue]>;
  tensors: readonly GgufTensor[];
}

export function tensorElements(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Bytes of a tensor's data (without padding). */
export function tensorBytes(tensor: Pick<GgufTensor, 'dims' | 'type'>): number {
  const n = tensorElements(tensor.dims);
  switch (tensor.type) {
    case 'F32':
      return n * 4;
    case 'F16':
      return n * 2;
    case 'Q8_0':
      return (n / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
  }
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Serialises a growing byte stream. */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.room(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }
  u64(v: bigint | number): void {
    this.room(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  f32(v: number): void {
    this.room(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.room(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }
  zeros(n: number): void {
    this.room(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function checkUint(key: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`gguf: ${key}: ${v} is not an unsigned integer up to ${max}`);
}
function checkInt32(key: string, v: number): void {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new Error(`gguf: ${key}: ${v} is not a 32-bit integer`);
}

function writeValue(out: ByteSink, key: string, v: GgufValue): void {
  const T = GgufValueType;
  switch (v.type) {
    case 'u8':
      checkUint(key, v.value, 0xff);
      out.u32(T.UINT8);
      out.u8(v.value);
      return;
    case 'u32':
      checkUint(key, v.value, 0xffffffff);
      out.u32(T.UINT32);
      out.u32(v.value);
      return;
    case 'i32':
      checkInt32(key, v.value);
      out.u32(T.INT32);
      out.i32(v.value);
      return;
    case 'u64':
      out.u32(T.UINT64);
      out.u64(v.value);
      return;
    case 'f32':
      out.u32(T.FLOAT32);
      out.f32(v.value);
      return;
    case 'bool':
      out.u32(T.BOOL);
      out.u8(v.value ? 1 : 0);
      return;
    case 'string':
      out.u32(T.STRING);
      out.str(v.value);
      return;
    case 'string[]':
      out.u32(T.ARRAY);
      out.u32(T.STRING);
      out.u64(v.value.length);
      for (const s of v.value) out.str(s);
      return;
    case 'f32[]':
      out.u32(T.ARRAY);
      out.u32(T.FLOAT32);
      out.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) out.f32(v.value[i]!);
      return;
    case 'i32[]':
      out.u32(T.ARRAY);
      out.u32(T.INT32);
      out.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) {
        checkInt32(key, v.value[i]!);
        out.i32(v.value[i]!);
      }
      return;
  }
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE 754 binary16 bits of a float (round to nearest even; overflow to infinity). */
export function toHalf(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf, NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: infinity
  if (e <= 0) {
    // subnormal half (or zero)
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++; // a carry into the exponent is still right
  return sign | half;
}

/** The float a binary16 bit pattern stands for. */
export function fromHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Encodes float32 values as a tensor type (Q8_0: values.length must be a multiple of 32). */
export function encodeTensorData(values: Float32Array, type: GgmlTypeName): Buffer {
  switch (type) {
    case 'F32':
      if (LITTLE_ENDIAN) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
      {
        const out = Buffer.alloc(values.length * 4);
        for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i]!, i * 4);
        return out;
      }
    case 'F16': {
      const out = Buffer.alloc(values.length * 2);
      for (let i = 0; i < values.length; i++) out.writeUInt16LE(toHalf(values[i]!), i * 2);
      return out;
    }
    case 'Q8_0': {
      if (values.length % Q8_0_BLOCK !== 0) throw new Error(`gguf: Q8_0 data comes in blocks of ${Q8_0_BLOCK} values, got ${values.length}`);
      const blocks = values.length / Q8_0_BLOCK;
      const out = Buffer.alloc(blocks * Q8_0_BLOCK_BYTES);
      for (let b = 0; b < blocks; b++) {
        let amax = 0;
        for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(values[b * Q8_0_BLOCK + j]!));
        const d = amax / 127;
        const id = d ? 1 / d : 0;
        const at = b * Q8_0_BLOCK_BYTES;
        out.writeUInt16LE(toHalf(d), at);
        for (let j = 0; j < Q8_0_BLOCK; j++) out.writeInt8(Math.round(values[b * Q8_0_BLOCK + j]! * id), at + 2 + j);
      }
      return out;
    }
  }
}

function alignmentOf(file: GgufFile): number {
  const entry = file.metadata.find(([k]) => k === 'general.alignment');
  if (!entry) return GGUF_DEFAULT_ALIGNMENT;
  const v = entry[1];
  if (v.type !== 'u32' || v.value <= 0 || v.value % 8 !== 0) throw new Error('gguf: general.alignment must be a u32 multiple of 8');
  return v.value;
}

function checkTensors(tensors: readonly GgufTensor[]): void {
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`gguf: tensor ${t.name} appears twice`);
    names.add(t.name);
    if (Buffer.byteLength(t.name) >= 64) throw new Error(`gguf: tensor name ${t.name} is 64 bytes or longer`);
    if (t.dims.length < 1 || t.dims.length > 4) throw new Error(`gguf: tensor ${t.name} has ${t.dims.length} dimensions (1 to 4)`);
    for (const d of t.dims) if (!Number.isInteger(d) || d < 1) throw new Error(`gguf: tensor ${t.name} has dimension ${d}`);
    if (t.type === 'Q8_0' && t.dims[0]! % Q8_0_BLOCK !== 0) {
      throw new Error(`gguf: tensor ${t.name}: Q8_0 needs ne[0] (${t.dims[0]}) to be a multiple of ${Q8_0_BLOCK}`);
    }
    if (t.data instanceof Float32Array && t.data.length !== tensorElements(t.dims)) {
      throw new Error(`gguf: tensor ${t.name} has ${t.data.length} values for dimensions ${t.dims.join('x')}`);
    }
  }
}

/** Header, metadata and tensor infos, padded to the alignment; and where each tensor's data goes. */
export function ggufHeader(file: GgufFile): { header: Buffer; offsets: number[]; dataBytes: number; alignment: number } {
  checkTensors(file.tensors);
  const alignment = alignmentOf(file);
  const out = new ByteSink();
  out.u32(GGUF_MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(file.tensors.length);
  out.u64(file.metadata.length);
  const keys = new Set<string>();
  for (const [key, value] of file.metadata) {
    if (keys.has(key)) throw new Error(`gguf: metadata key ${key} appears twice`);
    keys.add(key);
    out.str(key);
    writeValue(out, key, value);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of file.tensors) {
    out.str(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(GgmlType[t.type]);
    out.u64(offset);
    offsets.push(offset);
    offset = alignUp(offset + tensorBytes(t), alignment);
  }
  out.zeros(alignUp(out.length, alignment) - out.length);
  return { header: Buffer.from(out.bytes()), offsets, dataBytes: offset, alignment };
}

/** Writes a GGUF v3 file; returns its size in bytes. A failed write leaves no file behind. */
export async function writeGguf(file: string, gg: GgufFile): Promise<number> {
  const { header, offsets, dataBytes } = ggufHeader(gg);
  const fh = await open(file, 'w');
  let ok = false;
  try {
    let pos = 0;
    const put = async (b: Buffer): Promise<void> => {
      let done = 0;
      while (done < b.length) {
        const { bytesWritten } = await fh.write(b, done, b.length - done, pos);
        done += bytesWritten;
        pos += bytesWritten;
      }
    };
    await put(header);
    const dataStart = header.length;
    for (const [i, t] of gg.tensors.entries()) {
      const start = dataStart + offsets[i]!;
      if (pos < start) await put(Buffer.alloc(start - pos));
      const chunks = t.data instanceof Float32Array ? [t.data] : t.data();
      let values = 0;
      for (const chunk of chunks) {
        values += chunk.length;
        if (values > tensorElements(t.dims)) throw new Error(`gguf: tensor ${t.name} got more values than its dimensions hold`);
        await put(encodeTensorData(chunk, t.type));
      }
      if (values !== tensorElements(t.dims)) throw new Error(`gguf: tensor ${t.name} got ${values} values, its dimensions hold ${tensorElements(t.dims)}`);
    }
    const end = dataStart + dataBytes;
    if (pos < end) await put(Buffer.alloc(end - pos));
    ok = true;
    return end;
  } finally {
    await fh.close();
    if (!ok) await rm(file, { force: true });
  }
}
