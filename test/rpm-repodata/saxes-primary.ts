// The saxes-based primary.xml parser as it was before the purpose-built scanner replaced it,
// kept here only as the reference the new parser must equal (primary-equivalence.test.ts):
// the same RpmPackageMeta for the same text, chunked any way.
import type { DepFlag, Evr, RpmDep, RpmPackageMeta } from '../../stages/sources/rpm/model.js';
import { RepodataFormatError } from '../../stages/sources/rpm/repodata/errors.js';
import { asFormatError, checkRelativeHref, createXmlParser, localName, parseCount, type XmlParser } from '../../stages/sources/rpm/repodata/xml.js';

/** V8 copies slices shorter than this (SlicedString::kMinLength); longer ones are views. */
const SLICE_MIN_LENGTH = 13;

/** `s` as a string of its own, sharing no memory with the text it was cut from. */
function detach(s: string): string {
  return s.length < SLICE_MIN_LENGTH ? s : Buffer.from(s, 'utf8').toString('utf8');
}

type DepEvr = NonNullable<RpmDep['evr']>;

class MetaPool {
  private readonly strings = new Map<string, string>();
  private readonly evrs = new Map<string, DepEvr>();
  /** Unversioned entries (most requires: sonames, paths), by name; `pre` ones apart. */
  private readonly plainDeps = new Map<string, RpmDep>();
  private readonly plainPreDeps = new Map<string, RpmDep>();
  private readonly versionedDeps = new Map<string, RpmDep>();

  /** The pool's copy of `s` (detached), added on first sight. */
  string(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    const own = detach(s);
    this.strings.set(own, own);
    return own;
  }

  /** A shared, frozen EVR (`release` absent stays absent). */
  evr(epoch: number, version: string, release: string | undefined): DepEvr {
    const key = release === undefined ? `${epoch}:${version}` : `${epoch}:${version}-${release}\u0000`;
    let evr = this.evrs.get(key);
    if (!evr) {
      evr = Object.freeze(release === undefined ? { epoch, version: this.string(version) } : { epoch, version: this.string(version), release: this.string(release) });
      this.evrs.set(key, evr);
    }
    return evr;
  }

  /** A dependency entry, shared and frozen. */
  dep(name: string, flags: DepFlag | undefined, evr: DepEvr | undefined, pre: boolean): RpmDep {
    if (flags === undefined) {
      const shared = pre ? this.plainPreDeps : this.plainDeps;
      let dep = shared.get(name);
      if (!dep) {
        const own = this.string(name);
        dep = Object.freeze(pre ? { name: own, pre: true } : { name: own });
        shared.set(own, dep);
      }
      return dep;
    }
    const key = `${pre ? '1' : '0'}${flags}${evr!.epoch}:${evr!.version}-${evr!.release ?? '\u0000'}\u0000${name}`;
    let dep = this.versionedDeps.get(key);
    if (!dep) {
      const own: RpmDep = { name: this.string(name), flags, evr };
      if (pre) own.pre = true;
      dep = Object.freeze(own);
      this.versionedDeps.set(key, dep);
    }
    return dep;
  }
}

