// filelists.xml: every file of every package. Large (EL AppStream: ~10x primary.xml), and needed
// only for the rare file dependency primary.xml does not answer (it lists `/etc/*` and `*bin/*`
// files only), so it is read on demand: one streaming pass looks up a set of paths and keeps
// nothing else.
import type { Evr } from '../model.js';
import { RepodataFormatError } from './errors.js';
import { rpmPackageKey } from './primary.js';
import { streamVerifiedText, type ExpectedFile, type VerifiedTextOptions } from './verified-file.js';
import { asFormatError, createXmlParser, localName } from './xml.js';

/**
 * A push parser for filelists.xml text that records, for each path of `paths`, the packages
 * listing it (directories and %ghost files count: rpm lets them satisfy a dependency).
 */
export class FilelistsLookup {
  private readonly parser;
  /** Path -> package keys (rpmPackageKey), in document order. */
  readonly providers = new Map<string, string[]>();
  private depth = 0;
  private pkg: { name: string; arch: string; evr?: Evr } | undefined;
  private matches: string[] = [];
  private inFile = false;
  private text = '';
  private rootSeen = false;

  constructor(
    private readonly file: string,
    private readonly paths: ReadonlySet<string>,
  ) {
    this.parser = createXmlParser(file);
    this.parser.on('opentag', (tag) => this.openElement(localName(tag.name), tag.attributes));
    this.parser.on('text', (text) => {
      if (this.inFile) this.text += text;
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

  close(): Map<string, string[]> {
    try {
      this.parser.close();
    } catch (err) {
      throw asFormatError(err);
    }
    if (!this.rootSeen) throw new RepodataFormatError(`${this.file}: empty document, expected <filelists>`);
    return this.providers;
  }

  private openElement(name: string, attrs: Record<string, string>): void {
    const depth = ++this.depth;
    if (depth === 1) {
      if (name !== 'filelists') throw new RepodataFormatError(`${this.file}: the document is <${name}>, not filelists.xml's <filelists>`);
      this.rootSeen = true;
    } else if (depth === 2 && name === 'package') {
      if (!attrs.name || !attrs.arch) throw new RepodataFormatError(`${this.file}: a <package> without name or arch (pkgid ${attrs.pkgid ?? 'none'})`);
      this.pkg = { name: attrs.name, arch: attrs.arch };
      this.matches = [];
    } else if (depth === 3 && this.pkg && name === 'version') {
      const epoch = attrs.epoch ? Number(attrs.epoch) : 0;
      if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RepodataFormatError(`${this.file}: package ${this.pkg.name}: epoch '${attrs.epoch}' is not a non-negative integer`);
      this.pkg.evr = { epoch, version: attrs.ver ?? '', release: attrs.rel ?? '' };
    } else if (depth === 3 && this.pkg && name === 'file') {
      this.inFile = true;
      this.text = '';
    }
  }

  private closeElement(name: string): void {
    const depth = this.depth--;
    if (depth === 3 && this.inFile) {
      this.inFile = false;
      if (this.paths.has(this.text)) this.matches.push(this.text);
      this.text = '';
    } else if (depth === 2 && this.pkg && name === 'package') {
      const pkg = this.pkg;
      this.pkg = undefined;
      if (this.matches.length === 0) return;
      if (!pkg.evr) throw new RepodataFormatError(`${this.file}: package ${pkg.name}.${pkg.arch} has no <version>`);
      const key = rpmPackageKey({ name: pkg.name, arch: pkg.arch, evr: pkg.evr });
      for (const path of this.matches) {
        const known = this.providers.get(path);
        if (!known) this.providers.set(path, [key]);
        else if (!known.includes(key)) known.push(key);
      }
    }
  }
}

/**
 * Verifies a filelists.xml(.gz|.xz|.zst) against its repomd.xml entry and returns, for each of
 * `paths` that some package lists, the keys (rpmPackageKey) of those packages. Paths nobody lists
 * are absent from the map.
 */
export async function findFileProviders(
  path: string,
  expected: ExpectedFile,
  file: string,
  paths: ReadonlySet<string>,
  options: VerifiedTextOptions = {},
): Promise<Map<string, string[]>> {
  const lookup = new FilelistsLookup(file, paths);
  await streamVerifiedText(path, expected, file, (text) => lookup.write(text), options);
  return lookup.close();
}
