// formats/rpm on its own: header bounds checks (each malformed index entry refused with its
// reason), every data type read back, the lead, and the streaming cpio reader (newc, stripped,
// truncation, garbage after the trailer, the size limit checked before any data is handed out).
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CpioFormatError, CpioSizeLimitError, readRpmCpio, type CpioMember } from '../../formats/rpm/cpio-reader.js';
import { parseHeader } from '../../formats/rpm/header.js';
import { parseLead, RpmFormatError } from '../../formats/rpm/lead.js';
import { cpioMember, cpioTrailer, craftRpm, writeHeader } from './craft.js';

type Entries = Parameters<typeof writeHeader>[0];

function sample(): Entries {
  return new Map([
    [1000, { type: 6, value: 'name' }],
    [1004, { type: 9, value: 'summary' }],
    [1009, { type: 4, values: [7, 0xffffffff] }],
    [1030, { type: 3, values: [0o100644, 0o120777] }],
    [1117, { type: 8, values: ['a', 'bb', ''] }],
    [5009, { type: 5, values: [2 ** 40] }],
    [5092, { type: 7, value: Buffer.from([1, 2, 3]) }],
  ] as Array<[number, Entries extends Map<number, infer V> ? V : never]>);
}

/** Offset of index entry `i`'s field (0 tag, 4 type, 8 offset, 12 count). */
const at = (i: number, field: number): number => 16 + i * 16 + field;

describe('RPM headers', () => {
  it('reads every data type back', () => {
    const h = parseHeader(writeHeader(sample(), 63), 'main');
    expect(h.string(1000)).toBe('name');
    expect(h.strings(1004)).toEqual(['summary']);
    expect(h.ints(1009)).toEqual([7, 0xffffffff]);
    expect(h.ints(1030)).toEqual([0o100644, 0o120777]);
    expect(h.strings(1117)).toEqual(['a', 'bb', '']);
    expect(h.int(5009)).toBe(2 ** 40);
    expect([...h.bin(5092)!]).toEqual([1, 2, 3]);
    expect(h.has(1001)).toBe(false);
    expect(() => h.ints(1000)).toThrow(/NAME \(1000\) has type STRING, expected an integer/);
  });

  it('refuses malformed entries, each with its reason', () => {
    const good = writeHeader(sample(), 63);
    const broken = (edit: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(good);
      edit(b);
      return b;
    };
    const cases: Array<[string, (b: Buffer) => void, RegExp]> = [
      ['bad magic', (b) => (b[0] = 0), /header magic 00ade801/],
      ['unknown type', (b) => b.writeUInt32BE(12, at(1, 4)), /unknown data type 12/],
      ['offset past the store', (b) => b.writeInt32BE(100000, at(2, 8)), /outside its part of the data store/],
      ['negative offset', (b) => b.writeInt32BE(-4, at(2, 8)), /outside/],
      ['misaligned INT32', (b) => b.writeInt32BE(b.readInt32BE(at(3, 8)) + 1, at(3, 8)), /not aligned for INT32|overlaps/],
      ['count running past the store', (b) => b.writeUInt32BE(100000, at(3, 12)), /run past the data store/],
      ['overlapping entries', (b) => b.writeInt32BE(0, at(2, 8)), /overlaps the previous entry/],
      ['a STRING with count 2', (b) => b.writeUInt32BE(2, at(1, 12)), /a STRING with count 2/],
      ['a duplicate tag', (b) => b.writeInt32BE(1000, at(2, 0)), /tag appears twice|overlaps/],
      ['index count past the limit', (b) => b.writeUInt32BE(0x10000, 8), /declares 65536 index entries/],
      ['no region', (b) => b.writeInt32BE(64, at(0, 0)), /no HEADERIMMUTABLE \(63\) region/],
    ];
    for (const [what, edit, message] of cases) {
      expect(() => parseHeader(broken(edit), 'main', 'x'), what).toThrow(message);
    }
    // An unterminated string: the last string's NUL replaced, running into the region trailer.
    const strings = writeHeader(new Map([[1000, { type: 6, value: 'abc' }]]) as Entries, 63);
    const nul = strings.indexOf(Buffer.from('abc\0')) + 3;
    strings[nul] = 0x41;
    expect(() => parseHeader(strings, 'main')).toThrow(/string 1 of 1 runs past the data store/);
    // A header cut short.
    expect(() => parseHeader(good.subarray(0, good.length - 3), 'main')).toThrow(/truncated/);
  });

  it('the signature header may hold entries after its region; the main header may not', () => {
    const h = writeHeader(new Map([[273, { type: 6, value: 'abc' }]]) as Entries, 62);
    expect(parseHeader(h, 'signature').string(273)).toBe('abc');
    expect(() => parseHeader(writeHeader(new Map([[1000, { type: 6, value: 'abc' }]]) as Entries, 62), 'main')).toThrow(/no HEADERIMMUTABLE/);
  });

  it('the lead: magic, version, binary type', () => {
    const { bytes } = craftRpm({ files: [] });
    expect(parseLead(bytes)).toMatchObject({ major: 3, type: 0, signatureType: 5, name: 'evil-6.6.6-1' });
    const source = Buffer.from(bytes.subarray(0, 96));
    source.writeUInt16BE(1, 6);
    expect(() => parseLead(source)).toThrow(/a source package/);
    expect(() => parseLead(Buffer.from('PK\x03\x04'.padEnd(96, '\0')))).toThrow(RpmFormatError);
  });
});