const DEP_LISTS = ['provides', 'requires', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances'] as const;
type DepList = (typeof DEP_LISTS)[number];
const FLAGS = new Set<string>(['EQ', 'LT', 'LE', 'GT', 'GE']);

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
export class SaxesPrimaryParser {
  private readonly parser: XmlParser;
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
  /** Packages seen so far. */
  count = 0;

  constructor(
    private readonly file: string,
    private readonly onPackage: (p: RpmPackageMeta) => void,
  ) {
    this.parser = createXmlParser(file);
    this.parser.on('opentag', (tag) => this.openElement(localName(tag.name), tag.attributes));
    this.parser.on('text', (text) => {
      if (this.textField) this.text += text;
    });
    this.parser.on('closetag', (tag) => this.closeElement(localName(tag.name)));
  }

  write(text: string): void {
    try {
      this.parser.write(text);
    } catch (err) {
      throw asFormatError(err);
    }
  }

  /** Ends the document; checks it was complete and had as many packages as it announced. */
  close(): void {
    try {
      this.parser.close();
    } catch (err) {
      throw asFormatError(err);
    }
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
  }

  private openElement(name: string, attrs: Record<string, string>): void {
    const depth = ++this.depth;
    if (depth === 1) {
      if (name !== 'metadata') throw new RepodataFormatError(`${this.file}: the document is <${name}>, not primary.xml's <metadata>`);
      this.rootSeen = true;
      if (attrs.packages !== undefined) this.declared = parseCount(attrs.packages, '<metadata packages>', this.file);
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
          const evr = this.evr(attrs, 'version');
          if (evr.release === undefined) this.fail('<version> has no rel');
          d.evr = evr as Evr;
          break;
        }
        case 'checksum':
          d.checksum = { type: this.pool.string(attrs.type ?? ''), hex: '' };
          this.collect('checksum');
          break;
        case 'size':
          if (attrs.package === undefined) this.fail('<size> has no package attribute');
          d.size = parseCount(attrs.package, `${this.where()}: <size package>`, this.file);
          if (attrs.installed !== undefined) d.installedSize = parseCount(attrs.installed, `${this.where()}: <size installed>`, this.file);
          break;
        case 'location':
          if (attrs['xml:base'] !== undefined) this.fail(`<location> has an xml:base (${attrs['xml:base']}), which is not supported`);
          d.location = detach(checkRelativeHref(attrs.href, this.where(), this.file));
          break;
        case 'format':
          this.inFormat = true;
          break;
      }
      return;
    }
    if (!this.inFormat) return;
    if (depth === 4) {
      if (name === 'license' || name === 'sourcerpm' || name === 'file') this.collect(name);
      else if ((DEP_LISTS as readonly string[]).includes(name)) this.depList = name as DepList;
      return;
    }
    if (depth === 5 && this.depList && name === 'entry') d.deps[this.depList].push(this.dep(attrs));
  }

  private closeElement(name: string): void {
    const depth = this.depth--;
    const d = this.draft;
    if (this.textField && depth === this.textDepth) {
      this.finishText(d!, this.textField, this.text);
      this.textField = undefined;
      this.text = '';
      return;
    }
    if (depth === 4 && this.depList) this.depList = undefined;
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

  private evr(attrs: Record<string, string>, what: string): DepEvr {
    const epoch = attrs.epoch === undefined || attrs.epoch === '' ? 0 : Number(attrs.epoch);
    if (!Number.isSafeInteger(epoch) || epoch < 0 || !/^\d*$/.test(attrs.epoch ?? '')) this.fail(`<${what}> has epoch '${attrs.epoch}', not a non-negative integer`);
    if (attrs.ver === undefined) this.fail(`<${what}> has no ver`);
    return this.pool.evr(epoch, attrs.ver, attrs.rel);
  }

  private dep(attrs: Record<string, string>): RpmDep {
    const name = attrs.name;
    if (!name) this.fail(`an <rpm:entry> in <rpm:${this.depList}> has no name`);
    const flags = attrs.flags;
    if (flags === undefined) return this.pool.dep(name, undefined, undefined, attrs.pre === '1');
    if (!FLAGS.has(flags)) this.fail(`<rpm:${this.depList}> entry ${name} has flags '${flags}' (expected EQ, LT, LE, GT or GE)`);
    return this.pool.dep(name, flags as DepFlag, this.evr(attrs, `rpm:entry name="${name}"`), attrs.pre === '1');
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


/** Parses primary.xml text with the saxes reference parser, fed in the given chunks. */
export function parseWithSaxes(chunks: Iterable<string>, file: string): RpmPackageMeta[] {
  const packages: RpmPackageMeta[] = [];
  const parser = new SaxesPrimaryParser(file, (p) => packages.push(p));
  for (const chunk of chunks) parser.write(chunk);
  parser.close();
  return packages;
}
