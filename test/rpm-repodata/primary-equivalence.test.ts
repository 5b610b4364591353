// The purpose-built primary.xml scanner against the saxes-based parser it replaced
// (saxes-primary.ts): the same RpmPackageMeta, deep-equal, on the whole CentOS Stream 9
// primary.xml, on repositories createrepo_c writes here and on the fixture mirror, fed in one
// piece, in 64 KiB chunks, in random-size chunks and one character at a time. Then the XML they
// must both read the same way although createrepo_c never writes it (entities, CDATA, comments,
// ' quotes, odd whitespace, \r\n), and malformed XML both refuse, with line and column.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompressBuffer } from '../../formats/decompress.js';
import { projectRoot } from '../../fixtures/paths.js';
import type { RpmPackageMeta } from '../../stages/sources/rpm/model.js';
import { RepodataFormatError } from '../../stages/sources/rpm/repodata/errors.js';
import { parsePrimaryText, PrimaryParser } from '../../stages/sources/rpm/repodata/primary.js';
import { corpusFile, corpusPresent, CS9_DIR } from './corpus.js';
import { buildTinyRpms, createrepo, repomdLocation } from './repo-builder.js';
import { parseWithSaxes } from './saxes-primary.js';
import { ensureRpmMirror } from '../../fixtures/rpm/build-mirror.js';

/** A small deterministic PRNG (mulberry32), so a failing chunking can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `text` cut into pieces of 1..max characters. */
function randomChunks(text: string, seed: number, max: number): string[] {
  const next = random(seed);
  const chunks: string[] = [];
  for (let i = 0; i < text.length; ) {
    const size = 1 + Math.floor(next() * max);
    chunks.push(text.slice(i, i + size));
    i += size;
  }
  return chunks;
}

function fixedChunks(text: string, size: number): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
  return chunks;
}

function parseChunks(chunks: Iterable<string>, file: string): RpmPackageMeta[] {
  const packages: RpmPackageMeta[] = [];
  const parser = new PrimaryParser(file, (p) => packages.push(p));
  for (const chunk of chunks) parser.write(chunk);
  parser.close();
  return packages;
}

/** Both parsers on `text`, whole and chunked several ways: all equal to the saxes result. */
function expectSameAsSaxes(text: string, file: string, chunkings: string[][]): RpmPackageMeta[] {
  const reference = parseWithSaxes([text], file);
  expect(parsePrimaryText(text, file)).toEqual(reference);
  for (const chunks of chunkings) expect(parseChunks(chunks, file)).toEqual(reference);
  return reference;
}

/** The first `count` packages of a primary.xml as a document of their own. */
function firstPackages(text: string, count: number): string {
  let end = 0;
  for (let i = 0; i < count; i++) end = text.indexOf('</package>', end) + '</package>'.length;
  return `${text.slice(0, end).replace(/packages="\d+"/, `packages="${count}"`)}\n</metadata>\n`;
}

const present = corpusPresent();
if (!present) console.warn(`skipping the scanner-against-saxes corpus tests: ${CS9_DIR} is absent`);

describe.skipIf(!present)('CentOS Stream 9 primary.xml: the scanner equals saxes', () => {
  const text = present ? gunzipSync(readFileSync(corpusFile('primary').path)).toString('utf8') : '';

  it('all 1,125 packages, whole, in 64 KiB chunks and in random chunks of up to 4 KiB', () => {
    const packages = expectSameAsSaxes(text, 'primary.xml', [fixedChunks(text, 64 << 10), randomChunks(text, 1, 4096)]);
    expect(packages).toHaveLength(1125);
    // Rich dependencies hold &lt; &gt; in attributes; summaries hold &amp; and &quot;.
    expect(packages.flatMap((p) => p.requires).some((d) => d.name.includes('>='))).toBe(true);
  }, 60_000);

  it('the first 40 packages one character at a time, and in random chunks of up to 16', () => {
    const head = firstPackages(text, 40);
    const packages = expectSameAsSaxes(head, 'primary.xml', [[...head], randomChunks(head, 2, 16), randomChunks(head, 3, 200)]);
    expect(packages).toHaveLength(40);
  }, 60_000);
});

