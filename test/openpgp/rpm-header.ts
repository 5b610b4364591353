// Just enough of the RPM file format to pull the OpenPGP header signatures out of rpm's own test
// packages and the bytes they cover (the main header, from its magic to the end of its store),
// so the verifier is tested on signatures rpm itself was tested on.
import { readFile } from 'node:fs/promises';

const LEAD_SIZE = 96;
const TYPE_BIN = 7;
const TYPE_STRING_ARRAY = 8;

export interface RpmSignatures {
  /** Signature-header entries by tag: binary values as bytes, string arrays as strings. */
  tags: Map<number, Buffer | string[]>;
  /** The immutable main header, as header-only signatures (tags 267, 268) sign it. */
  header: Buffer;
}

export async function readRpmSignatures(path: string): Promise<RpmSignatures> {
  const file = await readFile(path);
  const sig = parseHeader(file, LEAD_SIZE);
  const mainStart = LEAD_SIZE + ((sig.length + 7) & ~7);
  const main = parseHeader(file, mainStart);
  return { tags: sig.tags, header: file.subarray(mainStart, mainStart + main.length) };
}

function parseHeader(file: Buffer, start: number): { tags: Map<number, Buffer | string[]>; length: number } {
  if (file.readUInt32BE(start) !== 0x8eade801) throw new Error(`no RPM header magic at offset ${start}`);
  const count = file.readUInt32BE(start + 8);
  const storeSize = file.readUInt32BE(start + 12);
  const store = start + 16 + count * 16;
  const tags = new Map<number, Buffer | string[]>();
  for (let i = 0; i < count; i++) {
    const e = start + 16 + i * 16;
    const [tag, type, offset, n] = [file.readUInt32BE(e), file.readUInt32BE(e + 4), file.readUInt32BE(e + 8), file.readUInt32BE(e + 12)];
    if (type === TYPE_BIN) tags.set(tag, file.subarray(store + offset, store + offset + n));
    if (type === TYPE_STRING_ARRAY) {
      const strings: string[] = [];
      let p = store + offset;
      for (let j = 0; j < n; j++) {
        const end = file.indexOf(0, p);
        strings.push(file.subarray(p, end).toString('latin1'));
        p = end + 1;
      }
      tags.set(tag, strings);
    }
  }
  return { tags, length: 16 + count * 16 + storeSize };
}
