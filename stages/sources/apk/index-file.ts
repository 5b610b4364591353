// An APKINDEX.tar.gz, verified: a signature member (a cut tar of `.SIGN.*` entries) followed by
// the index proper (a tar holding DESCRIPTION and APKINDEX). The signature covers the bytes from
// the 2nd gzip member to EOF. An unsigned or wrongly signed index is refused: the index is what
// every package's `C:` checksum is checked against, so it is the root of trust for a repository.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GzipFormatError, splitGzipMembers } from '../../../formats/gzip-members.js';
import { readBody, readTar, TarFormatError } from '../../../formats/tar.js';
import type { NodeSpec } from '../../../graph/node.js';
import { loadTrustedKeys, readSignatureSegment, verifyApkSignatures, type SignatureScheme, type TrustedKeys } from './trust.js';

export interface ApkIndexFile {
  /** The APKINDEX text (the other engineer's apkindex.ts parses it). */
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

/**
 * Verifies and reads an APKINDEX.tar.gz held in memory. `source` (URL or path) names the file
 * in every error. Throws MissingSignatureError, UnknownSigningKeyError or BadSignatureError
 * (from trust.ts) when the signature is absent, by an untrusted key, or wrong.
 */
export async function readApkIndexFile(bytes: Buffer, keys: TrustedKeys, source: string): Promise<ApkIndexFile> {
  let members;
  try {
    members = splitGzipMembers(bytes, source);
  } catch (err) {
    if (err instanceof GzipFormatError) throw new ApkIndexFormatError(`${err.message}: not a complete APKINDEX.tar.gz`);
    throw err;
  }
  const signatures = await readSignatureSegment(members[0].data, source).catch((err: unknown) => {
    throw wrapTar(err, source);
  });
  // An unsigned index is one tar member (DESCRIPTION + APKINDEX): no signature entries, no 2nd member.
  const signed = members.length > 1 ? bytes.subarray(members[1].start) : Buffer.alloc(0);
  const signature = verifyApkSignatures(keys, signatures, signed, source);

  const content = Buffer.concat(members.slice(1).map((member) => member.data));
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
export async function readApkIndexPath(path: string, keys: TrustedKeys, source = path): Promise<ApkIndexFile> {
  return readApkIndexFile(await readFile(path), keys, source);
}

function wrapTar(err: unknown, source: string): unknown {
  if (err instanceof TarFormatError) return new ApkIndexFormatError(`${source}: ${err.message}`);
  return err;
}

export interface ApkIndexNodeOptions {
  /** Node id, e.g. `apkindex:alpine-main@v3.23`. */
  id: string;
  /** Node that downloaded the index; its output holds `fileName`. */
  fetchNode: string;
  /** File name inside the fetch node's output. Default `APKINDEX.tar.gz`. */
  fileName?: string;
  /** Project-relative directory of trusted `*.rsa.pub` keys (e.g. `variants/keys/demo`). */
  keysDir: string;
  /** URL or label used in error messages. */
  source: string;
}

/**
 * Node factory: verifies a downloaded index and writes `APKINDEX`, `DESCRIPTION` and
 * `signature.json` (which key signed it) into its output.
 */
export function apkIndexNode(options: ApkIndexNodeOptions): NodeSpec {
  const fileName = options.fileName ?? 'APKINDEX.tar.gz';
  return {
    id: options.id,
    kind: 'apk-index',
    version: 1,
    deps: { download: options.fetchNode },
    files: [options.keysDir],
    params: { fileName, source: options.source },
    description: `verify the signed APKINDEX from ${options.source}`,
    async run(ctx) {
      const keys = await loadTrustedKeys(ctx.file(options.keysDir));
      const index = await readApkIndexPath(join(ctx.dep('download'), fileName), keys, options.source);
      await writeFile(join(ctx.out, 'APKINDEX'), index.text);
      await writeFile(join(ctx.out, 'DESCRIPTION'), `${index.description}\n`);
      await writeFile(join(ctx.out, 'signature.json'), `${JSON.stringify(index.signedBy)}\n`);
    },
  };
}
