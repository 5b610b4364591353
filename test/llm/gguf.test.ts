// The GGUF writer, read back by node-llama-cpp's own GGUF reader (readGgufFileInfo) and, for the
// tensor bytes, at the offsets that reader reports.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeTensorData, fromHalf, gguf, ggufHeader, toHalf, writeGguf } from '../../recipe/llm/gguf.js';

const base = mkdtempSync(join(tmpdir(), 'pipeline-gguf-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('writeGguf', () => {
  it('writes metadata of every type and aligned F32 tensors that a real reader reads back', async () => {
    const file = join(base, 'kinds.gguf');
    const a = new Float32Array([1, -2, 3.5, 0.25, 5, 6]);
    const b = new Float32Array(5).map((_, i) => i / 8);
    await writeGguf(file, {
      metadata: [
        ['general.architecture', gguf.str('llama')],
        ['general.alignment', gguf.u32(32)],
        ['test.u32', gguf.u32(4_000_000_000)],
        ['test.i32', gguf.i32(-7)],
        ['test.f32', gguf.f32(0.5)],
        ['test.yes', gguf.bool(true)],
        ['test.no', gguf.bool(false)],
        ['test.unicode', gguf.str('\u2581héllo ✓')],
        ['test.strings', gguf.strings(['a', '', '<0x0A>'])],
        ['test.floats', gguf.f32s([1.5, -0.25])],
        ['test.ints', gguf.i32s([-1, 0, 2147483647])],
      ],
      tensors: [
        { name: 'a', dims: [3, 2], type: 'F32', data: a },
        // streamed in two chunks
        { name: 'b', dims: [5], type: 'F32', data: () => [b.subarray(0, 2), b.subarray(2)] },
      ],
    });
    const info = await readGgufFileInfo(file, { logWarnings: false });
    expect(info.version).toBe(3);
    const md = info.metadata as unknown as Record<string, Record<string, unknown>>;
    expect(md.general).toMatchObject({ architecture: 'llama', alignment: 32 });
    expect(md.test).toEqual({
      u32: 4_000_000_000,
      i32: -7,
      f32: 0.5,
      yes: true,
      no: false,
      unicode: '\u2581héllo ✓',
      strings: ['a', '', '<0x0A>'],
      floats: [1.5, -0.25],
      ints: [-1, 0, 2147483647],
    });
    const tensors = info.tensorInfo!;
    expect(tensors.map((t) => [t.name, t.dimensions.map(Number), t.ggmlType])).toEqual([
      ['a', [3, 2], 0],
      ['b', [5], 0],
    ]);
    const bytes = readFileSync(file);
    for (const [t, want] of [[tensors[0]!, a], [tensors[1]!, b]] as const) {
      const at = Number(t.fileOffset);
      expect(at % 32).toBe(0);
      const got = new Float32Array(bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + at + want.byteLength));
      expect(Array.from(got)).toEqual(Array.from(want));
    }
    // The file ends at the last tensor's data, padded to the alignment.
    expect(bytes.length % 32).toBe(0);
    expect(bytes.length).toBe(Number(tensors[1]!.fileOffset) + 32);
  });

  it('honours a larger alignment', async () => {
    const file = join(base, 'align.gguf');
    await writeGguf(file, {
      metadata: [['general.alignment', gguf.u32(64)]],
      tensors: [
        { name: 'x', dims: [3], type: 'F32', data: new Float32Array(3) },
        { name: 'y', dims: [3], type: 'F32', data: new Float32Array(3) },
      ],
    });
    const info = await readGgufFileInfo(file, { logWarnings: false });
    const offsets = info.tensorInfo!.map((t) => Number(t.fileOffset));
    expect(offsets.every((o) => o % 64 === 0)).toBe(true);
    expect(offsets[1]! - offsets[0]!).toBe(64);
  });

  it('stores F16 and Q8_0 tensors with the sizes and types the reader expects', async () => {
    const file = join(base, 'quant.gguf');
    const values = new Float32Array(64).map((_, i) => Math.sin(i) * 3);
    await writeGguf(file, {
      metadata: [],
      tensors: [
        { name: 'h', dims: [32, 2], type: 'F16', data: values },
        { name: 'q', dims: [32, 2], type: 'Q8_0', data: values },
      ],
    });
    const info = await readGgufFileInfo(file, { logWarnings: false });
    const [h, q] = info.tensorInfo!;
    expect([h!.ggmlType, q!.ggmlType]).toEqual([1, 8]);
    expect(Number(q!.fileOffset) - Number(h!.fileOffset)).toBe(128); // 64 halves
    const bytes = readFileSync(file);
    const at = Number(q!.fileOffset);
    // Q8_0 block: f16 scale, then 32 signed bytes; scale * byte is within half a step of the value.
    for (let blk = 0; blk < 2; blk++) {
      const d = fromHalf(bytes.readUInt16LE(at + blk * 34));
      for (let j = 0; j < 32; j++) {
        expect(Math.abs(d * bytes.readInt8(at + blk * 34 + 2 + j) - values[blk * 32 + j]!)).toBeLessThanOrEqual(d * 0.51);
      }
    }
    expect(bytes.length).toBe(at + 2 * 34 + (32 - ((2 * 34) % 32)));
  });

  it('refuses inconsistent input and leaves no file behind', async () => {
    const file = join(base, 'bad.gguf');
    await expect(
      writeGguf(file, { metadata: [], tensors: [{ name: 't', dims: [4], type: 'F32', data: () => [new Float32Array(3)] }] }),
    ).rejects.toThrow(/t got 3 values, its dimensions hold 4/);
    expect(() => readFileSync(file)).toThrow(/ENOENT/);
    expect(() => ggufHeader({ metadata: [], tensors: [{ name: 'q', dims: [16], type: 'Q8_0', data: new Float32Array(16) }] })).toThrow(
      /multiple of 32/,
    );
    expect(() => ggufHeader({ metadata: [['k', gguf.u32(1)], ['k', gguf.u32(2)]], tensors: [] })).toThrow(/k appears twice/);
    expect(() => ggufHeader({ metadata: [['k', gguf.u32(-1)]], tensors: [] })).toThrow(/not an unsigned integer/);
  });
});

describe('half floats', () => {
  it('round-trips exactly representable values and rounds to nearest', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24, -1.5]) expect(fromHalf(toHalf(v))).toBe(v);
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // halfway: to even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(fromHalf(toHalf(1e6))).toBe(Infinity);
    expect(encodeTensorData(new Float32Array([1, -2]), 'F16')).toEqual(Buffer.from([0x00, 0x3c, 0x00, 0xc0]));
  });
});