async function members(payload: Buffer, options: Parameters<typeof readRpmCpio>[1] = {}, chunk = 7): Promise<Array<Omit<CpioMember, 'body'> & { data: string }>> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < payload.length; i += chunk) pieces.push(payload.subarray(i, i + chunk));
  const out: Array<Omit<CpioMember, 'body'> & { data: string }> = [];
  for await (const m of readRpmCpio(Readable.from(pieces), options)) {
    const parts: Buffer[] = [];
    for await (const c of m.body) parts.push(c);
    const { body: _body, ...rest } = m;
    out.push({ ...rest, data: Buffer.concat(parts).toString() });
  }
  return out;
}

describe('cpio payloads', () => {
  it('reads newc members in small chunks, bodies streamed', async () => {
    const payload = Buffer.concat([cpioMember({ name: './a', mode: 0o100644, data: 'hello' }), cpioMember({ name: './dir', mode: 0o40755 }), cpioTrailer()]);
    const read = await members(payload);
    expect(read.map((m) => [m.name, m.mode, m.size, m.data])).toEqual([
      ['./a', 0o100644, 5, 'hello'],
      ['./dir', 0o40755, 0, ''],
    ]);
  });

  it('reads stripped 07070X members with sizes from the header', async () => {
    const stripped = (fx: number, data: string): Buffer => {
      const head = Buffer.from(`07070X${fx.toString(16).padStart(8, '0')}\0\0`, 'latin1');
      const body = Buffer.from(data);
      return Buffer.concat([head, body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    };
    const payload = Buffer.concat([stripped(0, 'abc'), stripped(2, 'hello'), cpioTrailer()]);
    const sizes = [3, 99, 5];
    const read = await members(payload, { strippedSize: (fx) => sizes[fx] });
    expect(read.map((m) => [m.fileIndex, m.data])).toEqual([
      [0, 'abc'],
      [2, 'hello'],
    ]);
    await expect(members(payload, { strippedSize: () => undefined })).rejects.toThrow(/names file index 0, which the header does not list/);
  });

  it('refuses truncation, bad magic, garbage after the trailer, and stops at the limit before the data', async () => {
    const payload = Buffer.concat([cpioMember({ name: './a', mode: 0o100644, data: 'hello world' }), cpioTrailer()]);
    for (const cut of [3, 50, 116, 120, payload.length - 4]) {
      await expect(members(payload.subarray(0, cut)), `cut at ${cut}`).rejects.toThrow(/ends inside|ends without/);
    }
    await expect(members(Buffer.concat([Buffer.from('070702'), payload.subarray(6)]))).rejects.toThrow(/bad cpio magic "070702"/);
    await expect(members(Buffer.concat([payload, Buffer.from('junk')]))).rejects.toThrow(CpioFormatError);
    expect(await members(Buffer.concat([payload, Buffer.alloc(512)]))).toHaveLength(1);
    const limited = readRpmCpio(Readable.from([payload]), { maxBytes: 100 });
    await expect(limited.next()).rejects.toThrow(CpioSizeLimitError);
  });
});
