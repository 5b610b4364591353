// One downloaded APK v2 package: verified, then unpacked natively (no tar, no apk, no root).
//
// An .apk is three concatenated gzip members: signature (a cut tar of `.SIGN.*`), control (a cut
// tar: .PKGINFO and scripts) and data (a full tar of the files, each regular file and symlink
// with a pax `APK-TOOLS.checksum.SHA1`). Trust flows: the signed index gives size and `C:`
// (SHA-1 of the compressed control member); the control member is signed; its .PKGINFO gives
// `datahash` (SHA-256 of the compressed data member); the data tar gives per-file checksums.
//
// Output directory:
//   root/           the file tree: files, dirs, symlinks, hardlinks. Devices and fifos are only
//                   in the manifest; owners and setuid bits too (nothing is chowned, modes on
//                   disk are `mode & 0o777` plus owner rw for files, owner rwx for dirs).
//   manifest.json   the tree manifest (stages/manifest.ts): the truth about every path.
//   scripts/        install scripts without the leading dot (post-install, trigger, ...).
//   pkginfo.json    .PKGINFO, parsed.
// Hostile input is rejected with an ApkPackageError naming the package and entry; nothing is
// ever written outside the output directory, and nothing past what the package may unpack to
// (unpack-limits.ts). On error the caller discards the directory.
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { chmod, link, mkdir, open, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GzipFormatError, GzipSizeLimitError, readLeadingGzipMembers, type DecodedGzipMember } from '../../../formats/gzip-members.js';
import { readBody, readTar, TarFormatError, TarSizeLimitError, type TarEntry } from '../../../formats/tar.js';
import type { NodeSpec } from '../../../graph/node.js';
import { download, joinLocation } from '../download.js';
import {
  compareManifestPaths,
  ManifestError,
  normalizeManifestPath,
  writeManifest,
  type ManifestEntry,
  type TreeManifest,
} from '../../shared/manifest.js';
import {
  ApkTrustError,
  BadSignatureError,
  loadTrustedKeys,
  MissingSignatureError,
  readSignatureSegment,
  verifyApkSignatures,
  type ApkSignature,
  type TrustedKeys,
} from './trust.js';
import { CEILING_KEY, dataMemberLimit, DEFAULT_MAX_UNPACKED_BYTES, HEAD_MAX_UNPACKED_BYTES } from './unpack-limits.js';
import type { StageKind } from '../../kind.js';

/** Why a package was refused; tests and callers switch on this. */
export type ApkRejectReason =
  | 'size' // file size differs from the index's S:
  | 'gzip' // not gzip, corrupt or truncated member
  | 'format' // segments or control entries not as APK v2 requires
  | 'signature-missing'
  | 'signature-unknown-key'
  | 'signature-bad'
  | 'control-checksum' // control member does not match the index's C:
  | 'pkginfo' // .PKGINFO missing, malformed, or for another package
  | 'data-checksum' // data member does not match .PKGINFO datahash
  | 'file-checksum' // a file does not match its APK-TOOLS.checksum.*
  | 'unsafe-path' // absolute, `..`, through a symlink or non-directory, duplicate
  | 'unsafe-link' // hardlink to outside, to a missing or non-regular entry
  | 'unpacked-size' // unpacks to more than its declared installed size allows, or than the ceiling
  | 'tar'; // malformed data tar

export class ApkPackageError extends Error {
  constructor(
    readonly reason: ApkRejectReason,
    /** `name-version` of the package (or the file name when unknown). */
    readonly pkg: string,
    message: string,
    /** The archive entry concerned, when there is one. */
    readonly entry?: string,
    options?: { cause?: unknown },
  ) {
    super(`${pkg}${entry !== undefined ? ` (entry ${JSON.stringify(entry)})` : ''}: ${message}`, options);
    this.name = 'ApkPackageError';
  }
}

/** What the signed index says about the package. */
export interface ApkExpectation {
  name: string;
  version: string;
  /** `S:` in bytes. */
  size: number;
  /** `C:`: `Q1` + base64 SHA-1 (or `Q2` + base64 SHA-256) of the compressed control member. */
  checksum: string;
}

