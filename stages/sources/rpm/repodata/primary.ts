// primary.xml: one <package> per RPM with its name, EVR, checksum, location, dependencies and the
// few file paths (`/etc/*`, `*bin/*`) dependencies most often name. Parsed as a stream by the
// purpose-built scanner (primary-scanner.ts): memory grows with the packages kept, never with the
// document, and the strings kept are detached from the scanner's chunks and shared when repeated
// (strings.ts).
import type { DepFlag, Evr, RpmDep, RpmPackageMeta } from '../model.js';
import { RepodataFormatError } from './errors.js';
import { decodeNamedEntities, SIMPLE_VALUE, XmlScanner, type XmlAttributes, type XmlFastChild } from './primary-scanner.js';
import { MetaPool, detach, type DepEvr } from './strings.js';
import { streamVerifiedText, type ExpectedFile, type VerifiedTextOptions } from './verified-file.js';
import { checkRelativeHref, parseCount } from './xml.js';

/** `name-epoch:version-release.arch`: how packages are named across primary.xml and filelists.xml. */
export function rpmPackageKey(p: { name: string; arch: string; evr: Evr }): string {
  return `${p.name}-${p.evr.epoch}:${p.evr.version}-${p.evr.release}.${p.arch}`;
}

const DEP_LISTS = ['provides', 'requires', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances'] as const;
type DepList = (typeof DEP_LISTS)[number];
const FLAGS = new Set<string>(['EQ', 'LT', 'LE', 'GT', 'GE']);

/**
 * <rpm:entry> as createrepo_c writes it: name, then flags/epoch/ver (and rel), then pre="1", in
 * this order, double-quoted, `&` only in the five named references; and the whitespace after it.
 * Matched in one native step (see XmlFastChild); every other form goes through openElement and
 * dep() and means the same. Groups: 1 name, 2 flags, 3 epoch, 4 ver, 5 rel, 6 pre.
 */
const CREATEREPO_ENTRY = new RegExp(
  `<rpm:entry name="(${SIMPLE_VALUE}+)"(?: flags="(EQ|LT|LE|GT|GE)" epoch="([0-9]{1,15})" ver="(${SIMPLE_VALUE}*)"(?: rel="(${SIMPLE_VALUE}*)")?)?( pre="1")?/>[ \\t\\n\\r]*`,
  'y',
);

/** An epoch attribute as a number (absent or empty: 0); -1 when it is not a non-negative integer. */
function parseEpoch(text: string | undefined): number {
  if (text === undefined || text === '' || text === '0') return 0;
  const epoch = Number(text);
  return Number.isSafeInteger(epoch) && epoch >= 0 && /^\d*$/.test(text) ? epoch : -1;
}

/** The package fields whose text is collected, by the element holding it. */
type TextField = 'name' | 'arch' | 'summary' | 'checksum' | 'license' | 'sourcerpm' | 'file';

interface Draft {
  name?: string;
  arch?: string;
  evr?: Evr;
  checksum?: { type: string; hex: string };
  size?: number;
  installedSize: number;
  location?: string;
  summary: string;
  license: string;
  sourceRpm: string;
  deps: Record<DepList, RpmDep[]>;
  files: string[];
}

function newDraft(): Draft {
  return {
    installedSize: 0,
    summary: '',
    license: '',
    sourceRpm: '',
    deps: { provides: [], requires: [], conflicts: [], obsoletes: [], recommends: [], suggests: [], supplements: [], enhances: [] },
    files: [],
  };
}

/**
 * A push parser for primary.xml text: write() chunks as they come, close() at the end. Each
 * complete package goes to `onPackage`. Errors name `file` and the package.
 */
export class PrimaryParser {
  private readonly scanner: XmlScanner;
  private readonly pool = new MetaPool();
  private depth = 0;
  private draft: Draft | undefined;
  private inFormat = false;
  private depList: DepList | undefined;
  private textField: TextField | undefined;
  private textDepth = 0;
  private text = '';
  private declared: number | undefined;
  private rootSeen = false;
  private lastEvr: DepEvr | undefined;
  /** The dependency list being read, while inside one. */
  private depTarget: RpmDep[] | undefined;
  private readonly fastEntry: XmlFastChild = { pattern: CREATEREPO_ENTRY, found: (m) => this.fastDep(m) };
  /** Packages seen so far. */
  count = 0;

  constructor(
    private readonly file: string,
    private readonly onPackage: (p: RpmPackageMeta) => void,
  ) {
    this.scanner = new XmlScanner(file, {
      openElement: (name, attrs) => this.openElement(name, attrs),
      closeElement: (name) => this.closeElement(name),
      text: (text) => {
        this.text += text;
      },
    });
  }

  write(text: string): void {
    this.scanner.write(text);
  }

  /** Ends the document; checks it was complete and had as many packages as it announced. */
  close(): void {
    this.scanner.close();
    if (!this.rootSeen) throw new RepodataFormatError(`${this.file}: empty document, expected <metadata>`);
    if (this.declared !== undefined && this.declared !== this.count) {
      throw new RepodataFormatError(`${this.file}: <metadata packages="${this.declared}"> but ${this.count} packages follow`);
    }
  }

  private where(): string {
    const d = this.draft;
    return d?.name ? `package ${d.name}${d.arch ? `.${d.arch}` : ''} (#${this.count + 1})` : `package #${this.count + 1}`;
  }

  private fail(message: string): never {
    throw new RepodataFormatError(`${this.file}: ${this.where()}: ${message}`);
  }

  private collect(field: TextField): void {
    this.textField = field;
    this.textDepth = this.depth;
    this.text = '';
    this.scanner.wantText = true;
  }

  private openElement(name: string, attrs: XmlAttributes): void {
    const depth = ++this.depth;
    if (depth === 5) {
      // The hot path: ~75 of every package's ~90 elements are <rpm:entry>.
      if (this.depTarget) {
        // Inside any child of the list the fast path is off: a nested <rpm:entry> is not one.
        this.scanner.fastChild = undefined;
        if (name === 'entry') this.depTarget.push(this.dep(attrs));
      }
      return;
    }
    if (depth === 1) {
      if (name !== 'metadata') throw new RepodataFormatError(`${this.file}: the document is <${name}>, not primary.xml's <metadata>`);
      this.rootSeen = true;
      const packages = attrs.get('packages');
      if (packages !== undefined) this.declared = parseCount(packages, '<metadata packages>', this.file);
      return;
    }
    if (depth === 2) {
      if (name === 'package') this.draft = newDraft();
      return;
    }
    const d = this.draft;
    if (!d) return;
    if (depth === 3) {
      switch (name) {
        case 'name':
        case 'arch':
        case 'summary':
          this.collect(name);
          break;
        case 'version': {
          const evr = this.evr(attrs.get('epoch'), attrs.get('ver'), attrs.get('rel'), 'version');
          if (evr.release === undefined) this.fail('<version> has no rel');
          d.evr = evr as Evr;
          break;
        }
        case 'checksum':
          d.checksum = { type: this.pool.string(attrs.get('type') ?? ''), hex: '' };
          this.collect('checksum');
          break;
        case 'size': {
          const size = attrs.get('package');
          const installed = attrs.get('installed');
          if (size === undefined) this.fail('<size> has no package attribute');
          d.size = parseCount(size, `${this.where()}: <size package>`, this.file);
          if (installed !== undefined) d.installedSize = parseCount(installed, `${this.where()}: <size installed>`, this.file);
          break;
        }
        case 'location': {
          const base = attrs.get('xml:base');
          if (base !== undefined) this.fail(`<location> has an xml:base (${base}), which is not supported`);
          d.location = detach(checkRelativeHref(attrs.get('href'), this.where(), this.file));
          break;
        }
        case 'format':
          this.inFormat = true;
          break;
      }
      return;
    }
    if (!this.inFormat) return;
    if (depth === 4) {
      if (name === 'license' || name === 'sourcerpm' || name === 'file') this.collect(name);
      else if ((DEP_LISTS as readonly string[]).includes(name)) {
        this.depList = name as DepList;
        this.depTarget = d.deps[this.depList];
        this.scanner.fastChild = this.fastEntry;
      }
    }
  }

  private closeElement(name: string): void {
    const depth = this.depth--;
    if (depth === 5) {
      if (this.depTarget) this.scanner.fastChild = this.fastEntry;
      return;
    }
    const d = this.draft;
    if (this.textField && depth === this.textDepth) {
      this.finishText(d!, this.textField, this.text);
      this.textField = undefined;
      this.text = '';
      this.scanner.wantText = false;
      return;
    }
    if (depth === 4 && this.depList) {
      this.depList = undefined;
      this.depTarget = undefined;
      this.scanner.fastChild = undefined;
    }
    else if (depth === 3 && name === 'format') this.inFormat = false;
    else if (depth === 2 && d && name === 'package') {
      this.draft = undefined;
      const p = this.finish(d);
      this.count++;
      this.onPackage(p);
    }
  }

  private finishText(d: Draft, field: TextField, raw: string): void {
    switch (field) {
      case 'name':
        d.name = this.pool.string(raw.trim());
        break;
      case 'arch':
        d.arch = this.pool.string(raw.trim());
        break;
      case 'summary':
        d.summary = detach(raw);
        break;
      case 'checksum': {
        const hex = raw.trim().toLowerCase();
        if (!/^[0-9a-f]{32,128}$/.test(hex)) this.fail(`<checksum> is '${raw.trim()}', not a hex digest`);
        d.checksum!.hex = detach(hex);
        break;
      }
      case 'license':
        d.license = this.pool.string(raw);
        break;
      case 'sourcerpm':
        d.sourceRpm = this.pool.string(raw);
        break;
      case 'file':
        d.files.push(detach(raw));
        break;
    }
  }

  private evr(epochText: string | undefined, ver: string | undefined, rel: string | undefined, what: string): DepEvr {
    const epoch = parseEpoch(epochText);
    if (epoch < 0) this.fail(`<${what}> has epoch '${epochText}', not a non-negative integer`);
    if (ver === undefined) this.fail(`<${what}> has no ver`);
    return (this.lastEvr = this.pool.evr(epoch, ver, rel));
  }

  private dep(attrs: XmlAttributes): RpmDep {
    let name: string | undefined;
    let flags: string | undefined;
    let epoch: string | undefined;
    let ver: string | undefined;
    let rel: string | undefined;
    let pre = false;
    const { names, values } = attrs;
    for (let i = 0; i < attrs.count; i++) {
      switch (names[i]) {
        case 'name':
          name = values[i];
          break;
        case 'flags':
          flags = values[i];
          break;
        case 'epoch':
          epoch = values[i];
          break;
        case 'ver':
          ver = values[i];
          break;
        case 'rel':
          rel = values[i];
          break;
        case 'pre':
          pre = values[i] === '1';
          break;
      }
    }
    if (!name) this.fail(`an <rpm:entry> in <rpm:${this.depList}> has no name`);
    if (flags === undefined) return this.pool.plainDep(name, pre);
    if (!FLAGS.has(flags)) this.fail(`<rpm:${this.depList}> entry ${name} has flags '${flags}' (expected EQ, LT, LE, GT or GE)`);
    const epochNumber = parseEpoch(epoch);
    if (epochNumber < 0) this.fail(`<rpm:entry name="${name}"> has epoch '${epoch}', not a non-negative integer`);
    if (ver === undefined) this.fail(`<rpm:entry name="${name}"> has no ver`);
    const dep = this.pool.versionedDep(name, flags as DepFlag, epochNumber, ver, rel, pre, this.lastEvr);
    this.lastEvr = dep.evr;
    return dep;
  }

  /** An <rpm:entry> matched by CREATEREPO_ENTRY. */
  private fastDep(m: RegExpExecArray): void {
    // Entity references are rare (`(foo &gt;= 1 if bar)`): decode only when the tag has one.
    const decode = m[0].indexOf('&') >= 0;
    const name = decode ? decodeNamedEntities(m[1]!) : m[1]!;
    const flags = m[2];
    const pre = m[6] !== undefined;
    let dep: RpmDep;
    if (flags === undefined) {
      dep = this.pool.plainDep(name, pre);
    } else {
      const epoch = parseEpoch(m[3]);
      if (epoch < 0) this.fail(`<rpm:entry name="${name}"> has epoch '${m[3]}', not a non-negative integer`);
      const ver = m[4]!;
      const rel = m[5];
      dep = decode
        ? this.pool.versionedDep(name, flags as DepFlag, epoch, decodeNamedEntities(ver), rel === undefined ? rel : decodeNamedEntities(rel), pre, this.lastEvr)
        : this.pool.versionedDep(name, flags as DepFlag, epoch, ver, rel, pre, this.lastEvr);
      this.lastEvr = dep.evr;
    }
    this.depTarget!.push(dep);
  }

  private finish(d: Draft): RpmPackageMeta {
    if (!d.name) this.fail('no <name>');
    if (!d.arch) this.fail('no <arch>');
    if (!d.evr) this.fail('no <version>');
    if (!d.checksum || !d.checksum.hex) this.fail('no <checksum>');
    if (d.size === undefined) this.fail('no <size>');
    if (!d.location) this.fail('no <location>');
    return {
      name: d.name,
      arch: d.arch,
      evr: d.evr,
      checksum: d.checksum,
      size: d.size,
      installedSize: d.installedSize,
      location: d.location,
      summary: d.summary,
      license: d.license,
      sourceRpm: d.sourceRpm,
      ...d.deps,
      files: d.files,
    };
  }
}

export interface PrimaryReadOptions extends VerifiedTextOptions {}

/**
 * Verifies a downloaded primary.xml(.gz|.xz|.zst) against its repomd.xml entry and streams its
 * packages to `onPackage`. Packages seen before a failure are not to be trusted: a caller keeps
 * them only when this resolves.
 */
export async function forEachPrimaryPackage(
  path: string,
  expected: ExpectedFile,
  file: string,
  onPackage: (p: RpmPackageMeta) => void,
  options: PrimaryReadOptions = {},
): Promise<number> {
  const parser = new PrimaryParser(file, onPackage);
  await streamVerifiedText(path, expected, file, (text) => parser.write(text), options);
  parser.close();
  return parser.count;
}

/** All packages of a verified primary.xml, in document order. */
export async function readPrimary(path: string, expected: ExpectedFile, file: string, options: PrimaryReadOptions = {}): Promise<RpmPackageMeta[]> {
  const packages: RpmPackageMeta[] = [];
  await forEachPrimaryPackage(path, expected, file, (p) => packages.push(p), options);
  return packages;
}

/** Parses primary.xml text held in memory (small documents: tests, fixtures). */
export function parsePrimaryText(text: string, file: string): RpmPackageMeta[] {
  const packages: RpmPackageMeta[] = [];
  const parser = new PrimaryParser(file, (p) => packages.push(p));
  parser.write(text);
  parser.close();
  return packages;
}
