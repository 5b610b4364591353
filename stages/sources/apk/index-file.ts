// An APKINDEX.tar.gz, verified: a signature member (a cut tar of `.SIGN.*` entries) followed by
// the index proper (a tar holding DESCRIPTION and APKINDEX). The signature covers the bytes from
// the 2nd gzip member to EOF. An unsigned or wrongly signed index is refused: the index is what
// every package's `C:` checksum is checked against, so it is the root of trust for a repository.
// The signature is checked before anything else is unpacked, and what is unpacked is bounded
// (unpack-limits.ts): a mirror cannot make us inflate a gzip bomb, signed or not.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  decodeGzipMember,
  GzipFormatError,
  GzipSizeLimitError,
  GzipTruncatedError,
  splitGzipMembers,
  type DecodedGzipMember,
} from '../../../formats/gzip-members.js';
import { readBody, readTar, TarFormatError } from '../../../formats/tar.js';
import type { NodeSpec } from '../../../graph/node.js';
import { download, joinLocation } from '../download.js';
import {
  BadSignatureError,
  loadTrustedKeys,
  readSignatureSegment,
  verifyApkSignatures,
  type ApkSignature,
  type SignatureScheme,
  type TrustedKeys,
} from './trust.js';
import { CEILING_KEY, DEFAULT_MAX_UNPACKED_BYTES, HEAD_MAX_UNPACKED_BYTES, INDEX_MAX_UNPACKED_BYTES } from './unpack-limits.js';
import type { StageKind } from '../../kind.js';

export interface ApkIndexFile {
  /** The APKINDEX text (stages/sources/apk/apkindex.ts parses it). */
  text: string;
  /** The DESCRIPTION entry (`v3.16.3-13-g4d933a1fa3`), '' if absent. */
  description: string;
  /** The key and scheme whose signature verified. */
  signedBy: { keyName: string; scheme: SignatureScheme };
}

/** The bytes are not a well-formed APKINDEX.tar.gz (signature problems throw trust errors instead). */
export class ApkIndexFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApkIndexFormatError';
  }
}

export interface ApkIndexReadOptions {
  /** The variant's ceiling: the index is held to the lower of it and INDEX_MAX_UNPACKED_BYTES. */
  maxUnpackedBytes?: number;
}

/**
 * Verifies and reads an APKINDEX.tar.gz held in memory. `source` (URL or path) names the file
 * in every error. Throws MissingSignatureError, UnknownSigningKeyError or BadSignatureError
 * (from trust.ts) when the signature is absent, by an untrusted key, or wrong.
 */
export async function readApkIndexFile(
  bytes: Buffer,
  keys: TrustedKeys,
  source: string,
  options: ApkIndexReadOptions = {},
): Promise<ApkIndexFile> {
  const limit = Math.min(options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES, INDEX_MAX_UNPACKED_BYTES);
  const formatError = (err: GzipFormatError) => new ApkIndexFormatError(`${err.message}: not a complete APKINDEX.tar.gz`);
  if (bytes.length === 0) throw new ApkIndexFormatError(`${source}: empty file, expected an APKINDEX.tar.gz`);

  // The signature segment, and nothing more, before the signature is checked.
  let first: DecodedGzipMember | undefined;
  try {
    first = decodeGzipMember(bytes, 0, source, HEAD_MAX_UNPACKED_BYTES);
  } catch (err) {
    if (err instanceof GzipFormatError) throw formatError(err);
    // Far larger than any signature segment: an unsigned index (or not an index at all).
    if (!(err instanceof GzipSizeLimitError)) throw err;
  }
  let signatures: ApkSignature[] = [];
  if (first) {
    signatures = await readSignatureSegment(first.data, source).catch((err: unknown) => {
      throw wrapTar(err, source);
    });
  }
  // An unsigned index is one tar member (DESCRIPTION + APKINDEX): no signature entries, no 2nd member.
  const signed = first && first.end < bytes.length ? bytes.subarray(first.end) : Buffer.alloc(0);
  let signature: ApkSignature;
  try {
    signature = verifyApkSignatures(keys, signatures, signed, source);
  } catch (err) {
    if (err instanceof BadSignatureError && first) throwIfTruncated(bytes, first.end, source);
    throw err;
  }

  // Verified, so the first member was a signature segment: the index proper follows it.
  const from = first!.end;
  let members: DecodedGzipMember[];
  try {
    members = splitGzipMembers(bytes, source, limit, from);
  } catch (err) {
    if (err instanceof GzipSizeLimitError) {
      const raise = limit < INDEX_MAX_UNPACKED_BYTES
        ? `raise ${CEILING_KEY} in the variant if this index is really that large`
        : `an APKINDEX.tar.gz may unpack to ${INDEX_MAX_UNPACKED_BYTES} bytes at most`;
      throw new ApkIndexFormatError(`${err.message}; ${raise}`);
    }
    if (err instanceof GzipFormatError) throw formatError(err);
    throw err;
  }
  const content = Buffer.concat(members.map((member) => member.data));
  let text: string | undefined;
  let description = '';
  try {
    for await (const entry of readTar(content, { label: `${source} index` })) {
      if (entry.type !== 'file') continue;
      if (entry.path === 'APKINDEX') text = (await readBody(entry, 512 << 20)).toString('utf8');
      else if (entry.path === 'DESCRIPTION') description = (await readBody(entry, 64 << 10)).toString('utf8').trim();
    }
  } catch (err) {
    throw wrapTar(err, source);
  }
  if (text === undefined) throw new ApkIndexFormatError(`${source}: the signed archive has no APKINDEX entry`);
  return { text, description, signedBy: { keyName: signature.keyName, scheme: signature.scheme } };
}