export interface UnpackApkOptions {
  /** The downloaded .apk. */
  apkPath: string;
  expected: ApkExpectation;
  keys: TrustedKeys;
  /** Fresh, empty directory that receives root/, manifest.json, scripts/, pkginfo.json. */
  outDir: string;
  /** The most the package may unpack to (the variant's ceiling). Default DEFAULT_MAX_UNPACKED_BYTES. */
  maxUnpackedBytes?: number;
  signal?: AbortSignal;
}

/** .PKGINFO, parsed. Multi-valued keys are lists; everything is also kept verbatim in `fields`. */
export interface PkgInfo {
  pkgname: string;
  pkgver: string;
  pkgdesc?: string;
  url?: string;
  builddate?: number;
  packager?: string;
  /** Installed size in bytes as the packager computed it. */
  size?: number;
  arch?: string;
  origin?: string;
  commit?: string;
  maintainer?: string;
  license?: string;
  provider_priority?: number;
  replaces_priority?: number;
  /** SHA-256 (hex) of the compressed data member. */
  datahash?: string;
  depend: string[];
  provides: string[];
  replaces: string[];
  install_if: string[];
  /** Paths (globs) whose change runs the package's trigger script. */
  triggers: string[];
  /** Every `key = value` line, in file order. */
  fields: Array<[string, string]>;
}

export interface UnpackApkResult {
  pkginfo: PkgInfo;
  manifest: TreeManifest;
  /** Names of the scripts written to scripts/ (`post-install`, `trigger`, ...). */
  scripts: string[];
  /** Key whose signature verified. */
  signedBy: string;
  stats: { entries: number; files: number; bytes: number; compressedBytes: number };
}

/** The control scripts apk knows; anything else in the control segment is not installed. */
export const APK_SCRIPT_NAMES = [
  'pre-install',
  'post-install',
  'pre-upgrade',
  'post-upgrade',
  'pre-deinstall',
  'post-deinstall',
  'trigger',
] as const;

/** `Q1` + base64(SHA-1), the form of an APKINDEX `C:` field. */
export function apkQ1Checksum(bytes: Uint8Array): string {
  return `Q1${createHash('sha1').update(bytes).digest('base64')}`;
}

/**
 * Byte ranges of an .apk's three gzip members (signature, control, data), without verifying
 * anything: for benchmarks and tools that compare against `tar -xzf` of the data member.
 */
export async function locateApkMembers(
  apkPath: string,
): Promise<{ signature: [number, number]; control: [number, number]; data: [number, number] }> {
  const { members, fileSize } = await readLeadingGzipMembers(apkPath, 2, { maxBytes: 16 << 20, maxUnpackedBytes: HEAD_MAX_UNPACKED_BYTES });
  return {
    signature: [members[0].start, members[0].end],
    control: [members[1].start, members[1].end],
    data: [members[1].end, fileSize],
  };
}

/**
 * The checks that need no unpacking: size against the index's S:, the package signature, the
 * control member against the index's C:, and .PKGINFO naming this package with a datahash. The
 * fetch node runs them before a download enters the cache; unpacking runs them again.
 */
