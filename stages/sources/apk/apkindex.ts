// APKINDEX text (the `APKINDEX` member of APKINDEX.tar.gz): one record per package, records
// separated by blank lines, one `X:value` field per line. Field letters as apk-tools reads them
// (apk_pkgtmpl_add_info in src/package.c):
//   C checksum (Q1 + base64 SHA1 of the control segment)  P name  V version  A arch
//   S size  I installed size  T description  U url  L license  o origin  m maintainer
//   t build time  c commit  k provider_priority  D depends  p provides  i install_if
//   r replaces  q replaces_priority
// An unknown UPPERCASE field makes the package uninstallable (it needs a newer apk to be
// understood); unknown lowercase fields are informational and ignored, as in apk.
import { type Dependency, DependencyFormatError, parseDependencyList } from './depend.js';

export interface ApkRepositoryRef {
  /** The repository's configured name (`main`, `community`, `local`). */
  name: string;
  /** Where its packages are fetched from (`<alpine-mirror>/v3.16/main/x86_64`). */
  url?: string;
  /** Pinning tag: packages of a tagged repository are only installed when asked for with `@tag`. */
  tag?: string;
}

export interface ApkPackage {
  name: string;
  version: string;
  /** `C:` as written: `Q1<base64 sha1>` (or `Q2<base64 sha256>`). */
  checksum: string;
  arch?: string;
  /** Size of the .apk file in bytes. */
  size?: number;
  installedSize?: number;
  description?: string;
  url?: string;
  license?: string;
  origin?: string;
  maintainer?: string;
  buildTime?: number;
  commit?: string;
  /** `k:` (0 when absent): which provider of an unversioned virtual apk picks. */
  providerPriority: number;
  depends: Dependency[];
  provides: Dependency[];
  installIf: Dependency[];
  replaces: Dependency[];
  replacesPriority?: number;
  /** Set when apk would refuse to install the package; says why. */
  uninstallable?: string;
  /** The repository this record was read from. */
  repository: ApkRepositoryRef;
  /** 1-based line of the record's first field, for messages. */
  line: number;
}

export interface ApkIndex {
  repository: ApkRepositoryRef;
  packages: ApkPackage[];
  /** Fields apk would ignore with a warning (malformed `p:`/`i:`), as readable lines. */
  warnings: string[];
}

