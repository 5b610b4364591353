// The XML readers on small hand-written documents: what createrepo_c never writes but a broken or
// hostile mirror might, refused with the file, the package and the reason named.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RepodataFormatError } from '../../stages/sources/rpm/repodata/errors.js';
import { FilelistsLookup } from '../../stages/sources/rpm/repodata/filelists.js';
import { parsePrimaryText, PrimaryParser } from '../../stages/sources/rpm/repodata/primary.js';
import { parseRepomd, repomdEntry } from '../../stages/sources/rpm/repodata/repomd.js';
import { streamVerifiedText } from '../../stages/sources/rpm/repodata/verified-file.js';
import { sha256 } from './repo-builder.js';

const HEX = 'ab'.repeat(32);

function primary(packages: string[], declared = packages.length): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${declared}">
${packages.join('\n')}
</metadata>`;
}

function pkg(body: { name?: string; version?: string; format?: string; location?: string; checksum?: string } = {}): string {
  return `<package type="rpm">
  ${body.name ?? '<name>foo</name>'}
  <arch>x86_64</arch>
  ${body.version ?? '<version epoch="0" ver="1.0" rel="1"/>'}
  ${body.checksum ?? `<checksum type="sha256" pkgid="YES">${HEX}</checksum>`}
  <summary>Foo &amp; bar</summary>
  <description>long
text</description>
  <size package="10" installed="20" archive="30"/>
  ${body.location ?? '<location href="Packages/f/foo-1.0-1.x86_64.rpm"/>'}
  <format>${body.format ?? ''}</format>
</package>`;
}

describe('primary.xml', () => {
  it('reads a minimal package; absent epoch is 0; chunk boundaries do not matter', () => {
    const text = primary([pkg({ version: '<version ver="1.0" rel="1"/>', format: '<rpm:requires><rpm:entry name="bar" flags="GE" ver="2"/></rpm:requires>' })]);
    const whole = parsePrimaryText(text, 'p.xml');
    expect(whole[0]).toMatchObject({ name: 'foo', evr: { epoch: 0, version: '1.0', release: '1' }, summary: 'Foo & bar', size: 10, installedSize: 20 });
    expect(whole[0].requires).toEqual([{ name: 'bar', flags: 'GE', evr: { epoch: 0, version: '2' } }]);
    // One character at a time.
    const out: unknown[] = [];
    const parser = new PrimaryParser('p.xml', (p) => out.push(p));
    for (const ch of text) parser.write(ch);
    parser.close();
    expect(out).toEqual(whole);
  });

  it('shared entries are frozen: changing one would change every package', () => {
    const dep = '<rpm:requires><rpm:entry name="libc.so.6(GLIBC_2.34)(64bit)"/></rpm:requires>';
    const [a, b] = parsePrimaryText(primary([pkg({ format: dep }), pkg({ name: '<name>bar</name>', format: dep })]), 'p.xml');
    expect(a.requires[0]).toBe(b.requires[0]);
    expect(() => ((a.requires[0] as { name: string }).name = 'x')).toThrow(TypeError);
  });

  it.each([
    ['a package without a name', pkg({ name: '' }), /p\.xml: package #1: no <name>/],
    ['an unknown flag', pkg({ format: '<rpm:provides><rpm:entry name="x" flags="NE" ver="1"/></rpm:provides>' }), /package foo\.x86_64 \(#1\): <rpm:provides> entry x has flags 'NE'/],
    ['a non-numeric epoch', pkg({ version: '<version epoch="x" ver="1" rel="1"/>' }), /package foo\.x86_64 \(#1\): <version> has epoch 'x'/],
    ['a version without rel', pkg({ version: '<version epoch="0" ver="1"/>' }), /<version> has no rel/],
    ['a checksum that is not hex', pkg({ checksum: '<checksum type="sha256">zz</checksum>' }), /<checksum> is 'zz', not a hex digest/],
    ['a location outside the repository', pkg({ location: '<location href="../../x.rpm"/>' }), /has location '\.\.\/\.\.\/x\.rpm', which leaves the repository/],
    ['a location with xml:base', pkg({ location: '<location xml:base="http://elsewhere/" href="x.rpm"/>' }), /<location> has an xml:base/],
  ])('refuses %s', (_what, body, message) => {
    expect(() => parsePrimaryText(primary([body]), 'p.xml')).toThrow(message);
  });

  it('refuses a package count other than the one announced, malformed XML, and another document', () => {
    expect(() => parsePrimaryText(primary([pkg()], 2), 'p.xml')).toThrow(/p\.xml: <metadata packages="2"> but 1 packages follow/);
    const err = (() => {
      try {
        parsePrimaryText(primary([pkg()]).replace('</package>', '</pkg>'), 'p.xml');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(RepodataFormatError);
    expect((err as Error).message).toMatch(/^p\.xml:\d+:\d+: .*not well-formed XML$/);
    expect(() => parsePrimaryText('<filelists/>', 'p.xml')).toThrow(/p\.xml: the document is <filelists>, not primary\.xml's <metadata>/);
    expect(() => parsePrimaryText('', 'p.xml')).toThrow(RepodataFormatError);
  });
});

describe('repomd.xml', () => {
  const data = (type: string, extra = '') =>
    `<data type="${type}"><checksum type="sha256">${HEX}</checksum><location href="repodata/${type}.xml.gz"/>${extra}</data>`;

  it('reads entries and finds one by type', () => {
    const repomd = parseRepomd(`<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>7</revision>${data('primary', '<size>5</size>')}</repomd>`, 'r.xml');
    expect(repomdEntry(repomd, 'primary', 'r.xml')).toEqual({ type: 'primary', checksum: { type: 'sha256', hex: HEX }, location: 'repodata/primary.xml.gz', size: 5 });
    expect(() => repomdEntry(repomd, 'filelists', 'r.xml')).toThrow(/r\.xml: no <data type="filelists"> entry \(has: primary\)/);
  });

  it.each([
    ['two entries of one type', `${data('primary')}${data('primary')}`, /two <data type="primary"> entries/],
    ['an entry without checksum', '<data type="primary"><location href="a"/></data>', /the primary entry has no <checksum>/],
    ['a size that is not a number', data('primary', '<size>-1</size>'), /the primary entry's <size> is '-1'/],
    ['an absolute location', '<data type="primary"><checksum type="sha256">' + HEX + '</checksum><location href="/etc/passwd"/></data>', /which leaves the repository/],
    ['a URL location', '<data type="primary"><checksum type="sha256">' + HEX + '</checksum><location href="http://x/y"/></data>', /which leaves the repository/],
  ])('refuses %s', (_what, body, message) => {
    expect(() => parseRepomd(`<repomd>${body}</repomd>`, 'r.xml')).toThrow(message);
  });
});

describe('filelists.xml', () => {
  it('finds the packages listing each path, directories included', () => {
    const lookup = new FilelistsLookup('f.xml', new Set(['/usr/bin/a', '/usr/share/d', '/missing']));
    lookup.write(`<filelists packages="2">