export async function verifyApkHead(options: {
  apkPath: string;
  expected: ApkExpectation;
  keys: TrustedKeys;
  /** The variant's ceiling; the head is held to the lower of it and HEAD_MAX_UNPACKED_BYTES. */
  maxUnpackedBytes?: number;
}): Promise<{
  pkginfo: PkgInfo;
  scripts: Map<string, Buffer>;
  control: DecodedGzipMember;
  signedBy: string;
  size: number;
}> {
  const { apkPath, expected, keys } = options;
  const pkg = `${expected.name}-${expected.version}`;
  const reject: Reject = (reason, message, entry, cause) => {
    throw new ApkPackageError(reason, pkg, message, entry, cause === undefined ? undefined : { cause });
  };
  // Size first: a download longer or shorter than the index says is not the package.
  const { size } = await stat(apkPath);
  if (size > expected.size) {
    reject('size', `file has ${size} bytes, more data than the ${expected.size} the index declares (S:)`);
  }
  if (size < expected.size) reject('size', `file has ${size} of the ${expected.size} bytes the index declares: truncated download`);

  const headLimit = Math.min(options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES, HEAD_MAX_UNPACKED_BYTES);
  const { control, signedBy } = await readSignedControl(apkPath, size, expected, keys, headLimit, reject);
  const { pkginfo, scripts } = await readControl(control.data, pkg, reject);
  if (pkginfo.pkgname !== expected.name || pkginfo.pkgver !== expected.version) {
    reject('pkginfo', `.PKGINFO is for ${pkginfo.pkgname}-${pkginfo.pkgver}, the index says ${pkg}`, '.PKGINFO');
  }
  if (!pkginfo.datahash || !/^[0-9a-f]{64}$/.test(pkginfo.datahash)) {
    reject('pkginfo', '.PKGINFO has no valid datahash (packages signed without a data hash are not supported)', '.PKGINFO');
  }
  return { pkginfo, scripts, control, signedBy, size };
}

/** Verifies the package, then unpacks it into `outDir`. See the file header for the layout. */
export async function unpackApk(options: UnpackApkOptions): Promise<UnpackApkResult> {
  const { apkPath, expected, outDir } = options;
  const pkg = `${expected.name}-${expected.version}`;
  const reject: Reject = (reason, message, entry, cause) => {
    throw new ApkPackageError(reason, pkg, message, entry, cause === undefined ? undefined : { cause });
  };
  const { pkginfo, scripts, control, signedBy, size } = await verifyApkHead(options);
  const ceiling = options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  const declared = pkginfo.size;
  if (declared !== undefined && declared > ceiling) {
    reject(
      'unpacked-size',
      `.PKGINFO declares an installed size of ${declared} bytes, more than the ${ceiling} bytes a package may unpack to ` +
        `(${CEILING_KEY} in the variant): raise it if this package is really that large`,
    );
  }
  const tooLarge = (limit: number): never =>
    limit >= ceiling
      ? reject(
          'unpacked-size',
          `the data member unpacks to more than ${ceiling} bytes, the most a package may unpack to ` +
            `(${CEILING_KEY} in the variant): raise it if this package is really that large`,
        )
      : reject(
          'unpacked-size',
          `the data member unpacks to more than ${limit} bytes, past what its declared installed size of ${declared} bytes ` +
            'allows (.PKGINFO size): refusing a possible decompression bomb',
        );

  const rootDir = join(outDir, 'root');
  await mkdir(rootDir, { mode: 0o755 });
  const tree = new SafeTreeWriter(rootDir, reject);
  const data = { start: control.end, maxBytes: dataMemberLimit(declared, ceiling), tooLarge };
  const datahash = await unpackData(apkPath, data, tree, `${pkg}.apk data`, reject, options.signal);
  if (datahash !== pkginfo.datahash) {
    reject('data-checksum', `data member SHA-256 ${datahash} differs from .PKGINFO datahash ${pkginfo.datahash}`);
  }
  await tree.finish();

  const manifest: TreeManifest = {
    format: 'pipeline-tree-manifest',
    version: 1,
    package: { name: pkginfo.pkgname, version: pkginfo.pkgver },
    entries: tree.entries(),
  };
  await writeManifest(join(outDir, 'manifest.json'), manifest);
  const scriptsDir = join(outDir, 'scripts');
  await mkdir(scriptsDir, { mode: 0o755 });
  for (const [name, body] of scripts) await writeFile(join(scriptsDir, name), body, { mode: 0o755 });
  await writeFile(join(outDir, 'pkginfo.json'), `${JSON.stringify(pkginfo, null, 2)}\n`);
  return {
    pkginfo,
    manifest,
    scripts: [...scripts.keys()],
    signedBy,
    stats: { entries: manifest.entries.length, ...tree.stats, compressedBytes: size - control.end },
  };
}

/**
 * Finds the signature and control members, checks the control member against the index's C:
 * and its signature against the trusted keys. The signature segment is looked at first, so an
 * unsigned package is reported as unsigned rather than as a checksum mismatch.
 */
