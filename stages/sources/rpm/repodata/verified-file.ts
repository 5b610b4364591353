// A metadata file checked against what the signed repomd.xml says of it. The compressed bytes
// are hashed (and their size counted) in one streaming pass before any decompressor or parser
// sees them: untrusted bytes never reach xz, zstd or the XML parser. The decompressed text is
// then handed to the caller chunk by chunk while its open-checksum is computed; the caller's
// results count only once that checksum matched at the end. Nothing is held whole in memory.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { DecompressError, decompressStream, DecompressLimitError } from '../../../../formats/decompress.js';
import type { RpmChecksum } from '../model.js';
import { RepodataChecksumError, RepodataFormatError } from './errors.js';

/** What repomd.xml says of one file (a `<data>` entry's digests). */
export interface ExpectedFile {
  checksum: RpmChecksum;
  size?: number;
  openChecksum?: RpmChecksum;
  openSize?: number;
}

/** The checksum types repomd.xml may use. md5 and sha1 cannot anchor trust and are refused. */
const HASH_ALGORITHMS: Record<string, string> = { sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

/** Default ceiling on a decompressed metadata file (EL AppStream's primary.xml is ~60 MB). */
export const DEFAULT_MAX_UNPACKED_BYTES = 1 << 30;

export function newHash(checksum: RpmChecksum, file: string, which = 'checksum'): Hash {
  const algorithm = HASH_ALGORITHMS[checksum.type.toLowerCase()];
  if (!algorithm) {
    throw new RepodataFormatError(`${file}: ${which} type '${checksum.type}' is not accepted (sha224, sha256, sha384 or sha512: md5 and sha1 cannot protect the metadata)`);
  }
  return createHash(algorithm);
}

function compareDigest(hash: Hash, expected: RpmChecksum, file: string, which: 'checksum' | 'open-checksum'): void {
  const got = hash.digest('hex');
  if (got !== expected.hex.toLowerCase()) throw new RepodataChecksumError(file, which, `${expected.type}:${expected.hex}`, `${expected.type}:${got}`);
}

/** Hashes the file at `path` (streamed) and checks its size and checksum. `file` names it in errors. */
export async function verifyCompressedFile(path: string, expected: ExpectedFile, file: string, signal?: AbortSignal): Promise<void> {
  const hash = newHash(expected.checksum, file);
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    hash.update(chunk);
  }
  if (expected.size !== undefined && size !== expected.size) {
    const hint = size < expected.size ? ' (truncated?)' : '';
    throw new RepodataChecksumError(file, 'size', `${expected.size} bytes`, `${size} bytes${hint}`);
  }
  compareDigest(hash, expected.checksum, file, 'checksum');
}

export interface VerifiedTextOptions {
  /** Refuse a file that decompresses to more than this. Default DEFAULT_MAX_UNPACKED_BYTES. */
  maxUnpackedBytes?: number;
  signal?: AbortSignal;
}

/**
 * Verifies the compressed file, then decompresses it (gzip, xz, zstd or plain, by magic) and
 * hands its UTF-8 text to `sink`. A sink that throws stops receiving text, but the rest is still
 * hashed: a tampered file is reported as a checksum mismatch rather than as whatever parse error
 * the tampering caused. Throws RepodataChecksumError, RepodataFormatError, DecompressError or the
 * sink's error, in that order of preference.
 */
export async function streamVerifiedText(
  path: string,
  expected: ExpectedFile,
  file: string,
  sink: (text: string) => void,
  options: VerifiedTextOptions = {},
): Promise<void> {
  const unsupported = /\.(zck|bz2|lzma)$/.exec(file);
  if (unsupported) throw new RepodataFormatError(`${file}: .${unsupported[1]} compression is not supported (gzip, xz, zstd or none)`);
  await verifyCompressedFile(path, expected, file, options.signal);
  const ceiling = options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  if (expected.openSize !== undefined && expected.openSize > ceiling) {
    throw new RepodataFormatError(`${file}: repomd.xml says it decompresses to ${expected.openSize} bytes, more than the ${ceiling} allowed`);
  }
  // A declared open-size is the exact bound: one byte more is already a mismatch.
  const maxBytes = expected.openSize !== undefined ? expected.openSize : ceiling;
  const openHash = expected.openChecksum ? newHash(expected.openChecksum, file, 'open-checksum') : undefined;
  const decoder = new StringDecoder('utf8');
  let sinkError: unknown;
  let openSize = 0;
  const feed = (text: string): void => {
    if (sinkError !== undefined || text.length === 0) return;
    try {
      sink(text);
    } catch (err) {
      sinkError = err;
    }
  };
  try {
    for await (const chunk of decompressStream(createReadStream(path, { highWaterMark: 256 << 10 }), 'auto', { maxBytes, subject: file, signal: options.signal }) as AsyncIterable<Buffer>) {
      openSize += chunk.length;
      openHash?.update(chunk);
      feed(decoder.write(chunk));
    }
  } catch (err) {
    if (err instanceof DecompressLimitError && expected.openSize !== undefined) {
      throw new RepodataChecksumError(file, 'open-size', `${expected.openSize} bytes`, `more than ${expected.openSize} bytes`);
    }
    // decompressStream can let zlib's own error through unnamed ('unexpected end of file').
    if (err instanceof Error && err.name !== 'AbortError' && !err.message.startsWith(file)) throw new DecompressError(`${file}: ${err.message}`);
    throw err;
  }
  feed(decoder.end());
  if (openHash) compareDigest(openHash, expected.openChecksum!, file, 'open-checksum');
  if (expected.openSize !== undefined && openSize !== expected.openSize) {
    throw new RepodataChecksumError(file, 'open-size', `${expected.openSize} bytes`, `${openSize} bytes`);
  }
  if (sinkError !== undefined) throw sinkError;
}