<package pkgid="1" name="a" arch="x86_64"><version epoch="1" ver="2" rel="3"/><file>/usr/bin/a</file><file type="dir">/usr/share/d</file></package>
<package pkgid="2" name="b" arch="noarch"><version epoch="0" ver="1" rel="1"/><file type="dir">/usr/share/d</file><file type="ghost">/usr/bin/a</file></package>
</filelists>`);
    expect(Object.fromEntries(lookup.close())).toEqual({ '/usr/bin/a': ['a-1:2-3.x86_64', 'b-0:1-1.noarch'], '/usr/share/d': ['a-1:2-3.x86_64', 'b-0:1-1.noarch'] });
  });
});

describe('compressions', () => {
  it('refuses zchunk and bzip2 files by name before reading them', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'zck-')), 'primary.xml.zck');
    writeFileSync(path, 'x');
    await expect(streamVerifiedText(path, { checksum: { type: 'sha256', hex: sha256(Buffer.from('x')) } }, 'http://m/repodata/x-primary.xml.zck', () => {})).rejects.toThrow(
      /x-primary\.xml\.zck: \.zck compression is not supported/,
    );
  });

  it('reads an uncompressed file; its checksum is the only one needed', async () => {
    const text = primary([pkg()]);
    const path = join(mkdtempSync(join(tmpdir(), 'plain-')), 'primary.xml');
    writeFileSync(path, text);
    let seen = '';
    await streamVerifiedText(path, { checksum: { type: 'sha256', hex: sha256(Buffer.from(text)) } }, path, (chunk) => (seen += chunk));
    expect(seen).toBe(text);
  });
});
