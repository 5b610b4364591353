// One downloaded RPM package: verified, then unpacked natively (no rpm, no rpm2cpio, no cpio, no root).
//
// An .rpm is a 96-byte lead, a signature header (padded to 8 bytes), the main header and the
// compressed cpio payload (formats/rpm). Trust flows: the repository's signed metadata gives the
// file's size and SHA-256 (checked by the fetch node); the signature header carries OpenPGP
// signatures over the main header (package-signatures.ts: at least one by a trusted key); the
// main header carries the payload digest (5092) and every file's digest (FILEDIGESTS).
//
// Digest policy: the SHA-256 header digest (273) and the payload digest (5092) are required; rpm
// has written both since 4.14 (2017), EL8 on. Older packages (hello-1.0, obsolete-foo in rpm's
// tests) have only SHA-1 (269) and MD5 (1004) digests and are refused ('digest-missing') unless
// the caller passes allowLegacyDigests, which checks 269 and 1004 instead. The payload digest is
// checked over the whole file before any of the payload is unpacked, and again while streaming.
//
// Output directory:
//   root/           the file tree: files, dirs, symlinks, hardlinks. Devices and fifos are only in
//                   the manifest; owners, setuid bits and capabilities too (nothing is chowned,
//                   modes on disk are `mode & 0o777` plus owner rw for files, owner rwx for dirs).
//   manifest.json   the tree manifest (stages/shared/manifest.ts): the truth about every path,
//                   from the header. %ghost files are not in it (rpm does not create them).
//   scripts/        each scriptlet present (prein, postin, ..., trigger-<n>), its body as is.
//   rpminfo.json    identity, ghosts, config files, scriptlets with their interpreters, triggers,
//                   provides, requires, the signatures found.
// Hostile input is rejected with an RpmPackageError naming the package and entry; nothing is ever
// written outside the output directory, and on error root/ is removed: nothing is kept.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { DecompressError, DecompressLimitError, decompressStream, type Compression } from '../../../formats/decompress.js';
import type { PgpKeyring } from '../../../formats/openpgp/index.js';
import { keyParams, loadTrustedKeys, type TrustedKeyFile } from './trust.js';
import { CpioFormatError, CpioSizeLimitError, readRpmCpio } from '../../../formats/rpm/cpio-reader.js';
import { isConfig, isGhost, readFileList, S_IFLNK, S_IFMT, S_IFREG, type RpmFileList } from '../../../formats/rpm/files.js';
import { readRpmHead, type RpmHead } from '../../../formats/rpm/header.js';
import { RpmFormatError } from '../../../formats/rpm/lead.js';
import { DIGEST_ALGORITHMS, SigTag, Tag } from '../../../formats/rpm/tags.js';
import type { NodeSpec } from '../../../graph/node.js';
import type { StageKind } from '../../kind.js';
import { writeManifest, type TreeManifest } from '../../shared/manifest.js';
import { download, joinLocation } from '../download.js';
import type { Evr, RpmDep } from './model.js';
import { rejecter, RpmPackageError, type Reject } from './package-errors.js';
import { depString, evrString, nevra, readDeps, readIdentity, readScriptlets, type RpmIdentity, type RpmTrigger } from './package-info.js';
import { checkSignatures, type RpmSignatureInfo } from './package-signatures.js';
import { RpmTreeWriter } from './package-tree.js';
import { CEILING_KEY, DEFAULT_MAX_UNPACKED_BYTES, payloadLimit } from './unpack-limits.js';

export { RpmPackageError, type RpmRejectReason } from './package-errors.js';

/** What the repository says about the package (all optional but the identity). */
export interface RpmExpectation {
  name: string;
  evr: Evr;
  arch: string;
  /** Bytes of the .rpm file (`<size package>`). */
  size?: number;
  /** SHA-256 (hex) of the .rpm file (the `pkgid` checksum). */
  sha256?: string;
}