async function readSignedControl(
  apkPath: string,
  size: number,
  expected: ApkExpectation,
  keys: TrustedKeys,
  headLimit: number,
  reject: Reject,
): Promise<{ control: DecodedGzipMember; signedBy: string }> {
  const label = `${expected.name}-${expected.version}.apk`;
  let control: DecodedGzipMember;
  let controlBytes: Buffer;
  let signatures: ApkSignature[];
  try {
    const first = await readLeadingGzipMembers(apkPath, 1, { label, maxBytes: 16 << 20, maxUnpackedBytes: headLimit });
    signatures = await readSignatureSegment(first.members[0].data, label);
    if (signatures.length === 0) {
      reject('signature-missing', 'not signed: the first segment holds no .SIGN.* entry (refusing unsigned packages)');
    }
    const leading = await readLeadingGzipMembers(apkPath, 2, { label, maxBytes: 16 << 20, maxUnpackedBytes: headLimit });
    control = leading.members[1];
    controlBytes = leading.head.subarray(control.start, control.end);
  } catch (err) {
    if (err instanceof GzipSizeLimitError) {
      return reject('unpacked-size', `the signature and control segments unpack to more than ${headLimit} bytes: refusing a possible decompression bomb`, undefined, err);
    }
    if (err instanceof GzipFormatError) return reject('gzip', err.message, undefined, err);
    if (err instanceof TarFormatError) return reject('format', err.message, undefined, err);
    throw err;
  }
  if (control.end >= size) reject('format', 'no data segment after the control segment');

  const actual = controlChecksum(controlBytes, expected.checksum);
  if (actual === undefined) reject('control-checksum', `index checksum ${expected.checksum} is not a Q1/Q2 checksum`);
  if (actual !== expected.checksum) {
    reject('control-checksum', `control checksum ${actual} differs from the index's ${expected.checksum}: not the package the index lists`);
  }
  try {
    return { control, signedBy: verifyApkSignatures(keys, signatures, controlBytes, label).keyName };
  } catch (err) {
    if (err instanceof MissingSignatureError) return reject('signature-missing', err.message, undefined, err);
    if (err instanceof BadSignatureError) return reject('signature-bad', err.message, undefined, err);
    if (err instanceof ApkTrustError) return reject('signature-unknown-key', err.message, undefined, err);
    throw err;
  }
}

/**
 * Streams the data member from `start` to EOF: hashed as compressed bytes (returned, hex),
 * decompressed and unpacked entry by entry. Never holds the member in memory, and stops (through
 * `tooLarge`) before the tar passes `maxBytes`.
 */
async function unpackData(
  apkPath: string,
  data: { start: number; maxBytes: (entries: number) => number; tooLarge: (limit: number) => never },
  tree: SafeTreeWriter,
  label: string,
  reject: Reject,
  signal?: AbortSignal,
): Promise<string> {
  const hash = createHash('sha256');
  const file = createReadStream(apkPath, { start: data.start, highWaterMark: 1 << 20 });
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const gunzip = createGunzip({ chunkSize: 256 << 10 });
  let streamError: Error | undefined;
  pipeline(file, tap, gunzip, (err) => {
    if (err) streamError = err;
  });
  try {
    for await (const entry of readTar(gunzip, { label, maxBytes: data.maxBytes })) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      await tree.add(entry);
    }
  } catch (err) {
    if (err instanceof ApkPackageError) throw err;
    if (err instanceof TarSizeLimitError) data.tooLarge(err.limit);
    const cause = streamError ?? err;
    if ((cause as NodeJS.ErrnoException).code?.startsWith?.('Z_')) {
      reject('gzip', `data member: ${(cause as Error).message} (truncated or corrupt gzip)`, undefined, cause);
    }
    if (cause instanceof TarFormatError) reject('tar', cause.message, undefined, cause);
    throw cause;
  } finally {
    gunzip.destroy();
    file.destroy();
  }
  return hash.digest('hex');
}

type Reject = (reason: ApkRejectReason, message: string, entry?: string, cause?: unknown) => never;

