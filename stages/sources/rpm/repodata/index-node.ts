// An RPM repository's metadata, downloaded and verified: repomd.xml and its detached signature
// (checked before a byte of repomd.xml is parsed), then primary.xml (checksums of its compressed
// and decompressed bytes, parsed to RpmPackageMeta) and filelists.xml (verified, kept compressed
// for the rare file dependency primary.xml does not answer). The node's output is what the
// resolver loads (loadRpmRepodata): packages.ndjson, the filelists file and repodata.json.
import { createReadStream } from 'node:fs';
import { appendFile, copyFile, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { PgpKeyring } from '../../../../formats/openpgp/index.js';
import { keyParams, loadTrustedKeys, type TrustedKeyFile } from '../trust.js';
import type { NodeSpec } from '../../../../graph/node.js';
import type { StageKind } from '../../../kind.js';
import { download, DownloadError, joinLocation } from '../../download.js';
import type { Evr, RpmDep, RpmPackageMeta } from '../model.js';
import { RepodataFormatError, UnsignedRepodataError } from './errors.js';
import { findFileProviders } from './filelists.js';
import { readPrimary } from './primary.js';
import { parseRepomd, repomdEntry, REPOMD_MAX_BYTES, REPOMD_SIGNATURE_MAX_BYTES, verifyRepomdSignature, type RepomdEntry } from './repomd.js';
import { MetaPool } from './strings.js';
import { DEFAULT_MAX_UNPACKED_BYTES, streamVerifiedText } from './verified-file.js';

/** What the node records of the repository besides its packages (repodata.json). */
export interface RpmRepodataFacts {
  repository: string;
  revision: string;
  /** The key that signed repomd.xml; null for unsigned metadata (allowed explicitly). */
  signature: { fingerprint: string; keyId: string; primary: string; userIds: string[]; created: string } | null;
  primary: RepomdEntry;
  /** With `file`: the verified compressed file's name in the output. Null when repomd.xml has none. */
  filelists: (RepomdEntry & { file: string }) | null;
  /** Number of packages in packages.ndjson. */
  packages: number;
}

export interface FetchRepodataOptions {
  /** Repository name (`baseos`): the first words of errors and log lines. */
  repository: string;
  /** Repository root: a URL, a file URL or a path (relative paths against `baseDir`). */
  url: string;
  /** Trusted keys for repomd.xml.asc. */
  keyring: PgpKeyring;
  /** Accept a repository without repomd.xml.asc. A signature that is present is still checked. */
  allowUnsigned?: boolean;
  /** Where the verified files go (the node's output directory). */
  out: string;
  /** Scratch directory for downloads. */
  tmp: string;
  /** Largest compressed metadata file accepted when repomd.xml gives no size. Default 256 MiB. */
  maxBytes?: number;
  /** Largest decompressed metadata file. Default DEFAULT_MAX_UNPACKED_BYTES. */
  maxUnpackedBytes?: number;
  signal?: AbortSignal;
  baseDir?: string;
  log?: (line: string) => void;
}

const DEFAULT_MAX_BYTES = 256 << 20;

/**
 * Downloads and verifies a repository's metadata into `options.out`: repomd.xml (+ .asc),
 * packages.ndjson, the filelists file and repodata.json. Throws UnsignedRepodataError, PgpError,
 * RepodataChecksumError, RepodataFormatError, DecompressError or DownloadError, each naming the
 * file at fault.
 */
export async function fetchRepodata(options: FetchRepodataOptions): Promise<RpmRepodataFacts> {
  const { repository, url, out, tmp } = options;
  const transfer = { signal: options.signal, baseDir: options.baseDir, log: options.log };
  const repomdLocation = joinLocation(url, 'repodata/repomd.xml');
  const repomdPath = join(tmp, 'repomd.xml');
  await download(repomdLocation, repomdPath, { ...transfer, maxBytes: REPOMD_MAX_BYTES, subject: `${repository} repomd.xml` });
  const repomdBytes = await readFile(repomdPath);

  // The signature first: nothing of repomd.xml is parsed before it verified.
  const signaturePath = join(tmp, 'repomd.xml.asc');
  let signature: RpmRepodataFacts['signature'] = null;
  let signed = true;
  try {
    await download(`${repomdLocation}.asc`, signaturePath, { ...transfer, maxBytes: REPOMD_SIGNATURE_MAX_BYTES, subject: `${repository} repomd.xml.asc` });
  } catch (err) {
    // A file that is not there (404, no such file) is final; a mirror that does not answer is not.
    if (!(err instanceof DownloadError) || err.transient) throw err;
    if (!options.allowUnsigned) {
      throw new UnsignedRepodataError(
        `${repomdLocation}: no detached signature (${err.message}); unsigned repository metadata is refused unless explicitly allowed for repository ${repository}`,
      );
    }
    signed = false;
    options.log?.(`${repomdLocation}: no repomd.xml.asc; unsigned metadata allowed for ${repository}`);
  }
  if (signed) {
    if (options.keyring.keys.length === 0 && options.allowUnsigned) {
      options.log?.(`${repomdLocation}.asc: present but not checked: no trusted keys given for ${repository}`);
    } else {
      const verified = verifyRepomdSignature(repomdBytes, await readFile(signaturePath), options.keyring, repomdLocation);
      signature = {
        fingerprint: verified.signer.fingerprint,
        keyId: verified.signer.keyId,
        primary: verified.primary.fingerprint,
        userIds: verified.primary.userIds,
        created: verified.created.toISOString(),
      };
      options.log?.(`${repomdLocation}: signed by ${verified.signer.keyId} (${verified.primary.userIds[0] ?? verified.primary.fingerprint})`);
      await copyFile(signaturePath, join(out, 'repomd.xml.asc'));
    }
  }

  const repomd = parseRepomd(repomdBytes, repomdLocation);
  const primary = repomdEntry(repomd, 'primary', repomdLocation);
  const filelists = repomd.entries.find((e) => e.type === 'filelists');
  const limits = { maxUnpackedBytes: options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES, signal: options.signal };

  const primaryLocation = joinLocation(url, primary.location);
  const primaryPath = join(tmp, basename(primary.location));
  await fetchDeclared(primaryLocation, primaryPath, primary, `${repository} ${basename(primary.location)}`, options);
  const packages = await readPrimary(primaryPath, primary, primaryLocation, limits);

  let filelistsFact: RpmRepodataFacts['filelists'] = null;
  if (filelists) {
    const location = joinLocation(url, filelists.location);
    const file = basename(filelists.location);
    const path = join(out, file);
    await fetchDeclared(location, path, filelists, `${repository} ${file}`, options);
    // Checked whole now (both checksums), so a bad file fails this node, not a later lookup.
    await streamVerifiedText(path, filelists, location, () => {}, limits);
    filelistsFact = { ...filelists, file };
  }

  await writeFile(join(out, 'repomd.xml'), repomdBytes);
  await writeNdjson(join(out, PACKAGES_FILE), packages);
  const facts: RpmRepodataFacts = { repository, revision: repomd.revision, signature, primary, filelists: filelistsFact, packages: packages.length };
  await writeFile(join(out, FACTS_FILE), `${JSON.stringify(facts, null, 2)}\n`);
  options.log?.(`${repository}: ${packages.length} packages (revision ${repomd.revision || 'none'})`);
  return facts;
}

async function fetchDeclared(location: string, dest: string, entry: RepomdEntry, subject: string, options: FetchRepodataOptions): Promise<void> {
  await download(location, dest, {
    subject,
    maxBytes: entry.size ?? options.maxBytes ?? DEFAULT_MAX_BYTES,
    exactSize: entry.size !== undefined,
    signal: options.signal,
    baseDir: options.baseDir,
    log: options.log,
  });
}

const PACKAGES_FILE = 'packages.ndjson';
const FACTS_FILE = 'repodata.json';

async function writeNdjson(path: string, packages: RpmPackageMeta[]): Promise<void> {
  // Written in slices: one string for 20,000 packages would be tens of MB.
  await writeFile(path, '');
  for (let i = 0; i < packages.length; i += 1000) {
    await appendFile(path, packages.slice(i, i + 1000).map((p) => `${JSON.stringify(p)}\n`).join(''));
  }
}

/** A verified repository as the resolver gets it from the node's output directory. */
export interface RpmRepodata {
  facts: RpmRepodataFacts;
  packages: RpmPackageMeta[];
  /**
   * The packages (rpmPackageKey) listing each of `paths` in filelists.xml, read on demand (one
   * streaming pass, checksums checked again). Empty when the repository has no filelists.
   */
  findFileProviders(paths: ReadonlySet<string>): Promise<Map<string, string[]>>;
}

/** Loads an rpm-repodata node's output. Repeated strings are shared, as when primary.xml is parsed. */
export async function loadRpmRepodata(dir: string, options: { maxUnpackedBytes?: number } = {}): Promise<RpmRepodata> {
  const facts = JSON.parse(await readFile(join(dir, FACTS_FILE), 'utf8')) as RpmRepodataFacts;
  const pool = new MetaPool();
  const packages: RpmPackageMeta[] = [];
  const lines = createInterface({ input: createReadStream(join(dir, PACKAGES_FILE)), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line) packages.push(internPackage(JSON.parse(line) as RpmPackageMeta, pool));
  }
  if (packages.length !== facts.packages) {
    throw new RepodataFormatError(`${dir}: ${PACKAGES_FILE} has ${packages.length} packages, ${FACTS_FILE} says ${facts.packages}`);
  }
  const filelists = facts.filelists;
  return {
    facts,
    packages,
    async findFileProviders(paths) {
      if (!filelists || paths.size === 0) return new Map();
      return findFileProviders(join(dir, filelists.file), filelists, `${facts.repository} ${filelists.location}`, paths, options);
    },
  };
}

/** A package read back from packages.ndjson, its repeated strings and entries shared through `pool`. */
function internPackage(p: RpmPackageMeta, pool: MetaPool): RpmPackageMeta {
  const deps = (list: RpmDep[]): RpmDep[] =>
    list.map((d) => pool.dep(d.name, d.flags, d.evr && pool.evr(d.evr.epoch, d.evr.version, d.evr.release), d.pre === true));
  return {
    name: pool.string(p.name),
    arch: pool.string(p.arch),
    evr: pool.evr(p.evr.epoch, p.evr.version, p.evr.release) as Evr,
    checksum: { type: pool.string(p.checksum.type), hex: p.checksum.hex },
    size: p.size,
    installedSize: p.installedSize,
    location: p.location,
    summary: p.summary,
    license: pool.string(p.license),
    sourceRpm: pool.string(p.sourceRpm),
    provides: deps(p.provides),
    requires: deps(p.requires),
    conflicts: deps(p.conflicts),
    obsoletes: deps(p.obsoletes),
    recommends: deps(p.recommends),
    suggests: deps(p.suggests),
    supplements: deps(p.supplements),
    enhances: deps(p.enhances),
    files: p.files,
  };
}

export interface RpmRepodataNodeOptions {
  /** Repository name (`baseos`); the node id is `rpm-repodata:<repository>` unless `id` is given. */
  repository: string;
  /**
   * Repository root (the directory holding `repodata/`): a URL, a file URL or a project-relative
   * path. Not part of the key: a mirror change costs no rebuild, the bytes decide.
   */
  url: string;
  /** Trusted OpenPGP key files (`variants/keys/RPM-GPG-KEY-Rocky-10`), each with its pinned fingerprint. */
  keys: TrustedKeyFile[];
  /** Accept a repository without repomd.xml.asc (test corpora, local mirrors). Default false. */
  allowUnsigned?: boolean;
  id?: string;
  /** Largest compressed metadata file when repomd.xml gives no size. Default 256 MiB. */
  maxBytes?: number;
  /** Largest decompressed metadata file. Default DEFAULT_MAX_UNPACKED_BYTES (1 GiB). */
  maxUnpackedBytes?: number;
}

/** A repository's verified metadata (runs on every build: the repository moves on). */
export const RPM_REPODATA_STAGE: StageKind = {
  kind: 'rpm-repodata',
  version: 1,
  summary: 'RPM repository metadata',
  tools: [
    { name: 'xz', debianPackage: 'xz-utils', versionArgs: ['--version'] },
    { name: 'zstd', debianPackage: 'zstd', versionArgs: ['--version'] },
  ],
};

/**
 * Node factory: downloads `<url>/repodata/repomd.xml` (+ .asc) on every build, verifies it, then
 * primary.xml and filelists.xml. Early cutoff keeps dependents cached while the metadata is
 * unchanged.
 */
export function rpmRepodataNode(options: RpmRepodataNodeOptions): NodeSpec {
  const allowUnsigned = options.allowUnsigned ?? false;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxUnpackedBytes = options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  if (options.keys.length === 0 && !allowUnsigned) {
    throw new Error(`rpm repository ${options.repository}: no trusted keys given, and unsigned metadata is not allowed`);
  }
  return {
    id: options.id ?? `rpm-repodata:${options.repository}`,
    kind: RPM_REPODATA_STAGE.kind,
    version: RPM_REPODATA_STAGE.version,
    alwaysRun: true,
    files: options.keys.map((k) => k.file),
    params: { repository: options.repository, keys: keyParams(options.keys), allowUnsigned, maxBytes, maxUnpackedBytes },
    unkeyed: { url: options.url },
    description: `download and verify the repodata of ${options.repository}`,
    async run(ctx) {
      const { url } = ctx.unkeyed as { url: string };
      const keyring = options.keys.length > 0 ? await loadTrustedKeys(options.keys, (f) => ctx.file(f)) : { keys: [] };
      await fetchRepodata({
        repository: options.repository,
        url,
        keyring,
        allowUnsigned,
        out: ctx.out,
        tmp: ctx.tmp,
        maxBytes,
        maxUnpackedBytes,
        signal: ctx.signal,
        baseDir: ctx.root,
        log: (line) => ctx.log(line),
      });
    },
  };
}