export interface RpmVerifyOptions {
  rpmPath: string;
  /** The package the caller asked for; the header must name it. */
  expected?: RpmExpectation;
  /** Trusted keys. Required unless allowUnsigned. */
  keyring?: PgpKeyring;
  /** Accept a package without a trusted header signature (tests, inspection). Signatures present are still checked when a keyring is given. */
  allowUnsigned?: boolean;
  /** Accept packages without 273/5092 by checking their SHA-1 header and MD5 header+payload digests. */
  allowLegacyDigests?: boolean;
  /**
   * `rpmPath` holds the package's head only (lead and headers, see rpmHeadLength): the checks
   * that need the payload or the file's size are left to the fetch node.
   */
  headOnly?: boolean;
}

export interface UnpackRpmOptions extends RpmVerifyOptions {
  /** Fresh, empty directory that receives root/, manifest.json, scripts/, rpminfo.json. */
  outDir: string;
  /** The most the package may unpack to (the variant's ceiling). Default DEFAULT_MAX_UNPACKED_BYTES. */
  maxUnpackedBytes?: number;
  signal?: AbortSignal;
}

export interface RpmScriptletInfo {
  name: string;
  interpreter: string;
  args?: string[];
  sha256: string;
  bytes: number;
}

/** rpminfo.json. */
export interface RpmInfo extends RpmIdentity {
  license: string;
  summary: string;
  sourceRpm: string;
  payloadCompressor: string;
  /** Declared installed size (LONGSIZE or SIZE). */
  installedSize: number;
  ghosts: string[];
  configFiles: string[];
  scriptlets: RpmScriptletInfo[];
  triggers: RpmTrigger[];
  provides: string[];
  requires: string[];
  conflicts: string[];
  obsoletes: string[];
  signatures: Array<Omit<RpmSignatureInfo, 'packet'>>;
}

export interface VerifiedRpmHead {
  head: RpmHead;
  identity: RpmIdentity;
  /** `name-evr.arch`. */
  nevra: string;
  fileList: RpmFileList;
  signatures: RpmSignatureInfo[];
  /** Fingerprint of the key whose header signature verified (undefined when unsigned was allowed). */
  signedBy?: string;
}

export interface UnpackRpmResult {
  info: RpmInfo;
  manifest: TreeManifest;
  signedBy?: string;
  stats: { entries: number; files: number; bytes: number; compressedBytes: number; payloadBytes: number };
}

const COMPRESSORS: Record<string, Compression> = { gzip: 'gzip', xz: 'xz', lzma: 'xz', zstd: 'zstd' };

/** A failure message says the file ended early. */
function isTruncation(message: string): boolean {
  return /truncated|ends inside|ends without|unexpected end/i.test(message);
}

function label(options: RpmVerifyOptions): string {
  const e = options.expected;
  return e ? `${e.name}-${evrString(e.evr)}.${e.arch}` : basename(options.rpmPath);
}

/**
 * Everything that needs no unpacking: lead, headers, identity, header digests, declared sizes,
 * signatures, digest policy. The fetch node runs it before a download enters the cache.
 */