function controlChecksum(controlBytes: Buffer, expected: string): string | undefined {
  if (expected.startsWith('Q1')) return apkQ1Checksum(controlBytes);
  if (expected.startsWith('Q2')) return `Q2${createHash('sha256').update(controlBytes).digest('base64')}`;
  return undefined;
}

async function readControl(
  tar: Buffer,
  pkg: string,
  reject: Reject,
): Promise<{ pkginfo: PkgInfo; scripts: Map<string, Buffer> }> {
  let pkginfoText: string | undefined;
  const scripts = new Map<string, Buffer>();
  try {
    for await (const entry of readTar(tar, { allowMissingEnd: true, label: `${pkg}.apk control` })) {
      if (!entry.path.startsWith('.') || entry.path.includes('/')) {
        reject('format', 'data entry inside the control segment (segments out of order?)', entry.path);
      }
      if (entry.type !== 'file') reject('format', `control entry is a ${entry.type}, expected a file`, entry.path);
      if (entry.path === '.PKGINFO') {
        pkginfoText = (await readBody(entry, 4 << 20)).toString('utf8');
      } else if (entry.path === '.INSTALL') {
        reject('format', 'APK v1 install script: not supported', entry.path);
      } else if ((APK_SCRIPT_NAMES as readonly string[]).includes(entry.path.slice(1))) {
        scripts.set(entry.path.slice(1), await readBody(entry, 4 << 20));
      }
      // Other control entries (.BUILDINFO...) are metadata apk does not install either.
    }
  } catch (err) {
    if (err instanceof TarFormatError) reject('format', err.message, undefined, err);
    throw err;
  }
  if (pkginfoText === undefined) reject('pkginfo', 'control segment has no .PKGINFO');
  let pkginfo: PkgInfo;
  try {
    pkginfo = parsePkgInfo(pkginfoText!, `${pkg}.apk .PKGINFO`);
  } catch (err) {
    return reject('pkginfo', (err as Error).message, '.PKGINFO', err);
  }
  return { pkginfo, scripts };
}

/** Parses .PKGINFO text (`key = value` lines, `#` comments). Throws on malformed lines. */
export function parsePkgInfo(text: string, where = '.PKGINFO'): PkgInfo {
  const fields: Array<[string, string]> = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const split = line.indexOf(' = ');
    if (split <= 0) throw new Error(`${where}:${index + 1}: expected "key = value", got ${JSON.stringify(line)}`);
    fields.push([line.slice(0, split), line.slice(split + 3)]);
  }
  const last = (key: string): string | undefined => fields.filter(([k]) => k === key).at(-1)?.[1];
  const all = (key: string): string[] =>
    fields.filter(([k]) => k === key).flatMap(([, value]) => value.split(/\s+/).filter(Boolean));
  const integer = (key: string): number | undefined => {
    const value = last(key);
    if (value === undefined) return undefined;
    if (!/^-?[0-9]+$/.test(value)) throw new Error(`${where}: ${key} = ${JSON.stringify(value)} is not an integer`);
    return Number(value);
  };
  const pkgname = last('pkgname');
  const pkgver = last('pkgver');
  if (!pkgname || !pkgver) throw new Error(`${where}: pkgname and pkgver are required`);
  const info: PkgInfo = {
    pkgname,
    pkgver,
    depend: all('depend'),
    provides: all('provides'),
    replaces: all('replaces'),
    install_if: all('install_if'),
    triggers: all('triggers'),
    fields,
  };
  for (const key of ['pkgdesc', 'url', 'packager', 'arch', 'origin', 'commit', 'maintainer', 'license', 'datahash'] as const) {
    const value = last(key);
    if (value !== undefined) info[key] = value;
  }
  for (const key of ['builddate', 'size', 'provider_priority', 'replaces_priority'] as const) {
    const value = integer(key);
    if (value !== undefined) info[key] = value;
  }
  return info;
}

// ---------------------------------------------------------------------------------------------
// Writing the tree. Every path is checked against what this package has already created, so
// nothing is written through a symlink, into a non-directory, or outside the root. The output
// directory is fresh, so what we have created is exactly what is on disk.

