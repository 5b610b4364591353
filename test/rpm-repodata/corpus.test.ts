// The repodata reader on real EL9 metadata: repomd.xml entries, all 1,125 packages of
// primary.xml.gz with checksums verified, a few packages checked field by field against the XML,
// and filelists.xml.gz answering file dependencies primary.xml does not list.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RpmPackageMeta } from '../../stages/sources/rpm/model.js';
import { findFileProviders } from '../../stages/sources/rpm/repodata/filelists.js';
import { readPrimary, rpmPackageKey } from '../../stages/sources/rpm/repodata/primary.js';
import { corpusFile, corpusPresent, corpusRepomd, CS9_DIR } from './corpus.js';

const present = corpusPresent();
if (!present) console.warn(`skipping the CentOS Stream 9 repodata tests: ${CS9_DIR} is absent`);

describe.skipIf(!present)('CentOS Stream 9 BaseOS repodata', () => {
  let packages: RpmPackageMeta[];
  const byKey = (key: string): RpmPackageMeta => {
    const found = packages.find((p) => rpmPackageKey(p) === key);
    if (!found) throw new Error(`no ${key}`);
    return found;
  };

  beforeAll(async () => {
    const { entry, path } = corpusFile('primary');
    packages = await readPrimary(path, entry, path);
  });

  it('reads repomd.xml: revision and each <data> entry with its digests', () => {
    const repomd = corpusRepomd();
    expect(repomd.revision).toBe('1644263915');
    expect(repomd.entries.map((e) => e.type)).toEqual(['primary', 'filelists', 'other', 'group', 'group_gz']);
    expect(repomd.entries[0]).toEqual({
      type: 'primary',
      checksum: { type: 'sha256', hex: '130494033cb9bffa40828ebc814d016920d9ce5d60041467af283ffcf38adef0' },
      openChecksum: { type: 'sha256', hex: '4fd621cd9253a7d7013af758bbf4b200142f29515ad0fb99d544864a5ad7e4a7' },
      location: 'repodata/130494033cb9bffa40828ebc814d016920d9ce5d60041467af283ffcf38adef0-primary.xml.gz',
      timestamp: 1644263915,
      size: 1063488,
      openSize: 8471009,
    });
    // The uncompressed comps file has no open-checksum.
    expect(repomd.entries[3].openChecksum).toBeUndefined();
  });

  it('reads every package, i686 ones included', () => {
    expect(packages).toHaveLength(1125);
    const arches = new Map<string, number>();
    for (const p of packages) arches.set(p.arch, (arches.get(p.arch) ?? 0) + 1);
    expect(arches.get('i686')).toBe(242);
    expect(arches.get('noarch')).toBe(119);
    expect([...arches.keys()].sort()).toEqual(['i686', 'noarch', 'x86_64']);
    expect(new Set(packages.map((p) => p.checksum.hex)).size).toBe(1125);
  });

  it('keeps every <rpm:entry> and <file> of the document', () => {
    // Counted on the decompressed text, independently of the parser.
    const text = gunzipSync(readFileSync(corpusFile('primary').path)).toString('utf8');
    const entries = packages.reduce((n, p) => n + DEP_KINDS.reduce((m, kind) => m + p[kind].length, 0), 0);
    expect(entries).toBe(text.match(/<rpm:entry /g)!.length);
    expect(packages.reduce((n, p) => n + p.files.length, 0)).toBe(text.match(/<file[ >]/g)!.length);
  });

  it('bash: every field as primary.xml has it', () => {
    expect(byKey('bash-0:5.1.8-2.el9.x86_64')).toEqual({
      name: 'bash',
      arch: 'x86_64',
      evr: { epoch: 0, version: '5.1.8', release: '2.el9' },
      checksum: { type: 'sha256', hex: '3d45552ea940db0556dd2dc73e92c20c0d7cbc9e617f251904f20475d4ecc6b6' },
      size: 1772315,
      installedSize: 7739748,
      location: 'Packages/bash-5.1.8-2.el9.x86_64.rpm',
      summary: 'The GNU Bourne Again shell',
      license: 'GPLv3+',
      sourceRpm: 'bash-5.1.8-2.el9.src.rpm',
      provides: [
        { name: '/bin/bash' },
        { name: '/bin/sh' },
        { name: 'bash', flags: 'EQ', evr: { epoch: 0, version: '5.1.8', release: '2.el9' } },
        { name: 'bash(x86-64)', flags: 'EQ', evr: { epoch: 0, version: '5.1.8', release: '2.el9' } },
        { name: 'config(bash)', flags: 'EQ', evr: { epoch: 0, version: '5.1.8', release: '2.el9' } },
      ],
      // `>= 3` has no release: none is invented.
      requires: [
        { name: 'filesystem', flags: 'GE', evr: { epoch: 0, version: '3' } },
        { name: 'libtinfo.so.6()(64bit)' },
        { name: 'rtld(GNU_HASH)' },
        { name: 'libc.so.6(GLIBC_2.34)(64bit)' },
      ],
      conflicts: [],
      obsoletes: [],
      recommends: [],
      suggests: [],
      supplements: [],
      enhances: [],
      files: expect.arrayContaining(['/etc/skel/.bashrc', '/usr/bin/bash', '/usr/bin/sh']) as string[],
    });
    expect(byKey('bash-0:5.1.8-2.el9.x86_64').files).toHaveLength(22);
  });

  it('Requires(pre) entries carry pre, plain ones do not; conflicts keep their flags', () => {
    const mm = byKey('ModemManager-0:1.18.2-3.el9.x86_64');
    expect(mm.requires.filter((d) => d.name === '/bin/sh')).toEqual([{ name: '/bin/sh', pre: true }, { name: '/bin/sh' }]);
    expect(mm.requires.filter((d) => d.name === 'systemd')).toEqual([{ name: 'systemd', pre: true }, { name: 'systemd' }]);
    expect(mm.conflicts[0]).toEqual({ name: 'glib2(x86-64)', flags: 'LT', evr: { epoch: 0, version: '2.68.4' } });
    const pre = packages.reduce((n, p) => n + p.requires.filter((d) => d.pre).length, 0);
    // grep -o 'pre="1"' over the decompressed primary.xml counts 388.
    expect(pre).toBe(388);
  });

  it('i686 packages carry 32-bit capabilities', () => {
    const glib = byKey('ModemManager-glib-0:1.18.2-3.el9.i686');
    expect(glib.provides.map((d) => d.name)).toEqual(['ModemManager-glib', 'ModemManager-glib(x86-32)', 'libmm-glib.so.0']);
    expect(glib.requires[0]).toEqual({ name: 'glib2', flags: 'GE', evr: { epoch: 0, version: '2.68.4' } });
  });

  it('keeps rich dependencies whole in the name, entities decoded', () => {
    const all = packages.flatMap((p) => DEP_KINDS.flatMap((kind) => p[kind]));
    const rich = all.filter((d) => d.name.startsWith('('));
    expect(rich).toHaveLength(224);
    expect(rich.every((d) => d.flags === undefined && d.evr === undefined)).toBe(true);
    expect(rich.map((d) => d.name)).toContain('(selinux-policy >= 34.1.22-1.el9 if selinux-policy-targeted)');
    expect(rich.map((d) => d.name)).toContain('(sudo or polkit)');
  });

  it('keeps epochs and `^` in releases', () => {
    const epochs = packages.filter((p) => p.evr.epoch > 0);
    expect(epochs.length).toBeGreaterThan(20);
    expect(epochs.find((p) => p.name === 'NetworkManager')?.evr.epoch).toBe(1);
    const caret = packages.flatMap((p) => [...p.conflicts, ...p.obsoletes]).filter((d) => d.evr?.release?.includes('^'));
    expect(caret).toHaveLength(8);
    expect(caret[0]).toEqual({ name: 'systemd-standalone-sysusers', flags: 'LT', evr: { epoch: 0, version: '249', release: '9.el9^' } });
  });

  it('filelists.xml answers file dependencies that primary.xml does not list', async () => {
    const { entry, path } = corpusFile('filelists');
    const wanted = new Set(['/usr/lib64/libtinfo.so.6', '/usr/share/doc/bash', '/usr/bin/bash', '/no/such/file', '/usr/lib/.build-id']);
    const found = await findFileProviders(path, entry, path, wanted);
    expect(found.get('/usr/lib64/libtinfo.so.6')).toEqual(['ncurses-libs-0:6.2-8.20210508.el9.x86_64']);
    expect(found.get('/usr/share/doc/bash')).toEqual(['bash-0:5.1.8-2.el9.x86_64']);
    expect(found.get('/usr/bin/bash')).toEqual(['bash-0:5.1.8-2.el9.x86_64']);
    expect(found.has('/no/such/file')).toBe(false);
    // A directory many packages own: each package once.
    const owners = found.get('/usr/lib/.build-id')!;
    expect(owners.length).toBeGreaterThan(100);
    expect(new Set(owners).size).toBe(owners.length);
    // primary.xml lists none of these library paths.
    expect(packages.some((p) => p.files.includes('/usr/lib64/libtinfo.so.6'))).toBe(false);
  });
});

const DEP_KINDS = ['provides', 'requires', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances'] as const;