const RPM_TESTS_RPMS = join(projectRoot(), '..', 'shared', 'corpus', 'rpm-tests', 'RPMS');

describe('createrepo_c repositories: the scanner equals saxes', () => {
  it('tiny RPMs from rpmbuild (rich, pre, epoch, ~ and ^ dependencies) and rpm test packages', () => {
    const dir = mkdtempSync(join(tmpdir(), 'equiv-repo-'));
    buildTinyRpms(dir);
    // rpm's own test packages too, where present: arches, capabilities, odd names.
    if (existsSync(RPM_TESTS_RPMS)) {
      for (const f of readdirSync(RPM_TESTS_RPMS)) if (/^(capstest|foo|hello-1\.0-1\.(i386|ppc64))[^/]*\.rpm$/.test(f)) cpSync(join(RPM_TESTS_RPMS, f), join(dir, f));
    }
    createrepo(dir, 'gz');
    const text = gunzipSync(readFileSync(join(dir, repomdLocation(dir, 'primary')))).toString('utf8');
    const packages = expectSameAsSaxes(text, 'primary.xml', [[...text], randomChunks(text, 4, 64)]);
    expect(packages.map((p) => p.name)).toEqual(expect.arrayContaining(['tiny-tools', 'tiny-libs']));
    const tools = packages.find((p) => p.name === 'tiny-tools')!;
    expect(tools.summary).toBe('A tiny tool & friends');
    expect(tools.requires).toContainEqual({ name: '(tiny-libs >= 3:2.0 if tiny-extra)' });
  }, 120_000);

  it('the fixture mirror (zstd repodata)', async () => {
    // Built here when no earlier test has (cached in out/fixtures/rpm, shared with the other files).
    const mirror = await ensureRpmMirror();
    for (const repo of Object.values(mirror.repos)) {
      const text = (await decompressBuffer(readFileSync(join(repo, repomdLocation(repo, 'primary'))))).toString('utf8');
      const packages = expectSameAsSaxes(text, repo, [fixedChunks(text, 4096), randomChunks(text, 5, 512)]);
      expect(packages.length).toBeGreaterThan(0);
    }
  }, 600_000);
});

const HEX = 'ab'.repeat(32);

function doc(body: string, head = '<?xml version="1.0" encoding="UTF-8"?>\n'): string {
  return `${head}<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">\n${body}\n</metadata>\n`;
}

function pkg(parts: { name?: string; summary?: string; format?: string; version?: string; extra?: string } = {}): string {
  return `<package type="rpm">
  <name>${parts.name ?? 'foo'}</name>
  <arch>x86_64</arch>
  ${parts.version ?? '<version epoch="0" ver="1.0" rel="1"/>'}
  <checksum type="sha256" pkgid="YES">${HEX}</checksum>
  <summary>${parts.summary ?? 'Foo'}</summary>
  <description>Foo.</description>
  <size package="10" installed="20" archive="30"/>
  <location href="Packages/f/foo-1.0-1.x86_64.rpm"/>
  ${parts.extra ?? ''}
  <format>${parts.format ?? ''}</format>
</package>`;
}

/** Whole, one character at a time, and three random chunkings. */
function allChunkings(text: string): string[][] {
  return [[text], [...text], randomChunks(text, 6, 3), randomChunks(text, 7, 7), randomChunks(text, 8, 40)];
}