export async function verifyRpmHead(options: RpmVerifyOptions): Promise<VerifiedRpmHead> {
  let reject = rejecter(label(options));
  if (!options.keyring && !options.allowUnsigned) throw new Error(`${label(options)}: no trusted keys given (pass keyring, or allowUnsigned)`);
  let head: RpmHead;
  try {
    head = await readRpmHead(options.rpmPath, { label: 'package' });
  } catch (err) {
    if (err instanceof RpmFormatError) {
      const message = err.message.replace(/^package: /, '');
      return reject(isTruncation(message) ? 'truncated' : 'format', message, undefined, err);
    }
    throw err;
  }
  const { signature, header } = head;
  const identity = readIdentity(header);
  const name = nevra(identity);
  const expected = options.expected;
  if (expected) {
    const asked = `${expected.name}-${evrString(expected.evr)}.${expected.arch}`;
    if (name !== asked) reject('identity', `the header names ${name}, not the package asked for`);
    if (!options.headOnly && expected.size !== undefined && head.fileSize !== expected.size) {
      reject(head.fileSize < expected.size ? 'truncated' : 'size', `file has ${head.fileSize} bytes, the repository says ${expected.size}`);
    }
  } else {
    reject = rejecter(name);
  }

  // Header digests: 273 (SHA-256) required; 269 (SHA-1) checked when present.
  const sha256 = signature.string(SigTag.SHA256);
  const sha1 = signature.string(SigTag.SHA1);
  if (sha256 === undefined && !options.allowLegacyDigests) {
    reject('digest-missing', 'no SHA-256 header digest (signature tag 273): built by rpm < 4.14, refused (allowLegacyDigests accepts its SHA-1/MD5 digests)');
  }
  const check = (algorithm: string, declared: string | undefined, tag: number): void => {
    if (declared === undefined) return;
    const actual = createHash(algorithm).update(header.bytes).digest('hex');
    if (actual !== declared.toLowerCase()) reject('header-digest', `main header ${algorithm} ${actual} differs from signature tag ${tag}'s ${declared}`);
  };
  check('sha256', sha256, SigTag.SHA256);
  check('sha1', sha1, SigTag.SHA1);
  if (sha256 === undefined && sha1 === undefined) reject('digest-missing', 'no header digest at all (signature tags 273, 269)');

  // Declared sizes of header + payload.
  const headerAndPayload = head.fileSize - head.headerOffset;
  for (const tag of options.headOnly ? [] : [SigTag.SIZE, SigTag.LONGSIZE]) {
    const declared = signature.int(tag);
    if (declared !== undefined && declared !== headerAndPayload) {
      reject(
        headerAndPayload < declared ? 'truncated' : 'size',
        `header and payload are ${headerAndPayload} bytes, signature tag ${tag} declares ${declared}${headerAndPayload < declared ? ': truncated' : ''}`,
      );
    }
  }

  // The payload digest must exist (checked when unpacking).
  if (!header.has(Tag.PAYLOADDIGEST)) {
    if (!options.allowLegacyDigests) reject('digest-missing', 'no payload digest (tag 5092): built by rpm < 4.14, refused (allowLegacyDigests accepts its MD5 digest)');
    if (!signature.has(SigTag.MD5)) reject('digest-missing', 'neither a payload digest (tag 5092) nor an MD5 digest (signature tag 1004)');
  }

  const { signatures, failure } = checkSignatures(signature, header, options.keyring);
  if (failure) reject(failure.reason, failure.message);
  const signedBy = signatures.find((s) => s.status === 'verified')?.signer;

  let fileList: RpmFileList;
  try {
    fileList = readFileList(header, 'package');
  } catch (err) {
    if (err instanceof RpmFormatError) return reject('format', err.message.replace(/^package: /, ''), undefined, err);
    throw err;
  }
  return { head, identity, nevra: name, fileList, signatures, signedBy };
}

/** Verifies the package, then unpacks it into `outDir`. See the file header for the layout. */
export async function unpackRpm(options: UnpackRpmOptions): Promise<UnpackRpmResult> {
  const verified = await verifyRpmHead(options);
  const reject = rejecter(verified.nevra);
  try {
    return await unpackVerified(options, verified, reject);
  } catch (err) {
    // Nothing of a refused package is kept.
    for (const name of ['root', 'scripts', 'manifest.json', 'rpminfo.json']) await rm(join(options.outDir, name), { recursive: true, force: true });
    throw err;
  }
}