const SMALL_FILE = 256 << 10;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const CHECKSUM_PREFIX = 'APK-TOOLS.checksum.';
const CHECKSUM_ALGORITHMS: Record<string, string> = { SHA1: 'sha1', MD5: 'md5' };

type Seen = ManifestEntry['type'] | 'implicit-dir';

class SafeTreeWriter {
  private readonly seen = new Map<string, Seen>();
  private readonly manifest = new Map<string, ManifestEntry>();
  private readonly dirs: string[] = [];
  readonly stats = { files: 0, bytes: 0 };

  constructor(
    private readonly root: string,
    /** Throws the package's ApkPackageError (it names the package). */
    private readonly reject: Reject,
  ) {}

  async add(entry: TarEntry): Promise<void> {
    let path: string | undefined;
    try {
      path = normalizeManifestPath(entry.path);
    } catch (err) {
      if (err instanceof ManifestError) this.reject('unsafe-path', `${err.message}: refusing to write outside the tree`, entry.path);
      throw err;
    }
    if (path === undefined) return; // the root directory itself
    await this.prepareParents(path, entry.path);

    const existing = this.seen.get(path);
    if (existing !== undefined && !(entry.type === 'dir' && (existing === 'dir' || existing === 'implicit-dir'))) {
      const was = existing === 'implicit-dir' ? 'directory' : existing;
      this.reject('unsafe-path', `path appears twice (already a ${was})`, entry.path);
    }
    const base: ManifestEntry = {
      path,
      type: entry.type,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      uname: entry.uname,
      gname: entry.gname,
    };
    const xattrNames = Object.keys(entry.xattrs);
    if (xattrNames.length > 0) {
      base.xattrs = Object.fromEntries(xattrNames.map((name) => [name, entry.xattrs[name].toString('base64')]));
    }
    const target = join(this.root, path);
    switch (entry.type) {
      case 'dir':
        if (existing === undefined) {
          await mkdir(target, { mode: 0o700 });
          this.dirs.push(path);
        }
        break;
      case 'file':
        Object.assign(base, await this.writeFileEntry(entry, target));
        break;
      case 'symlink': {
        const linkTarget = entry.linkTarget ?? '';
        if (linkTarget === '' || linkTarget.includes('\0')) this.reject('unsafe-link', 'symlink without a target', entry.path);
        this.checkDeclaredChecksum(entry, Buffer.from(linkTarget));
        await symlink(linkTarget, target);
        base.target = linkTarget;
        break;
      }
      case 'hardlink':
        base.link = await this.linkEntry(entry, target);
        break;
      case 'char':
      case 'block':
        base.devmajor = entry.devmajor;
        base.devminor = entry.devminor;
        break;
      case 'fifo':
        break;
    }
    this.seen.set(path, entry.type);
    this.manifest.set(path, base);
  }

  /** Sets directory modes last, so read-only directories do not block their own contents. */
  async finish(): Promise<void> {
    for (const path of this.dirs) {
      await chmod(join(this.root, path), (this.manifest.get(path)!.mode & 0o777) | 0o700);
    }
  }

  entries(): ManifestEntry[] {
    return [...this.manifest.values()].sort((a, b) => compareManifestPaths(a.path, b.path));
  }