describe('XML createrepo_c does not write, read as saxes reads it', () => {
  it.each([
    ['entities in text and attributes', doc(pkg({ summary: 'a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#65;&#x42;&#x1F600;&#x0000043;&#00068;', format: '<rpm:requires><rpm:entry name="(a &gt;= 1 if b)"/><rpm:entry name="x&amp;y" flags="GE" ver="1&#46;0"/><rpm:entry name="a&quot;b" flags="EQ" epoch="0" ver="1&amp;2" rel="3&lt;4"/><rpm:entry name="a&quot;b" flags="EQ" epoch="0" ver="1&amp;2" rel="3&lt;4" pre="1"/></rpm:requires>' }))],
    ["' quotes and whitespace around = and between attributes", doc(pkg({ version: "<version   epoch = '2'\n\tver='1.0'  rel = \"3\"  />", format: "<rpm:provides><rpm:entry\n name='foo'\tflags = 'EQ' epoch='2' ver='1.0' rel='3' /></rpm:provides>" }))],
    ['comments and processing instructions anywhere', doc(`<!-- a comment -->${pkg({ summary: 'Fo<!-- inside -->o<?pi data?>', format: '<!-- c --><rpm:requires><!-- c --><rpm:entry name="a"/></rpm:requires>' })}`, '<?xml version="1.0"?>\n<!-- before the root -->\n')],
    ['\\r\\n and lone \\r line ends, in text and attributes', doc(pkg({ summary: 'line one\r\nline two\rthree', format: '<rpm:requires><rpm:entry name="a\r\nb"\r\n/></rpm:requires>' })).replace(/\n/g, '\r\n')],
    ['tabs and line breaks in attribute values (each a space)', doc(pkg({ format: '<rpm:requires><rpm:entry name="a\tb\nc"/></rpm:requires>' }))],
    ['a DOCTYPE, a byte-order mark, names with other prefixes', `\ufeff<?xml version="1.0"?>\n<!DOCTYPE metadata SYSTEM "primary.dtd">\n<metadata packages="1">${pkg({ format: '<x:requires><x:entry name="a"/></x:requires>' })}</metadata>`],
    ['unknown elements and attributes, nested and empty', doc(pkg({ extra: '<other a="1"><deep><deeper b="&amp;"/></deep>text</other><empty></empty>', format: '<rpm:license>MIT</rpm:license><rpm:unknown x="1"/>' }))],
    [
      'entries not in createrepo_c form: other attribute order, pre="0", empty epoch, spaces, nested in other elements',
      doc(
        pkg({
          format:
            '<rpm:requires><rpm:entry flags="GE" name="a" ver="1" epoch="0"/><rpm:entry name="b" pre="0"/><rpm:entry name="c" flags="EQ" epoch="" ver="1" rel="2"/>' +
            '<rpm:entry name="d" /><other><rpm:entry name="nested"/></other><rpm:entry name="e" flags="LT" epoch="0" ver="2"/><rpm:entry name="f" pre="1"/></rpm:requires>' +
            '<rpm:provides><rpm:entry name="foo" flags="EQ" epoch="0" ver="1.0" rel="1"/><rpm:entry name="foo(x86-64)" flags="EQ" epoch="0" ver="1.0" rel="1"/><rpm:entry name="foo" flags="EQ" epoch="1" ver="1.0" rel="1"/></rpm:provides>',
        }),
      ),
    ],
    ['more than six attributes', doc(pkg({ format: '<rpm:provides><rpm:entry a="1" b="2" c="3" d="4" e="5" f="6" name="seven" flags="EQ" epoch="0" ver="1" rel="2"/></rpm:provides>' }))],
    ['non-ASCII text, names and values', doc(pkg({ summary: 'Ünïcødé — ✓ 😀', format: '<rpm:provides><rpm:entry name="libü.so"/></rpm:provides><rpm:file>/usr/share/ü</rpm:file>' }))],
    ['] and ]] in text, next to line ends and entities', doc(pkg({ summary: 'a]] ]b]]]]\r\n]]&amp;]]]' }))],
    ['long values across any chunk boundary', doc(pkg({ summary: 'x'.repeat(300) + '&amp;' + 'y'.repeat(300), format: `<rpm:requires><rpm:entry name="${'n'.repeat(500)}"/></rpm:requires>` }))],
  ])('%s', (_what, text) => {
    expectSameAsSaxes(text, 'p.xml', allChunkings(text));
  });

  it('CDATA is text (the saxes reader dropped it; rpm metadata may hold it)', () => {
    const text = doc(pkg({ summary: 'a <![CDATA[<b> & c]]> d', format: '<rpm:file><![CDATA[/usr/bin/x]]></rpm:file>' }));
    for (const chunks of allChunkings(text)) {
      const [p] = parseChunks(chunks, 'p.xml');
      expect(p.summary).toBe('a <b> & c d');
      expect(p.files).toEqual(['/usr/bin/x']);
    }
  });
});