async function unpackVerified(options: UnpackRpmOptions, verified: VerifiedRpmHead, reject: Reject): Promise<UnpackRpmResult> {
  const { head, identity, fileList } = verified;
  const { header, signature } = head;
  const format = header.string(Tag.PAYLOADFORMAT) ?? 'cpio';
  if (format !== 'cpio') reject('format', `payload format ${JSON.stringify(format)}, expected cpio`);
  const compressorName = header.string(Tag.PAYLOADCOMPRESSOR);
  // Without the tag rpm reads the payload as gzip, which passes plain data through: sniff it.
  const compression: Compression | 'auto' = compressorName === undefined ? 'auto' : COMPRESSORS[compressorName];
  if (compression === undefined) reject('format', `payload compressor ${JSON.stringify(compressorName)} is not supported (gzip, xz, lzma, zstd)`);

  // Bounds: the declared installed size, the header's own file sizes, the ceiling.
  const ceiling = options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  const declared = header.int(Tag.LONGSIZE) ?? header.int(Tag.SIZE);
  const tooLarge = (what: string): never =>
    reject('unpacked-size', `${what}, more than the ${ceiling} bytes a package may unpack to (${CEILING_KEY} in the variant): raise it if this package is really that large`);
  if (declared !== undefined && declared > ceiling) tooLarge(`the header declares an installed size of ${declared} bytes`);
  const exact = signature.int(SigTag.LONGARCHIVESIZE) ?? signature.int(SigTag.PAYLOADSIZE);
  const limit = payloadLimit(declared, exact, ceiling);
  const members = fileList.files.filter((f) => !isGhost(f)).length;
  const counted = new Set<string>();
  let dataBytes = 0;
  for (const file of fileList.files) {
    if (isGhost(file)) continue;
    const type = file.mode & S_IFMT;
    if (type === S_IFLNK) dataBytes += file.linkTo.length;
    if (type !== S_IFREG) continue;
    const key = `${file.device}:${file.inode}`;
    if (counted.has(key) && file.inode !== 0) continue;
    counted.add(key);
    dataBytes += file.size;
  }
  if (dataBytes > limit(members)) {
    if (limit(members) >= ceiling) tooLarge(`its files hold ${dataBytes} bytes`);
    reject(
      'unpacked-size',
      `its files hold ${dataBytes} bytes, past what its declared installed size of ${declared} bytes allows (SIZE): refusing a possible decompression bomb`,
    );
  }

  const payloadBytes = head.fileSize - head.payloadOffset;
  const digestCheck = payloadDigest(header, signature, reject);
  // Verified over the whole file first: no byte of a payload that does not match is unpacked.
  const before = await hashFile(options.rpmPath, head, digestCheck);
  if (before !== digestCheck.expected) digestCheck.mismatch(before);

  const rootDir = join(options.outDir, 'root');
  await mkdir(rootDir, { mode: 0o755 });
  const tree = new RpmTreeWriter(rootDir, fileList.files, fileList.digestAlgorithm, reject);
  await tree.createSkeleton();

  const streamed = createHash(digestCheck.algorithm);
  if (digestCheck.seed) streamed.update(digestCheck.seed);
  const uncompressedAlgo = header.int(Tag.PAYLOADDIGESTALGO) ?? 8;
  const uncompressedDigest = header.strings(Tag.PAYLOADDIGESTALT)?.[0];
  const plainHash = uncompressedDigest ? createHash(DIGEST_ALGORITHMS[uncompressedAlgo] ?? 'sha256') : undefined;
  let plainBytes = 0;
  const file = createReadStream(options.rpmPath, { start: head.payloadOffset, highWaterMark: 1 << 20 });
  const compressed = file.pipe(tap((chunk) => streamed.update(chunk)));
  const maxPlain = limit(members + 1);
  const decompressed = decompressStream(compressed, compression!, { maxBytes: maxPlain, subject: `${verified.nevra} payload`, signal: options.signal });
  const plain = decompressed.pipe(
    tap((chunk) => {
      plainBytes += chunk.length;
      plainHash?.update(chunk);
    }),
  );
  // pipe() does not pass errors on: a failing read or decompression must end the reader below
  // with its error, not leave it waiting (and the error unhandled).
  file.on('error', (err) => compressed.destroy(err));
  decompressed.on('error', (err) => plain.destroy(err));
  const strippedSize = (index: number): number | undefined => tree.strippedSize(index);
  try {
    for await (const member of readRpmCpio(plain as AsyncIterable<Buffer>, { label: 'payload', maxBytes: limit, strippedSize })) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      await tree.add(member);
    }
  } catch (err) {
    if (err instanceof RpmPackageError) throw err;
    if (err instanceof CpioSizeLimitError || err instanceof DecompressLimitError) {
      if (maxPlain >= ceiling) tooLarge('the payload unpacks to more bytes');
      if (exact !== undefined) {
        reject('unpacked-size', `the payload unpacks to more than the ${exact} bytes the signature header declares (tag 1007/271): refusing a possible decompression bomb`, undefined, err);
      }
      reject(
        'unpacked-size',
        `the payload unpacks to more than ${maxPlain} bytes, past what its declared installed size of ${declared} bytes allows (SIZE): refusing a possible decompression bomb`,
        undefined,
        err,
      );
    }
    if (err instanceof DecompressError) reject(isTruncation(err.message) ? 'truncated' : 'decompress', err.message, undefined, err);
    if (err instanceof CpioFormatError) reject(isTruncation(err.message) ? 'truncated' : 'payload', err.message, undefined, err);
    throw err;
  } finally {
    // Every stage, so an xz or zstd child stops when we stop reading (pipe() does not propagate).
    for (const stream of [file, compressed, decompressed, plain]) stream.destroy();
  }
  const after = streamed.digest('hex');
  if (after !== digestCheck.expected) digestCheck.mismatch(after);
  if (exact !== undefined && plainBytes !== exact) {
    reject('payload-digest', `the payload decompresses to ${plainBytes} bytes, the signature header declares ${exact} (tag 1007/271)`);
  }
  if (plainHash && uncompressedDigest) {
    const actual = plainHash.digest('hex');
    if (actual !== uncompressedDigest.toLowerCase()) reject('payload-digest', `uncompressed payload digest ${actual} differs from the header's ${uncompressedDigest} (tag 5097)`);
  }
  await tree.finish();

  const manifest: TreeManifest = {
    format: 'pipeline-tree-manifest',
    version: 1,
    package: { name: identity.name, version: `${evrString(identity)}.${identity.arch}` },
    entries: tree.entries(),
  };
  await writeManifest(join(options.outDir, 'manifest.json'), manifest);
  const { scriptlets, triggers } = readScriptlets(header);
  const scriptsDir = join(options.outDir, 'scripts');
  await mkdir(scriptsDir, { mode: 0o755 });
  for (const s of scriptlets) await writeFile(join(scriptsDir, s.name), s.body, { mode: 0o755 });
  const deps = (n: number, f: number, v: number): string[] => readDeps(header, n, f, v).map(depString);
  const info: RpmInfo = {
    ...identity,
    license: header.string(Tag.LICENSE) ?? '',
    summary: header.string(Tag.SUMMARY) ?? '',
    sourceRpm: header.string(Tag.SOURCERPM) ?? '',
    payloadCompressor: compressorName ?? 'none',
    installedSize: declared ?? 0,
    ghosts: tree.ghosts.map((f) => f.path),
    configFiles: fileList.files.filter(isConfig).map((f) => f.path),
    scriptlets: scriptlets.map(({ body: _body, ...s }) => s),
    triggers,
    provides: deps(Tag.PROVIDENAME, Tag.PROVIDEFLAGS, Tag.PROVIDEVERSION),
    requires: deps(Tag.REQUIRENAME, Tag.REQUIREFLAGS, Tag.REQUIREVERSION),
    conflicts: deps(Tag.CONFLICTNAME, Tag.CONFLICTFLAGS, Tag.CONFLICTVERSION),
    obsoletes: deps(Tag.OBSOLETENAME, Tag.OBSOLETEFLAGS, Tag.OBSOLETEVERSION),
    signatures: verified.signatures.map(({ packet: _packet, ...s }) => s),
  };
  await writeFile(join(options.outDir, 'rpminfo.json'), `${JSON.stringify(info, null, 2)}\n`);
  return {
    info,
    manifest,
    signedBy: verified.signedBy,
    stats: { entries: manifest.entries.length, ...tree.stats, compressedBytes: payloadBytes, payloadBytes: plainBytes },
  };
}

