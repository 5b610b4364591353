import { describe, expect, it } from 'vitest';
import { IndexParseError, parseApkIndex } from '../../stages/sources/apk/apkindex.js';
import { formatDependency } from '../../stages/sources/apk/depend.js';

const MAIN = { name: 'main', url: 'http://127.0.0.1:8080/v3.16/main/x86_64' };

// Two records as they appear in the real Alpine 3.16 index (fields trimmed to the ones that matter).
const TEXT = `C:Q1VUBxlP54+nXCR+xuJZq3y37aJ8A=
P:openssh-client-default
V:9.0_p1-r2
A:x86_64
S:603545
I:1040384
T:OpenBSD's SSH client
U:https://www.openssh.com/portable.html
L:SSH-OpenSSH
o:openssh
m:Package Maintainer <maintainer@example.org>
t:1665149391
c:3ae2b87e74d6a85bfb3b5b7e7a2c8cf7de08d2d1
k:1
D:openssh-keygen=9.0_p1-r2 openssh-client-common=9.0_p1-r2 !openssh-client-krb5 so:libc.musl-x86_64.so.1
p:openssh-client=9.0_p1-r2 cmd:ssh=9.0_p1-r2

C:Q1pp8f3F0BeSAcP86in2WFUGjIflk=
P:openssh-doc
V:9.0_p1-r2
A:x86_64
S:15319
I:49152
T:OpenBSD's SSH (documentation)
i:docs openssh=9.0_p1-r2
`;

describe('parseApkIndex', () => {
  it('reads every field into a typed record and keeps the repository', () => {
    const index = parseApkIndex(TEXT, MAIN);
    expect(index.repository).toBe(MAIN);
    expect(index.packages).toHaveLength(2);
    const [client, doc] = index.packages;
    expect(client).toMatchObject({
      name: 'openssh-client-default',
      version: '9.0_p1-r2',
      checksum: 'Q1VUBxlP54+nXCR+xuJZq3y37aJ8A=',
      arch: 'x86_64',
      size: 603545,
      installedSize: 1040384,
      description: "OpenBSD's SSH client",
      url: 'https://www.openssh.com/portable.html',
      license: 'SSH-OpenSSH',
      origin: 'openssh',
      maintainer: 'Package Maintainer <maintainer@example.org>',
      buildTime: 1665149391,
      commit: '3ae2b87e74d6a85bfb3b5b7e7a2c8cf7de08d2d1',
      providerPriority: 1,
      line: 1,
    });
    expect(client!.repository.name).toBe('main');
    expect(client!.depends.map(formatDependency)).toEqual([
      'openssh-keygen=9.0_p1-r2',
      'openssh-client-common=9.0_p1-r2',
      '!openssh-client-krb5',
      'so:libc.musl-x86_64.so.1',
    ]);
    expect(client!.provides.map(formatDependency)).toEqual(['openssh-client=9.0_p1-r2', 'cmd:ssh=9.0_p1-r2']);
    expect(client!.uninstallable).toBeUndefined();
    expect(doc!.installIf.map(formatDependency)).toEqual(['docs', 'openssh=9.0_p1-r2']);
    expect(doc!.providerPriority).toBe(0);
    expect(doc!.line).toBe(18);
  });

  it('makes a package with an unknown uppercase field uninstallable, ignores unknown lowercase', () => {
    const index = parseApkIndex('C:Q1a=\nP:future\nV:1-r0\nZ:something new\n\nC:Q1b=\nP:fine\nV:1-r0\nx:informational\n', MAIN);
    expect(index.packages[0]!.uninstallable).toMatch(/unknown index field "Z:"/);
    expect(index.packages[1]!.uninstallable).toBeUndefined();
  });

  it('makes a package with an invalid dependency version uninstallable (as apk does)', () => {
    const index = parseApkIndex('C:Q1a=\nP:bad\nV:1-r0\nD:foo>=1.0bc\n', MAIN);
    expect(index.packages[0]!.uninstallable).toMatch(/dependency foo has an invalid version "1.0bc"/);
  });

  it('ignores a malformed provides field with a warning naming the record', () => {
    const index = parseApkIndex('C:Q1a=\nP:odd\nV:1-r0\np:x@tag\n', MAIN, 'APKINDEX');
    expect(index.packages[0]!.provides).toEqual([]);
    expect(index.warnings).toEqual([expect.stringMatching(/^APKINDEX:1: odd-1-r0: ignoring field p: .*repository tag/)]);
  });

  it('accumulates a dependency field written on several lines', () => {
    const index = parseApkIndex('C:Q1a=\nP:multi\nV:1-r0\nD:a\nD:b c\n', MAIN);
    expect(index.packages[0]!.depends.map((d) => d.name)).toEqual(['a', 'b', 'c']);
  });

  it('reads a file without a trailing newline and with several blank lines', () => {
    const index = parseApkIndex('\n\nC:Q1a=\nP:a\nV:1-r0\n\n\n\nC:Q1b=\nP:b\nV:2-r0', MAIN);
    expect(index.packages.map((p) => `${p.name}-${p.version}`)).toEqual(['a-1-r0', 'b-2-r0']);
  });

  it('says where a malformed line is', () => {
    expect(() => parseApkIndex('C:Q1a=\nP:a\nthis is not a field\n', MAIN, 'main/APKINDEX')).toThrow(
      new IndexParseError('main/APKINDEX', 3, 'expected "X:value", got "this is not a field"'),
    );
    try {
      parseApkIndex('C:Q1a=\nP:a\nV:1-r0\nS:big\n', MAIN);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(IndexParseError);
      expect((error as Error).message).toBe('APKINDEX of repository main:4: field S: expected a number, got "big"');
    }
  });

  it('requires name, version and checksum', () => {
    expect(() => parseApkIndex('C:Q1a=\nV:1-r0\n', MAIN)).toThrow(/:1: record without package name/);
    expect(() => parseApkIndex('C:Q1a=\nP:a\n', MAIN)).toThrow(/package a: record without version/);
    expect(() => parseApkIndex('P:a\nV:1-r0\n', MAIN)).toThrow(/package a-1-r0: record without checksum/);
  });
});