/** Reads and verifies an APKINDEX.tar.gz file. */
export async function readApkIndexPath(
  path: string,
  keys: TrustedKeys,
  source = path,
  options: ApkIndexReadOptions = {},
): Promise<ApkIndexFile> {
  return readApkIndexFile(await readFile(path), keys, source, options);
}

/**
 * A signature that does not match is most often a file cut short (a file mirror copied while
 * being written): say so when the members end early. Looks at a bounded head only, since the
 * bytes are untrusted.
 */
function throwIfTruncated(bytes: Buffer, from: number, source: string): void {
  try {
    splitGzipMembers(bytes, source, HEAD_MAX_UNPACKED_BYTES, from);
  } catch (err) {
    if (err instanceof GzipTruncatedError) throw new ApkIndexFormatError(`${err.message}: not a complete APKINDEX.tar.gz`);
  }
}

function wrapTar(err: unknown, source: string): unknown {
  if (err instanceof TarFormatError) return new ApkIndexFormatError(`${source}: ${err.message}`);
  return err;
}

export interface ApkIndexNodeOptions {
  /** Repository name (`main`); the node id is `apk-index:<repository>` unless `id` is given. */
  repository: string;
  /**
   * Repository location: a URL (`http://<alpine-mirror>/alpine/v3.23/main/x86_64`), a file URL or a
   * project-relative path. Not part of the key: a mirror change costs no rebuild, the bytes decide.
   */
  url: string;
  /** Project-relative directory of trusted `*.rsa.pub` keys (e.g. `variants/keys/demo`). */
  keysDir: string;
  id?: string;
  /** Largest index accepted. Default 256 MiB. */
  maxBytes?: number;
  /** The most the index may unpack to (the variant's `alpine.max_unpacked_size`, capped at INDEX_MAX_UNPACKED_BYTES). */
  maxUnpackedBytes?: number;
}

/** A repository's APKINDEX, downloaded and its signature verified (runs on every build). */
export const APK_INDEX_STAGE: StageKind = {
  kind: 'apk-index',
  // 2: the signature is checked before the index is unpacked, and what it unpacks to is bounded.
  version: 2,
  summary: 'Alpine package indexes',
  tools: [],
};

/**
 * Node factory: downloads `<url>/APKINDEX.tar.gz` on every build, verifies its signature and
 * writes `APKINDEX` (the text), `DESCRIPTION` and `signature.json` (which key signed it). A moved
 * mirror index reruns this node; early cutoff keeps dependents cached while the text is unchanged.
 */
export function apkIndexNode(options: ApkIndexNodeOptions): NodeSpec {
  const maxUnpackedBytes = options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  return {
    id: options.id ?? `apk-index:${options.repository}`,
    kind: APK_INDEX_STAGE.kind,
    version: APK_INDEX_STAGE.version,
    alwaysRun: true,
    files: [options.keysDir],
    params: { repository: options.repository, maxBytes: options.maxBytes ?? 256 << 20, maxUnpackedBytes },
    unkeyed: { url: options.url },
    description: `download and verify the APKINDEX of ${options.repository}`,
    async run(ctx) {
      const { url } = ctx.unkeyed as { url: string };
      const location = joinLocation(url, 'APKINDEX.tar.gz');
      const file = join(ctx.tmp, 'APKINDEX.tar.gz');
      await download(location, file, {
        maxBytes: options.maxBytes ?? 256 << 20,
        signal: ctx.signal,
        baseDir: ctx.root,
        log: (line) => ctx.log(line),
      });
      const keys = await loadTrustedKeys(ctx.file(options.keysDir), options.keysDir);
      const index = await readApkIndexPath(file, keys, location, { maxUnpackedBytes });
      await writeFile(join(ctx.out, 'APKINDEX'), index.text);
      await writeFile(join(ctx.out, 'DESCRIPTION'), `${index.description}\n`);
      await writeFile(join(ctx.out, 'signature.json'), `${JSON.stringify(index.signedBy)}\n`);
      ctx.log(`${location}: signed by ${index.signedBy.keyName} (${index.description})`);
    },
  };
}