/** Dependencies of a header as RpmDep (for callers that want structure rather than rpminfo's strings). */
export function headerDeps(verified: VerifiedRpmHead): { provides: RpmDep[]; requires: RpmDep[] } {
  const h = verified.head.header;
  return { provides: readDeps(h, Tag.PROVIDENAME, Tag.PROVIDEFLAGS, Tag.PROVIDEVERSION), requires: readDeps(h, Tag.REQUIRENAME, Tag.REQUIREFLAGS, Tag.REQUIREVERSION) };
}

interface DigestCheck {
  algorithm: string;
  expected: string;
  /** Bytes hashed before the payload (the legacy MD5 covers the main header too). */
  seed?: Buffer;
  mismatch(actual: string): never;
}

/** PAYLOADDIGEST over the compressed payload, or (legacy) MD5 over header + payload. */
function payloadDigest(header: RpmHead['header'], signature: RpmHead['signature'], reject: Reject): DigestCheck {
  const declared = header.strings(Tag.PAYLOADDIGEST)?.[0];
  if (declared !== undefined) {
    const algoNumber = header.int(Tag.PAYLOADDIGESTALGO) ?? 8;
    const algorithm = DIGEST_ALGORITHMS[algoNumber];
    if (!algorithm || algorithm === 'md5' || algorithm === 'sha1') reject('digest-missing', `payload digest algorithm ${algoNumber} (tag 5093) is not accepted`);
    return {
      algorithm: algorithm!,
      expected: declared.toLowerCase(),
      mismatch: (actual) => reject('payload-digest', `compressed payload ${algorithm} ${actual} differs from the header's ${declared} (PAYLOADDIGEST 5092): corrupted or tampered`),
    };
  }
  const md5 = signature.bin(SigTag.MD5)!;
  return {
    algorithm: 'md5',
    expected: Buffer.from(md5).toString('hex'),
    seed: header.bytes,
    mismatch: (actual) => reject('payload-digest', `header and payload MD5 ${actual} differs from signature tag 1004's ${Buffer.from(md5).toString('hex')}: corrupted or tampered`),
  };
}