  private async prepareParents(path: string, raw: string): Promise<void> {
    const parts = path.split('/');
    let missingFrom = -1;
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const kind = this.seen.get(parent);
      if (kind === undefined) {
        if (missingFrom < 0) missingFrom = i;
        this.seen.set(parent, 'implicit-dir');
      } else if (kind === 'symlink') {
        this.reject('unsafe-path', `parent ${parent} is a symlink: refusing to write through it`, raw);
      } else if (kind !== 'dir' && kind !== 'implicit-dir') {
        this.reject('unsafe-path', `parent ${parent} is a ${kind}, not a directory`, raw);
      }
    }
    if (missingFrom > 0) {
      // Every component was checked above: none is a symlink, so recursive mkdir stays inside.
      await mkdir(join(this.root, ...parts.slice(0, -1)), { recursive: true, mode: 0o755 });
    }
  }

  private async writeFileEntry(entry: TarEntry, target: string): Promise<Partial<ManifestEntry>> {
    const declared = declaredChecksum(entry);
    const own = declared ? createHash(declared.algorithm) : undefined;
    const sha256 = createHash('sha256');
    const mode = (entry.mode & 0o777) | 0o600;
    if (entry.size <= SMALL_FILE) {
      const parts: Buffer[] = [];
      for await (const chunk of entry.body) parts.push(chunk);
      const data = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      own?.update(data);
      sha256.update(data);
      await writeFile(target, data, { flag: CREATE_FLAGS, mode });
    } else {
      const handle = await open(target, CREATE_FLAGS, mode);
      try {
        for await (const chunk of entry.body) {
          own?.update(chunk);
          sha256.update(chunk);
          await handle.write(chunk);
        }
      } finally {
        await handle.close();
      }
    }
    if (declared && own) {
      const actual = own.digest('hex');
      if (actual !== declared.hex) {
        this.reject('file-checksum', `content ${declared.name} ${actual} differs from the declared ${declared.hex}`, entry.path);
      }
    }
    this.stats.files += 1;
    this.stats.bytes += entry.size;
    const digest: Partial<ManifestEntry> = { size: entry.size, sha256: sha256.digest('hex') };
    if (declared) digest.packageDigest = `${declared.algorithm}:${declared.hex}`;
    return digest;
  }

  private async linkEntry(entry: TarEntry, target: string): Promise<string> {
    let linkPath: string | undefined;
    try {
      linkPath = normalizeManifestPath(entry.linkTarget ?? '');
    } catch {
      linkPath = undefined;
    }
    if (linkPath === undefined) {
      this.reject('unsafe-link', `hardlink to ${JSON.stringify(entry.linkTarget)} points outside the tree`, entry.path);
    }
    let resolved = linkPath!;
    if (this.seen.get(resolved) === 'hardlink') resolved = this.manifest.get(resolved)!.link!;
    const kind = this.seen.get(resolved);
    if (kind === undefined) {
      this.reject('unsafe-link', `hardlink to ${JSON.stringify(entry.linkTarget)}, an entry not seen before it`, entry.path);
    }
    if (kind !== 'file') {
      this.reject('unsafe-link', `hardlink to ${JSON.stringify(entry.linkTarget)}, a ${kind}, not a regular file`, entry.path);
    }
    await link(join(this.root, resolved), target);
    return resolved;
  }

  /** abuild gives symlinks a checksum too: of the link target string. */
  private checkDeclaredChecksum(entry: TarEntry, content: Buffer): void {
    const declared = declaredChecksum(entry);
    if (!declared) return;
    const actual = createHash(declared.algorithm).update(content).digest('hex');
    if (actual !== declared.hex) {
      this.reject('file-checksum', `${declared.name} ${actual} differs from the declared ${declared.hex}`, entry.path);
    }
  }
}