export class IndexParseError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${source}:${line}: ${reason}`);
    this.name = 'IndexParseError';
  }
}

/** How errors name the index: the caller's file name, else the repository. */
function describeSource(repository: ApkRepositoryRef, source?: string): string {
  return source ?? `APKINDEX of repository ${repository.name}`;
}

/** One record being read: scalar fields as they come, dependency lists as raw text. */
interface RecordBuilder {
  line: number;
  pkg: ApkPackage;
  hasChecksum: boolean;
  lists: { D?: string; p?: string; i?: string; r?: string };
  unknownUpper?: string;
}

function parseUint(value: string, source: string, line: number, field: string): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) throw new IndexParseError(source, line, `field ${field}: expected a number, got "${value}"`);
    n = n * 10 + c;
  }
  if (value.length === 0) throw new IndexParseError(source, line, `field ${field}: empty number`);
  return n;
}

/**
 * Parses APKINDEX text into package records, in file order.
 * `source` names the file in errors (defaults to the repository name).
 */
export function parseApkIndex(text: string, repository: ApkRepositoryRef, source?: string): ApkIndex {
  const where = describeSource(repository, source);
  const packages: ApkPackage[] = [];
  const warnings: string[] = [];
  let current: RecordBuilder | undefined;
  let lineNo = 0;
  let pos = 0;

  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    lineNo++;
    if (end === pos) {
      if (current) packages.push(finishRecord(current, where, warnings));
      current = undefined;
      pos = end + 1;
      continue;
    }
    if (end - pos < 2 || text.charCodeAt(pos + 1) !== 58 /* : */) {
      throw new IndexParseError(where, lineNo, `expected "X:value", got "${text.slice(pos, Math.min(end, pos + 60))}"`);
    }
    current ??= newRecord(repository, lineNo);
    const key = text[pos]!;
    const value = text.slice(pos + 2, end);
    pos = end + 1;
    setField(current, key, value, where, lineNo);
  }
  if (current) packages.push(finishRecord(current, where, warnings));
  return { repository, packages, warnings };
}

function newRecord(repository: ApkRepositoryRef, line: number): RecordBuilder {
  return {
    line,
    hasChecksum: false,
    lists: {},
    // Every field present from the start: one object shape for all records (faster).
    pkg: {
      name: '',
      version: '',
      checksum: '',
      arch: undefined,
      size: undefined,
      installedSize: undefined,
      description: undefined,
      url: undefined,
      license: undefined,
      origin: undefined,
      maintainer: undefined,
      buildTime: undefined,
      commit: undefined,
      providerPriority: 0,
      depends: [],
      provides: [],
      installIf: [],
      replaces: [],
      replacesPriority: undefined,
      uninstallable: undefined,
      repository,
      line,
    },
  };
}

// As in apk: a repeated dependency field adds to its list, a repeated scalar field wins.
function setField(record: RecordBuilder, key: string, value: string, where: string, line: number): void {
  const pkg = record.pkg;
  switch (key) {
    case 'P':
      pkg.name = value;
      break;
    case 'V':
      pkg.version = value;
      break;
    case 'C':
      pkg.checksum = value;
      record.hasChecksum = true;
      break;
    case 'A':
      pkg.arch = value;
      break;
    case 'S':
      pkg.size = parseUint(value, where, line, 'S');
      break;
    case 'I':
      pkg.installedSize = parseUint(value, where, line, 'I');
      break;
    case 'T':
      pkg.description = value;
      break;
    case 'U':
      pkg.url = value;
      break;
    case 'L':
      pkg.license = value;
      break;
    case 'o':
      pkg.origin = value;
      break;
    case 'm':
      pkg.maintainer = value;
      break;
    case 't':
      pkg.buildTime = parseUint(value, where, line, 't');
      break;
    case 'c':
      pkg.commit = value;
      break;
    case 'k':
      pkg.providerPriority = parseUint(value, where, line, 'k');
      break;
    case 'q':
      pkg.replacesPriority = parseUint(value, where, line, 'q');
      break;
    case 'D':
    case 'p':
    case 'i':
    case 'r': {
      const previous = record.lists[key];
      record.lists[key] = previous === undefined ? value : `${previous} ${value}`;
      break;
    }
    default:
      // Unknown uppercase: needs a newer apk; unknown lowercase: informational.
      if (key >= 'A' && key <= 'Z') record.unknownUpper ??= key;
  }
}

function finishRecord(record: RecordBuilder, where: string, warnings: string[]): ApkPackage {
  const pkg = record.pkg;
  const at = record.line;
  if (!pkg.name) throw new IndexParseError(where, at, 'record without package name (P:)');
  if (!pkg.version) throw new IndexParseError(where, at, `package ${pkg.name}: record without version (V:)`);
  if (!record.hasChecksum || !pkg.checksum) {
    throw new IndexParseError(where, at, `package ${pkg.name}-${pkg.version}: record without checksum (C:)`);
  }
  const nv = `${pkg.name}-${pkg.version}`;
  const { D, p, i, r } = record.lists;
  if (D !== undefined) {
    // apk: a malformed or version-broken dependency list makes the package uninstallable.
    const parsed = tryParseList(D);
    if (parsed instanceof DependencyFormatError) pkg.uninstallable = `malformed dependency list: ${parsed.message}`;
    else {
      pkg.depends = parsed;
      const broken = parsed.find((d) => d.broken);
      if (broken) pkg.uninstallable = `dependency ${broken.name} has an invalid version "${broken.version}"`;
    }
  }
  // apk ignores a malformed provides / install_if / replaces list (with a warning).
  const optional = (key: string, text: string | undefined): Dependency[] => {
    if (text === undefined) return [];
    const parsed = tryParseList(text);
    if (!(parsed instanceof DependencyFormatError)) return parsed;
    warnings.push(`${where}:${at}: ${nv}: ignoring field ${key}: ${parsed.message}`);
    return [];
  };
  pkg.provides = optional('p', p);
  pkg.installIf = optional('i', i);
  pkg.replaces = optional('r', r);
  if (record.unknownUpper !== undefined) {
    pkg.uninstallable = `unknown index field "${record.unknownUpper}:" (it needs a newer apk): update the resolver or drop the package`;
  }
  return pkg;
}

function tryParseList(value: string): Dependency[] | DependencyFormatError {
  try {
    return parseDependencyList(value);
  } catch (error) {
    if (error instanceof DependencyFormatError) return error;
    throw error;
  }
}
