// The Secure Boot negative test's input: an image (ISO or disk) in which one byte of a signed
// UKI's .cmdline section is changed after signing, wherever that UKI is stored in the image.
import { open, copyFile, readFile } from 'node:fs/promises';
import { readPeHeaders } from '../formats/pe.js';

export class TamperError extends Error {
  override name = 'TamperError';
}

export interface TamperResult {
  /** Image offsets of the changed bytes (one per copy of the UKI found). */
  offsets: number[];
}

const SECTOR = 512;
const CHUNK = 16 << 20;

/**
 * Copies `image` to `out`, flipping the first byte of the UKI's .cmdline in every copy of the
 * UKI inside it. A copy is recognised by the section's first sector of raw data at a 512-byte
 * boundary: PE raw data is FileAlignment-aligned and FAT clusters and ISO extents are whole
 * sectors, so a stored UKI's sectors keep that alignment (and text files quoting the command
 * line do not).
 */
export async function tamperUkiCmdline(image: string, signedUki: string, out: string): Promise<TamperResult> {
  const headers = await readPeHeaders(signedUki);
  const section = headers.sections.find((s) => s.name === '.cmdline');
  if (!section || section.sizeOfRawData === 0) throw new TamperError(`${signedUki} has no .cmdline section to tamper with`);
  if (headers.certTable.size === 0) throw new TamperError(`${signedUki} is not signed: tampering proves nothing`);
  if (section.pointerToRawData % SECTOR !== 0) {
    throw new TamperError(`${signedUki}: .cmdline raw data at ${section.pointerToRawData} is not 512-byte aligned`);
  }
  const uki = await readFile(signedUki);
  const needle = uki.subarray(section.pointerToRawData, section.pointerToRawData + Math.min(section.sizeOfRawData, SECTOR));
  const offsets = await findAligned(image, needle);
  if (offsets.length === 0) {
    throw new TamperError(
      `the .cmdline of ${signedUki} is not stored in ${image}: pass the UKI that is on this image (as signed), not a rebuilt one`,
    );
  }
  await copyFile(image, out);
  await xorBytes(out, offsets, 0x01);
  return { offsets };
}

/** Changes a file in place: each byte at `offsets` XOR `mask`. */
export async function xorBytes(path: string, offsets: readonly number[], mask: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    for (const offset of offsets) {
      await handle.read(byte, 0, 1, offset);
      byte[0] ^= mask;
      await handle.write(byte, 0, 1, offset);
    }
  } finally {
    await handle.close();
  }
}

async function findAligned(file: string, needle: Buffer): Promise<number[]> {
  const handle = await open(file, 'r');
  const offsets: number[] = [];
  try {
    const buffer = Buffer.alloc(CHUNK + needle.length);
    for (let position = 0; ; position += CHUNK) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead < needle.length) break;
      const view = buffer.subarray(0, bytesRead);
      for (let at = view.indexOf(needle); at >= 0 && at < CHUNK; at = view.indexOf(needle, at + 1)) {
        if ((position + at) % SECTOR === 0) offsets.push(position + at);
      }
      if (bytesRead < buffer.length) break;
    }
  } finally {
    await handle.close();
  }
  return offsets;
}
