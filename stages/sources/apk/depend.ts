// Dependency strings as apk writes them in APKINDEX `D:`/`p:`/`i:` fields and in /etc/apk/world:
//   [!]name[@tag][op version]      op: = < > <= >= ~ >~ <~ ><
// Names may be virtual: `so:libc.musl-x86_64.so.1`, `cmd:sh`, `pc:zlib`, `/bin/sh`.
// Follows apk-tools' apk_dep_parse / apk_blob_pull_dep (src/package.c).
import {
  DEPMASK_ANY,
  DEPMASK_CHECKSUM,
  VERSION_CONFLICT,
  isValidVersion,
  operatorMask,
  operatorString,
} from './version.js';

export interface Dependency {
  /** Package or virtual name (`busybox`, `so:libcrypto.so.3`, `cmd:sh`, `/bin/sh`). */
  name: string;
  /** `!name`: the name must not be installed (in a `D:` list: a conflict). */
  conflict: boolean;
  /** `name@tag`: only allowed in requests (world), never inside an index. */
  tag?: string;
  /** Operator bits (version.ts); DEPMASK_ANY when no version is given. Excludes VERSION_CONFLICT. */
  mask: number;
  /** The version (or checksum for `><`); undefined when any version matches. */
  version?: string;
  /** The version is not a valid apk version (apk then marks the package uninstallable). */
  broken: boolean;
}

export class DependencyFormatError extends Error {
  constructor(
    readonly text: string,
    readonly reason: string,
  ) {
    super(`invalid dependency "${text}": ${reason}`);
    this.name = 'DependencyFormatError';
  }
}

function isComparer(c: number): boolean {
  return c === 60 /* < */ || c === 61 /* = */ || c === 62 /* > */ || c === 126 /* ~ */;
}

/** Parses one dependency. `allowTag`: accept `name@tag` (requests yes, index entries no). */
export function parseDependency(text: string, options: { allowTag?: boolean } = {}): Dependency {
  const conflict = text.charCodeAt(0) === 33; /* ! */
  const start = conflict ? 1 : 0;

  let at = start;
  while (at < text.length && !isComparer(text.charCodeAt(at))) at++;
  let name = text.slice(start, at);
  let mask = DEPMASK_ANY;
  let version: string | undefined;
  if (at < text.length) {
    let end = at;
    while (end < text.length && isComparer(text.charCodeAt(end))) end++;
    mask = operatorMask(text.slice(at, end));
    version = text.slice(end);
  }

  let tag: string | undefined;
  const atSign = name.indexOf('@');
  if (atSign >= 0) {
    if (!options.allowTag) {
      throw new DependencyFormatError(text, 'a repository tag (@tag) is only allowed in a package request');
    }
    tag = name.slice(atSign + 1);
    name = name.slice(0, atSign);
    if (tag.length === 0) throw new DependencyFormatError(text, 'empty repository tag after "@"');
  }
  if (name.length === 0) throw new DependencyFormatError(text, 'missing package name');
  if (name.includes(' ') || name.includes('\t') || name.includes('\n')) {
    throw new DependencyFormatError(text, 'whitespace inside a package name');
  }

  // A checksum "version" (><) is not a version; anything else must be one.
  const broken =
    version !== undefined && (mask & DEPMASK_CHECKSUM) !== DEPMASK_CHECKSUM && !isValidVersion(version);

  const dep: Dependency = { name, conflict, mask, broken };
  if (tag !== undefined) dep.tag = tag;
  if (version !== undefined) dep.version = version;
  return dep;
}

/**
 * Parses a list separated by spaces or newlines (an APKINDEX `D:`, `p:` or `i:` value).
 * Throws on the first malformed entry.
 */
export function parseDependencyList(text: string, options: { allowTag?: boolean } = {}): Dependency[] {
  const out: Dependency[] = [];
  for (const item of text.includes('\n') ? text.split(/[ \n]/) : text.split(' ')) {
    if (item.length > 0) out.push(parseDependency(item, options));
  }
  return out;
}

/** The operator mask as apk's matcher expects it (adds VERSION_CONFLICT for `!`). */
export function matchMask(dep: Dependency): number {
  return dep.conflict ? dep.mask | VERSION_CONFLICT : dep.mask;
}

/** Canonical text of a dependency: `!name@tag>=1.2`. */
export function formatDependency(dep: Dependency): string {
  let s = (dep.conflict ? '!' : '') + dep.name;
  if (dep.tag !== undefined) s += '@' + dep.tag;
  if (dep.version !== undefined) s += operatorString(dep.mask) + dep.version;
  return s;
}

/** The constraint part only (`>=1.2`, `` for any version). */
export function formatConstraint(dep: Dependency): string {
  return dep.version === undefined ? '' : operatorString(dep.mask) + dep.version;
}

export type VirtualKind = 'so' | 'cmd' | 'pc' | 'path';

/** Kind of an automatically generated virtual name, or undefined for an ordinary name. */
export function virtualKind(name: string): VirtualKind | undefined {
  if (name.startsWith('so:')) return 'so';
  if (name.startsWith('cmd:')) return 'cmd';
  if (name.startsWith('pc:')) return 'pc';
  if (name.startsWith('/')) return 'path';
  return undefined;
}
