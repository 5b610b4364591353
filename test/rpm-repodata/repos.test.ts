// The repodata reader on repositories made at test time with the real tools: rpmbuild,
// createrepo_c (gzip and xz) and a zstd recompression, read from the file system. Field values are
// checked against rpm itself (`rpm -qp`) and the files' own digests; tampered, truncated and
// mislabelled metadata is refused with the file and the checksum named.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { RepodataChecksumError, RepodataFormatError, UnsignedRepodataError } from '../../stages/sources/rpm/repodata/errors.js';
import { fetchRepodata, loadRpmRepodata, type RpmRepodata } from '../../stages/sources/rpm/repodata/index-node.js';
import { rpmPackageKey } from '../../stages/sources/rpm/repodata/primary.js';
import { buildTinyRpms, copyRepo, createrepo, editRepomd, recompressZstd, repomdLocation, rpmTestsPresent, sha256 } from './repo-builder.js';

let rpms: string;
const repos: Record<'gz' | 'xz' | 'zst', string> = { gz: '', xz: '', zst: '' };

function scratch(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Reads the repository at `url` unsigned into a fresh output directory. */
async function fetchUnsigned(url: string, allowUnsigned = true): Promise<RpmRepodata> {
  const out = scratch('out-');
  await fetchRepodata({ repository: 'test', url, keyring: { keys: [] }, allowUnsigned, out, tmp: scratch('tmp-') });
  return loadRpmRepodata(out);
}

/** A copy of the gzip repository, for tampering. */
function gzCopy(): string {
  return copyRepo(repos.gz, join(scratch('repo-'), 'repo'));
}

beforeAll(() => {
  rpms = scratch('rpms-');
  buildTinyRpms(rpms);
  for (const kind of ['gz', 'xz'] as const) {
    repos[kind] = copyRepo(rpms, join(scratch(`repo-${kind}-`), 'repo'));
    createrepo(repos[kind], kind);
  }
  repos.zst = copyRepo(repos.gz, join(scratch('repo-zst-'), 'repo'));
  recompressZstd(repos.zst);
}, 120_000);

describe.each(['gz', 'xz', 'zst'] as const)('a createrepo_c repository, %s', (kind) => {
  let repo: RpmRepodata;
  beforeAll(async () => {
    repo = await fetchUnsigned(repos[kind]);
  });

  it(`has its metadata in .${kind} files`, () => {
    expect(repo.facts.primary.location).toMatch(new RegExp(`^repodata/[0-9a-f]{64}-primary\\.xml\\.${kind}$`));
    expect(repo.facts.filelists!.location).toMatch(new RegExp(`-filelists\\.xml\\.${kind}$`));
    expect(repo.facts.signature).toBeNull();
  });

  it('lists every RPM with the checksum, size and EVR rpm gives it', () => {
    const files = readdirSync(rpms).filter((f) => f.endsWith('.rpm'));
    expect(repo.packages).toHaveLength(files.length);
    for (const file of files) {
      const bytes = readFileSync(join(rpms, file));
      const p = repo.packages.find((q) => q.location === file);
      expect(p, file).toBeDefined();
      expect(p!.checksum).toEqual({ type: 'sha256', hex: sha256(bytes) });
      expect(p!.size).toBe(bytes.length);
      const [name, epoch, version, release, arch, license, summary] = execFileSync(
        'rpm',
        ['-qp', '--nosignature', '--nodigest', '--qf', '%{NAME}\\n%{EPOCHNUM}\\n%{VERSION}\\n%{RELEASE}\\n%{ARCH}\\n%{LICENSE}\\n%{SUMMARY}', join(rpms, file)],
        { encoding: 'utf8' },
      ).split('\n');
      expect(p).toMatchObject({ name, arch, license, summary, evr: { epoch: Number(epoch), version, release } });
    }
  });

  it('keeps `~` and `^` versions, epochs, and every kind of dependency', () => {
    const tools = repo.packages.find((p) => p.name === 'tiny-tools')!;
    expect(rpmPackageKey(tools)).toBe('tiny-tools-0:1.0~rc1-1.noarch');
    expect(tools.summary).toBe('A tiny tool & friends');
    expect(tools.provides).toContainEqual({ name: 'tiny-cap', flags: 'EQ', evr: { epoch: 0, version: '2.0' } });
    expect(tools.requires).toContainEqual({ name: '/bin/sh', pre: true });
    expect(tools.requires).toContainEqual({ name: '(tiny-libs >= 3:2.0 if tiny-extra)' });
    expect(tools.requires).toContainEqual({ name: 'tiny-libs', flags: 'GE', evr: { epoch: 3, version: '2.0' } });
    expect(tools.recommends).toEqual([{ name: 'tiny-docs' }]);
    expect(tools.suggests).toEqual([{ name: 'tiny-extra' }]);
    expect(tools.supplements).toEqual([{ name: 'tiny-base' }]);
    expect(tools.enhances).toEqual([{ name: 'tiny-base' }]);
    expect(tools.conflicts).toEqual([{ name: 'tiny-old', flags: 'LT', evr: { epoch: 0, version: '1.0', release: '5' } }]);
    expect(tools.obsoletes).toEqual([{ name: 'tiny-legacy', flags: 'LE', evr: { epoch: 0, version: '0.9' } }]);
    // primary.xml lists *bin/* files only.
    expect(tools.files).toEqual(['/usr/bin/tiny-tool']);
    const libs = repo.packages.find((p) => p.name === 'tiny-libs')!;
    expect(libs.evr).toEqual({ epoch: 3, version: '2.0^git20240101', release: '1.el9' });
    expect(libs.provides).toContainEqual({ name: 'tiny-libs', flags: 'EQ', evr: { epoch: 3, version: '2.0^git20240101', release: '1.el9' } });
    expect(repo.packages.filter((p) => p.name === 'hello').map((p) => p.arch).sort()).toEqual(rpmTestsPresent() ? ['i686', 'x86_64'] : []);
  });

  it('answers file dependencies from filelists.xml on demand', async () => {
    const found = await repo.findFileProviders(new Set(['/usr/share/tiny/data.txt', '/usr/lib/tiny/libtiny.txt', '/usr/bin/tiny-tool', '/usr/lib/tiny', '/nope']));
    expect(Object.fromEntries(found)).toEqual({
      '/usr/share/tiny/data.txt': ['tiny-tools-0:1.0~rc1-1.noarch'],
      '/usr/lib/tiny/libtiny.txt': ['tiny-libs-3:2.0^git20240101-1.el9.noarch'],
      '/usr/bin/tiny-tool': ['tiny-tools-0:1.0~rc1-1.noarch'],
    });
  });
});

describe('refused metadata', () => {
  it('a repository without repomd.xml.asc, unless unsigned metadata is allowed', async () => {
    const err = await fetchUnsigned(repos.gz, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsignedRepodataError);
    expect((err as Error).message).toMatch(/repodata\/repomd\.xml: no detached signature .*unsigned repository metadata is refused/);
  });

  it('a primary.xml.gz whose bytes changed: checksum mismatch, before anything is decompressed', async () => {
    const repo = gzCopy();
    const path = join(repo, repomdLocation(repo, 'primary'));
    const bytes = readFileSync(path);
    bytes[bytes.length - 12] ^= 0xff;
    writeFileSync(path, bytes);
    const err = (await fetchUnsigned(repo).catch((e: unknown) => e)) as RepodataChecksumError;
    expect(err).toBeInstanceOf(RepodataChecksumError);
    expect(err.which).toBe('checksum');
    expect(err.file).toBe(join(repo, repomdLocation(repo, 'primary')));
    expect(err.expected).toBe(`sha256:${sha256(readFileSync(join(repos.gz, repomdLocation(repo, 'primary'))))}`);
    expect(err.got).toBe(`sha256:${sha256(bytes)}`);
    expect(err.message).toMatch(/-primary\.xml\.gz: checksum mismatch: repomd\.xml says sha256:[0-9a-f]{64}, the file has sha256:[0-9a-f]{64}$/);
  });

  it('a primary.xml changed and recompressed, repomd.xml checksum updated: open-checksum mismatch', async () => {
    const repo = gzCopy();
    const location = repomdLocation(repo, 'primary');
    const xml = gunzipSync(readFileSync(join(repo, location))).toString('utf8');
    const forged = gzipSync(xml.replace('<summary>Tiny libraries</summary>', '<summary>Evil libraries</summary>'));
    expect(forged.length).toBeGreaterThan(0);
    writeFileSync(join(repo, location), forged);
    const repomd = join(repo, 'repodata', 'repomd.xml');
    writeFileSync(repomd, editRepomd(readFileSync(repomd, 'utf8'), 'primary', { checksum: sha256(forged), size: forged.length }));
    const err = (await fetchUnsigned(repo).catch((e: unknown) => e)) as RepodataChecksumError;
    expect(err).toBeInstanceOf(RepodataChecksumError);
    expect(err.which).toBe('open-checksum');
    expect(err.message).toContain(`${location}: open-checksum mismatch`);
    expect(err.got).toBe(`sha256:${sha256(Buffer.from(xml.replace('Tiny libraries', 'Evil libraries')))}`);
  });

  it('a tampered filelists.xml fails the fetch, not a later lookup', async () => {
    const repo = gzCopy();
    const location = repomdLocation(repo, 'filelists');
    const xml = gunzipSync(readFileSync(join(repo, location))).toString('utf8');
    const forged = gzipSync(xml.replace('/usr/share/tiny/data.txt', '/usr/share/tiny/evil.txt'));
    writeFileSync(join(repo, location), forged);
    const repomd = join(repo, 'repodata', 'repomd.xml');
    writeFileSync(repomd, editRepomd(readFileSync(repomd, 'utf8'), 'filelists', { checksum: sha256(forged), size: forged.length }));
    await expect(fetchUnsigned(repo)).rejects.toThrow(/-filelists\.xml\.gz: open-checksum mismatch/);
  });

  it('a truncated primary.xml.gz: named with both sizes', async () => {
    const repo = gzCopy();
    const path = join(repo, repomdLocation(repo, 'primary'));
    const size = statSync(path).size;
    truncateSync(path, size - 100);
    await expect(fetchUnsigned(repo)).rejects.toThrow(new RegExp(`-primary\\.xml\\.gz: got ${size - 100} bytes, the index declares ${size}`));
  });

  it('a truncated primary.xml.gz that repomd.xml vouches for: the gzip stream ends early', async () => {
    const repo = gzCopy();
    const location = repomdLocation(repo, 'primary');
    const cut = readFileSync(join(repo, location)).subarray(0, 300);
    writeFileSync(join(repo, location), cut);
    const repomd = join(repo, 'repodata', 'repomd.xml');
    writeFileSync(repomd, editRepomd(readFileSync(repomd, 'utf8'), 'primary', { checksum: sha256(cut), size: cut.length }));
    await expect(fetchUnsigned(repo)).rejects.toThrow(/-primary\.xml\.gz: unexpected end of file/);
  });

  it('a primary.xml.xz that decompresses to more than its open-size: stopped at the declared size', async () => {
    const repo = copyRepo(repos.xz, join(scratch('repo-'), 'repo'));
    const repomd = join(repo, 'repodata', 'repomd.xml');
    writeFileSync(repomd, editRepomd(readFileSync(repomd, 'utf8'), 'primary', { openSize: 1000 }));
    const err = (await fetchUnsigned(repo).catch((e: unknown) => e)) as RepodataChecksumError;
    expect(err).toBeInstanceOf(RepodataChecksumError);
    expect(err.which).toBe('open-size');
    expect(err.message).toMatch(/-primary\.xml\.xz: open-size mismatch: repomd\.xml says 1000 bytes, the file has more than 1000 bytes/);
  });

  it('md5 checksums and locations outside the repository', async () => {
    const repo = gzCopy();
    const repomd = join(repo, 'repodata', 'repomd.xml');
    const text = readFileSync(repomd, 'utf8');
    writeFileSync(repomd, text.replace(/<checksum type="sha256">[0-9a-f]{64}(<\/checksum>\s*<open-checksum[^>]*>[0-9a-f]+<\/open-checksum>\s*<location href="repodata\/[^"]*-primary)/, '<checksum type="md5">00112233445566778899aabbccddeeff$1'));
    await expect(fetchUnsigned(repo)).rejects.toThrow(/-primary\.xml\.gz: checksum type 'md5' is not accepted/);
    writeFileSync(repomd, editRepomd(text, 'primary', { location: '../../../etc/passwd' }));
    const err = await fetchUnsigned(repo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RepodataFormatError);
    expect((err as Error).message).toMatch(/repomd\.xml: the primary entry has location '\.\.\/\.\.\/\.\.\/etc\/passwd', which leaves the repository/);
  });
});