describe('malformed XML: refused like saxes refuses it, with line and column', () => {
  const good = doc(pkg());
  it.each([
    ['a mismatched close tag', good.replace('</arch>', '</arc>')],
    ['an unclosed document', good.replace('</metadata>\n', '')],
    ['a bare &', good.replace('<summary>Foo', '<summary>Foo & bar')],
    ['an unknown entity', good.replace('<summary>Foo', '<summary>&nbsp;')],
    ['a character reference to a non-character', good.replace('<summary>Foo', '<summary>&#0;')],
    ['< in an attribute value', good.replace('ver="1.0"', 'ver="1<0"')],
    ['an unquoted attribute value', good.replace('ver="1.0"', 'ver=1.0')],
    ['an attribute without a value', good.replace('ver="1.0"', 'ver')],
    ['a duplicate attribute', good.replace('ver="1.0"', 'ver="1.0" ver="2.0"')],
    ['attributes without whitespace between', good.replace('ver="1.0" rel="1"', 'ver="1.0"rel="1"')],
    ['a control character', good.replace('<summary>Foo', '<summary>Fo\u0001o')],
    [']]> in text', good.replace('<summary>Foo', '<summary>a ]]> b')],
    ['-- in a comment', good.replace('<summary>', '<!-- a -- b --><summary>')],
    ['text after the root', `${good}trailing`],
    ['a second root', `${good}<metadata/>`],
    ['an XML declaration not at the start', ` ${good}`],
    ['a name starting with a digit', good.replace('<arch>x86_64</arch>', '<1arch>x</1arch>')],
    ['a broken close tag', good.replace('</arch>', '</arch x>')],
  ])('%s', (_what, text) => {
    expect(() => parseWithSaxes([text], 'p.xml')).toThrow();
    for (const chunks of allChunkings(text)) {
      let err: unknown;
      try {
        parseChunks(chunks, 'p.xml');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RepodataFormatError);
      expect((err as Error).message).toMatch(/^p\.xml:\d+:\d+: .+: not well-formed XML$/);
    }
  });

  it('names the line and column of the fault', () => {
    const text = doc(pkg()).replace('</arch>', '</arc>');
    const line = text.slice(0, text.indexOf('</arc>')).split('\n').length;
    const column = text.indexOf('</arc>') - text.lastIndexOf('\n', text.indexOf('</arc>'));
    for (const chunks of allChunkings(text)) expect(() => parseChunks(chunks, 'p.xml')).toThrow(`p.xml:${line}:${column}: closing tag </arc> while <arch> is open: not well-formed XML`);
  });

  it('markup that never ends is refused once it passes 4 MiB, not buffered on', () => {
    const parser = new PrimaryParser('p.xml', () => {});
    parser.write(doc(pkg()).replace('</metadata>\n', '<!-- '));
    const chunk = 'x'.repeat(64 << 10);
    expect(() => {
      for (let i = 0; i < 80; i++) parser.write(chunk);
    }).toThrow(/p\.xml:\d+:\d+: a tag, comment, CDATA section or processing instruction longer than 4 MiB/);
    // Text of any length streams through.
    const long = doc(pkg({ summary: ']'.repeat(5 << 20) }));
    expect(parseChunks(fixedChunks(long, 64 << 10), 'p.xml')[0].summary).toHaveLength(5 << 20);
  });

  it('a DOCTYPE with entity declarations is refused by name, not half-applied', () => {
    const text = doc(pkg({ summary: '&x;' }), '<?xml version="1.0"?>\n<!DOCTYPE metadata [<!ENTITY x "y">]>\n');
    expect(() => parsePrimaryText(text, 'p.xml')).toThrow(/a DOCTYPE with an internal subset \(entity declarations are not supported\): not well-formed XML/);
  });
});