/** The strongest `APK-TOOLS.checksum.<ALG>` pax record of an entry (SHA1 over MD5), if any. */
function declaredChecksum(entry: TarEntry): { name: string; algorithm: string; hex: string } | undefined {
  let best: { name: string; algorithm: string; hex: string } | undefined;
  for (const name of ['MD5', 'SHA1']) {
    const value = entry.pax[`${CHECKSUM_PREFIX}${name}`];
    if (value !== undefined) best = { name, algorithm: CHECKSUM_ALGORITHMS[name], hex: value.toLowerCase() };
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Node factories: fetch(pkg) -> unpack(pkg), one pair per package, shared between variants.

/** `<name>-<version>.apk`, the file name in a repository and in a fetch node's output. */
export function apkFileName(name: string, version: string): string {
  return `${name}-${version}.apk`;
}

export interface ApkFetchNodeOptions extends ApkExpectation {
  /** Repository location (URL, file URL or project-relative path); not part of the key. */
  repositoryUrl: string;
  /** Project-relative directory of trusted `*.rsa.pub` keys (e.g. `variants/keys/alpine`). */
  keysDir: string;
  /** Default `apk-fetch:<name>@<version>`. */
  id?: string;
}

/** One package downloaded, its size, signature and control checksum checked. */
export const APK_FETCH_STAGE: StageKind = { kind: 'apk-fetch', version: 1, summary: 'Alpine package downloads', tools: [] };

/** One package verified and unpacked natively into a tree and its manifest. */
export const APK_UNPACK_STAGE: StageKind = {
  kind: 'apk-unpack',
  // 2: packages are held to their declared installed size (a cached bomb must not survive).
  version: 2,
  summary: 'Alpine package unpacking',
  tools: [],
};

/**
 * Downloads one package. Keyed on name, version, size and C: (from the lock) and the trusted
 * keys, not on the URL, so another mirror serving the same package costs no rebuild, and
 * variants trusting the same keys share the node. The download stops at the declared size; the
 * size, the signature and the control checksum are checked before the file can enter the cache
 * (the unpack node checks the data and every file).
 */
export function apkFetchNode(options: ApkFetchNodeOptions): NodeSpec {
  const fileName = apkFileName(options.name, options.version);
  return {
    id: options.id ?? `apk-fetch:${options.name}@${options.version}`,
    kind: APK_FETCH_STAGE.kind,
    version: APK_FETCH_STAGE.version,
    params: { name: options.name, version: options.version, size: options.size, checksum: options.checksum },
    files: [options.keysDir],
    unkeyed: { url: options.repositoryUrl },
    description: `download ${fileName}`,
    async run(ctx) {
      const { url } = ctx.unkeyed as { url: string };
      const target = join(ctx.out, fileName);
      await download(joinLocation(url, fileName), target, {
        subject: `${options.name}-${options.version}`,
        maxBytes: options.size,
        exactSize: true,
        signal: ctx.signal,
        baseDir: ctx.root,
        log: (line) => ctx.log(line),
      });
      const keys = await loadTrustedKeys(ctx.file(options.keysDir), options.keysDir);
      const { signedBy } = await verifyApkHead({ apkPath: target, expected: options, keys });
      ctx.log(`${fileName}: ${options.size} bytes, control checksum matches the index, signed by ${signedBy}`);
    },
  };
}

export interface ApkUnpackNodeOptions extends ApkExpectation {
  /** The node that downloaded the package (its output holds `<name>-<version>.apk`). */
  fetchNode: string;
  /** Project-relative directory of trusted `*.rsa.pub` keys (e.g. `variants/keys/demo`). */
  keysDir: string;
  /** Default `apk:<name>@<version>`. */
  id?: string;
  /** The most the package may unpack to (the variant's `alpine.max_unpacked_size`). */
  maxUnpackedBytes?: number;
}

/**
 * Verifies and unpacks one downloaded package: root/, manifest.json, scripts/, pkginfo.json.
 * Keyed on the ceiling too: a package refused under one ceiling may unpack under another.
 */
export function apkUnpackNode(options: ApkUnpackNodeOptions): NodeSpec {
  const fileName = apkFileName(options.name, options.version);
  const expected: ApkExpectation = {
    name: options.name,
    version: options.version,
    size: options.size,
    checksum: options.checksum,
  };
  const maxUnpackedBytes = options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  return {
    id: options.id ?? `apk:${options.name}@${options.version}`,
    kind: APK_UNPACK_STAGE.kind,
    version: APK_UNPACK_STAGE.version,
    deps: { download: options.fetchNode },
    files: [options.keysDir],
    params: { ...expected, maxUnpackedBytes },
    description: `verify and unpack ${fileName}`,
    async run(ctx) {
      const keys = await loadTrustedKeys(ctx.file(options.keysDir), options.keysDir);
      const result = await unpackApk({
        apkPath: join(ctx.dep('download'), fileName),
        expected,
        keys,
        outDir: ctx.out,
        maxUnpackedBytes,
        signal: ctx.signal,
      });
      ctx.log(`${result.stats.files} files, ${result.stats.bytes} bytes, signed by ${result.signedBy}`);
    },
  };
}