async function hashFile(path: string, head: RpmHead, check: DigestCheck): Promise<string> {
  const hash = createHash(check.algorithm);
  if (check.seed) hash.update(check.seed);
  for await (const chunk of createReadStream(path, { start: head.payloadOffset, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function tap(onChunk: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onChunk(chunk);
      done(null, chunk);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Node factories: fetch(pkg) -> unpack(pkg), one pair per package identity, shared between variants.

/** `<name>-<evr>.<arch>.rpm`, the file name in a fetch node's output. */
export function rpmFileName(name: string, evr: Evr, arch: string): string {
  return `${name}-${evrString(evr)}.${arch}.rpm`;
}

function identityOf(options: { name: string; evr: Evr; arch: string }): string {
  return `${options.name}-${evrString(options.evr)}.${options.arch}`;
}

const XZ = { name: 'xz', debianPackage: 'xz-utils', versionArgs: ['--version'] };
const ZSTD = { name: 'zstd', debianPackage: 'zstd', versionArgs: ['--version'] };

/** One package downloaded, its size, SHA-256, headers and signatures checked. */
export const RPM_FETCH_STAGE: StageKind = { kind: 'rpm-fetch', version: 1, summary: 'RPM package downloads', tools: [] };

/** One package verified and unpacked natively into a tree and its manifest. */
export const RPM_UNPACK_STAGE: StageKind = { kind: 'rpm-unpack', version: 1, summary: 'RPM package unpacking', tools: [XZ, ZSTD] };

export interface RpmFetchNodeOptions {
  name: string;
  evr: Evr;
  arch: string;
  /** `<size package>`. */
  size: number;
  /** SHA-256 (hex) of the file (repodata `pkgid`). */
  sha256: string;
  /** `<location href>`, relative to the repository; not part of the key. */
  location: string;
  /** Repository base (URL, file URL or project-relative path); not part of the key. */
  repositoryUrl: string;
  /** The trusted OpenPGP key files (project-relative), each with its pinned fingerprint. */
  keys: TrustedKeyFile[];
  /** Default `rpm-fetch:<name>-<evr>.<arch>`. */
  id?: string;
}

/**
 * Downloads one package. Keyed on identity, size, SHA-256 and the trusted keys, not on the URL or
 * location: another mirror serving the same package costs no rebuild. The download stops at the
 * declared size; size, SHA-256, headers, header digests and signatures are checked before the
 * file can enter the cache (the unpack node checks the payload and every file).
 */
export function rpmFetchNode(options: RpmFetchNodeOptions): NodeSpec {
  const fileName = rpmFileName(options.name, options.evr, options.arch);
  const identity = identityOf(options);
  return {
    id: options.id ?? `rpm-fetch:${identity}`,
    kind: RPM_FETCH_STAGE.kind,
    version: RPM_FETCH_STAGE.version,
    params: { name: options.name, evr: { ...options.evr }, arch: options.arch, size: options.size, sha256: options.sha256, keys: keyParams(options.keys) },
    files: options.keys.map((k) => k.file),
    unkeyed: { url: options.repositoryUrl, location: options.location },
    description: `download ${fileName}`,
    async run(ctx) {
      const { url, location } = ctx.unkeyed as { url: string; location: string };
      const target = join(ctx.out, fileName);
      await download(joinLocation(url, location), target, {
        subject: identity,
        maxBytes: options.size,
        exactSize: true,
        signal: ctx.signal,
        baseDir: ctx.root,
        log: (line) => ctx.log(line),
      });
      const reject = rejecter(identity);
      const { size } = await stat(target);
      if (size !== options.size) reject(size < options.size ? 'truncated' : 'size', `file has ${size} bytes, the repository says ${options.size}`);
      const actual = await sha256File(target);
      if (actual !== options.sha256.toLowerCase()) reject('checksum', `file SHA-256 ${actual} differs from the repository's ${options.sha256}: not the package the metadata lists`);
      const keyring = await loadTrustedKeys(options.keys, (f) => ctx.file(f));
      const expected: RpmExpectation = { name: options.name, evr: options.evr, arch: options.arch, size: options.size };
      const { signedBy } = await verifyRpmHead({ rpmPath: target, expected, keyring });
      ctx.log(`${fileName}: ${size} bytes, SHA-256 matches the repository, header signed by ${signedBy}`);
    },
  };
}

export interface RpmUnpackNodeOptions {
  name: string;
  evr: Evr;
  arch: string;
  /** The node that downloaded the package (its output holds rpmFileName(...)). */
  fetchNode: string;
  /** The trusted OpenPGP key files (project-relative), each with its pinned fingerprint. */
  keys: TrustedKeyFile[];
  /** The most the package may unpack to (the variant's ceiling). */
  maxUnpackedBytes?: number;
  /** Default `rpm:<name>-<evr>.<arch>`. */
  id?: string;
}

/**
 * Verifies and unpacks one downloaded package: root/, manifest.json, scripts/, rpminfo.json.
 * Keyed on the ceiling too: a package refused under one ceiling may unpack under another.
 */
export function rpmUnpackNode(options: RpmUnpackNodeOptions): NodeSpec {
  const fileName = rpmFileName(options.name, options.evr, options.arch);
  const identity = identityOf(options);
  const maxUnpackedBytes = options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  return {
    id: options.id ?? `rpm:${identity}`,
    kind: RPM_UNPACK_STAGE.kind,
    version: RPM_UNPACK_STAGE.version,
    deps: { download: options.fetchNode },
    files: options.keys.map((k) => k.file),
    tools: RPM_UNPACK_STAGE.tools.map((t) => t.name),
    params: { name: options.name, evr: { ...options.evr }, arch: options.arch, maxUnpackedBytes, keys: keyParams(options.keys) },
    description: `verify and unpack ${fileName}`,
    async run(ctx) {
      const keyring = await loadTrustedKeys(options.keys, (f) => ctx.file(f));
      const result = await unpackRpm({
        rpmPath: join(ctx.dep('download'), fileName),
        expected: { name: options.name, evr: options.evr, arch: options.arch },
        keyring,
        outDir: ctx.out,
        maxUnpackedBytes,
        signal: ctx.signal,
      });
      ctx.log(`${result.stats.files} files, ${result.stats.bytes} bytes, header signed by ${result.signedBy}`);
    },
  };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
