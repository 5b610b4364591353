import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompressBuffer, decompressStream, DecompressLimitError, sniffCompression } from '../../formats/decompress.js';

// Compressible but not trivial: 4 MiB of repeated random lines.
const plain = Buffer.from(Array.from({ length: 65536 }, (_, i) => `${i} ${randomBytes(8).toString('hex')} line\n`).join(''));
const packed = {
  gzip: gzipSync(plain),
  xz: execFileSync('xz', ['-c', '-3'], { input: plain, maxBuffer: 64 << 20 }),
  zstd: execFileSync('zstd', ['-c', '-3'], { input: plain, maxBuffer: 64 << 20 }),
};

describe('decompression by magic number', () => {
  for (const [kind, data] of Object.entries(packed)) {
    it(`${kind}: sniffed and decoded byte for byte, streamed in small chunks`, async () => {
      expect(sniffCompression(data)).toBe(kind);
      const chunks = [];
      for (let at = 0; at < data.length; at += 1000) chunks.push(data.subarray(at, at + 1000));
      const out: Buffer[] = [];
      for await (const chunk of decompressStream(Readable.from(chunks), 'auto')) out.push(chunk as Buffer);
      expect(Buffer.concat(out).equals(plain)).toBe(true);
    });

    it(`${kind}: a bomb past the limit fails with the subject named, and a truncated stream fails`, async () => {
      await expect(decompressBuffer(data, { maxBytes: 1 << 20, subject: 'bomb.bin' })).rejects.toThrow(DecompressLimitError);
      await expect(decompressBuffer(data, { maxBytes: 1 << 20, subject: 'bomb.bin' })).rejects.toThrow(/^bomb.bin: decompresses to more than 1048576 bytes/);
      await expect(decompressBuffer(data.subarray(0, data.length >> 1), { subject: 'cut.bin' })).rejects.toThrow(/^cut.bin: /);
    });
  }

  it('passes plain data through, and a reader that stops early ends the work without hanging', async () => {
    expect((await decompressBuffer(Buffer.from('hello'))).toString()).toBe('hello');
    const stream = decompressStream(Readable.from([packed.zstd]), 'auto');
    for await (const chunk of stream) {
      expect((chunk as Buffer).length).toBeGreaterThan(0);
      break;
    }
    expect(stream.destroyed).toBe(true);
  });
});
