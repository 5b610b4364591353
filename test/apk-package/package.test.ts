// unpackApk on well-formed packages built the abuild way: the tree, the manifest, the scripts.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../stages/shared/manifest.js';
import { parsePkgInfo, unpackApk, type UnpackApkResult } from '../../stages/sources/apk/package.js';
import { loadTrustedKeys, type TrustedKeys } from '../../stages/sources/apk/trust.js';
import { buildApk, type ApkSpec, type BuiltApk } from '../../fixtures/alpine/abuild.js';
import { DEMO_KEYS_DIR } from '../../fixtures/alpine/signer.js';
import { projectRoot } from '../../fixtures/paths.js';

const work = mkdtempSync(join(tmpdir(), 'apk-unpack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const EPOCH = 1767225600;
const big = Buffer.alloc(1 << 20);
for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;

const spec: ApkSpec = {
  name: 'sample',
  version: '2.4.1_rc3-r7',
  description: 'Every kind of entry',
  url: 'https://example.invalid/sample',
  license: 'MIT AND GPL-2.0-only',
  maintainer: 'Demo <demo@example.invalid>',
  depends: ['busybox', 'so:libc.musl-x86_64.so.1'],
  provides: ['cmd:sample=2.4.1_rc3-r7', 'sample-any'],
  triggers: ['/usr/share/sample/*'],
  epoch: EPOCH,
  scripts: {
    'post-install': '#!/bin/sh\necho installed\n',
    'pre-deinstall': '#!/bin/sh\necho bye\n',
    trigger: '#!/bin/sh\necho triggered "$@"\n',
  },
  files: [
    { path: 'etc', type: 'dir', mode: 0o755 },
    { path: 'etc/sample.conf', type: 'file', mode: 0o644, content: 'key = value\n' },
    { path: 'etc/shadow.sample', type: 'file', mode: 0o640, gid: 42, gname: 'shadow', content: 'root:*::0:::::\n' },
    { path: 'usr', type: 'dir', mode: 0o755 },
    { path: 'usr/bin', type: 'dir', mode: 0o755 },
    { path: 'usr/bin/sample', type: 'file', mode: 0o4755, content: big },
    { path: 'usr/bin/sample-hard', type: 'hardlink', mode: 0o4755, linkTarget: 'usr/bin/sample' },
    { path: 'usr/bin/sample-link', type: 'symlink', mode: 0o777, linkTarget: 'sample' },
    { path: 'usr/bin/abs-link', type: 'symlink', mode: 0o777, linkTarget: '/etc/sample.conf' },
    {
      path: 'usr/bin/ping6',
      type: 'file',
      mode: 0o755,
      content: 'cap',
      xattrs: { 'security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex') },
    },
    { path: 'var', type: 'dir', mode: 0o755 },
    { path: 'var/empty', type: 'dir', mode: 0o555 },
    { path: 'var/spool', type: 'dir', mode: 0o1777, uid: 100, gid: 101, uname: 'mail', gname: 'mail' },
    { path: 'dev/console', type: 'char', mode: 0o600, devmajor: 5, devminor: 1 },
    { path: 'dev/loop0', type: 'block', mode: 0o660, gid: 6, gname: 'disk', devmajor: 7, devminor: 0 },
    { path: 'run/initctl', type: 'fifo', mode: 0o600 },
    { path: 'usr/share/sample/' + 'deep/'.repeat(30) + 'leaf.txt', type: 'file', mode: 0o644, content: 'deep\n' },
  ],
};

let keys: TrustedKeys;
let apk: BuiltApk;
let apkPath: string;
let out: string;
let result: UnpackApkResult;

beforeAll(async () => {
  keys = await loadTrustedKeys(join(projectRoot(), DEMO_KEYS_DIR));
  apk = await buildApk(spec);
  apkPath = join(work, apk.fileName);
  writeFileSync(apkPath, apk.bytes);
  out = join(work, 'out');
  result = await unpackApk({
    apkPath,
    expected: { name: apk.name, version: apk.version, size: apk.bytes.length, checksum: apk.checksum },
    keys,
    outDir: mkdtemp(out),
  });
});

function mkdtemp(path: string): string {
  execFileSync('mkdir', ['-p', path]);
  return path;
}

describe('unpacking a well-formed package', () => {
  it('is a real APK v2 file: GNU tar reads all three segments as one archive', () => {
    const listing = execFileSync('tar', ['--warning=no-unknown-keyword', '--numeric-owner', '-tzvf', apkPath], {
      encoding: 'utf8',
    });
    const lines = listing.trim().split('\n');
    expect(lines[0]).toMatch(/^-rw-r--r-- 0\/0 +256 2026-01-01 00:00 \.SIGN\.RSA\.pipeline-demo-[0-9a-f]{8}\.rsa\.pub$/);
    expect(lines[1]).toMatch(/ \.PKGINFO$/);
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 .* \.post-install$/m);
    expect(listing).toMatch(/^-rwsr-xr-x 0\/0 +1048576 2026-01-01 00:00 usr\/bin\/sample$/m);
    expect(listing).toMatch(/^hrwsr-xr-x 0\/0 .* usr\/bin\/sample-hard link to usr\/bin\/sample$/m);
    expect(listing).toMatch(/^-rw-r----- 0\/42 .* etc\/shadow\.sample$/m);
    expect(listing).toMatch(/^crw------- 0\/0 +5,1 .* dev\/console$/m);
    expect(listing).toMatch(/^drwxrwxrwt 100\/101 .* var\/spool\/$/m);
  });

  it('writes the file tree under root/ with contents, links and safe modes', () => {
    const root = join(out, 'root');
    expect(readFileSync(join(root, 'etc/sample.conf'), 'utf8')).toBe('key = value\n');
    expect(readFileSync(join(root, 'usr/bin/sample')).equals(big)).toBe(true);
    expect(lstatSync(join(root, 'usr/bin/sample-hard')).ino).toBe(lstatSync(join(root, 'usr/bin/sample')).ino);
    expect(readlinkSync(join(root, 'usr/bin/sample-link'))).toBe('sample');
    expect(readlinkSync(join(root, 'usr/bin/abs-link'))).toBe('/etc/sample.conf');
    // No setuid on disk, owner-writable; directories end up with their mode plus owner rwx.
    expect(statSync(join(root, 'usr/bin/sample')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(root, 'etc/shadow.sample')).mode & 0o7777).toBe(0o640);
    expect(statSync(join(root, 'var/empty')).mode & 0o7777).toBe(0o755);
    // Devices and fifos exist only in the manifest.
    expect(readdirSync(join(root, 'dev'))).toEqual([]);
    expect(readdirSync(join(root, 'run'))).toEqual([]);
    expect(readFileSync(join(root, 'usr/share/sample/' + 'deep/'.repeat(30) + 'leaf.txt'), 'utf8')).toBe('deep\n');
  });

  it('records owners, modes, devices, digests and links in manifest.json', async () => {
    const manifest = await readManifest(join(out, 'manifest.json'));
    expect(manifest.package).toEqual({ name: 'sample', version: '2.4.1_rc3-r7' });
    const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
    expect(byPath.get('usr/bin/sample')).toEqual({
      path: 'usr/bin/sample',
      type: 'file',
      mode: 0o4755,
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      size: big.length,
      sha256: createHash('sha256').update(big).digest('hex'),
      packageDigest: `sha1:${createHash('sha1').update(big).digest('hex')}`,
    });
    expect(byPath.get('usr/bin/sample-hard')).toMatchObject({ type: 'hardlink', link: 'usr/bin/sample', mode: 0o4755 });
    expect(byPath.get('etc/shadow.sample')).toMatchObject({ mode: 0o640, gid: 42, gname: 'shadow' });
    expect(byPath.get('var/spool')).toMatchObject({ type: 'dir', mode: 0o1777, uid: 100, gid: 101, uname: 'mail' });
    expect(byPath.get('var/empty')).toMatchObject({ type: 'dir', mode: 0o555 });
    expect(byPath.get('dev/console')).toMatchObject({ type: 'char', devmajor: 5, devminor: 1, mode: 0o600 });
    expect(byPath.get('dev/loop0')).toMatchObject({ type: 'block', devmajor: 7, devminor: 0, gid: 6 });
    expect(byPath.get('run/initctl')).toMatchObject({ type: 'fifo', mode: 0o600 });
    expect(byPath.get('usr/bin/abs-link')).toMatchObject({ type: 'symlink', target: '/etc/sample.conf' });
    expect(byPath.get('usr/bin/ping6')!.xattrs).toEqual({
      'security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex').toString('base64'),
    });
    // Implicit parents (dev, run, usr/share...) are created on disk but are not package entries.
    expect(byPath.has('dev')).toBe(false);
    expect(manifest.entries.map((e) => e.path)).toEqual([...manifest.entries.map((e) => e.path)].sort());
    expect(result.stats.files).toBe(5);
  });

  it('keeps scripts and .PKGINFO for the rootfs stage', () => {
    expect(readdirSync(join(out, 'scripts')).sort()).toEqual(['post-install', 'pre-deinstall', 'trigger']);
    expect(readFileSync(join(out, 'scripts/post-install'), 'utf8')).toBe('#!/bin/sh\necho installed\n');
    const pkginfo = JSON.parse(readFileSync(join(out, 'pkginfo.json'), 'utf8'));
    expect(pkginfo).toMatchObject({
      pkgname: 'sample',
      pkgver: '2.4.1_rc3-r7',
      license: 'MIT AND GPL-2.0-only',
      builddate: EPOCH,
      depend: ['busybox', 'so:libc.musl-x86_64.so.1'],
      provides: ['cmd:sample=2.4.1_rc3-r7', 'sample-any'],
      triggers: ['/usr/share/sample/*'],
      datahash: apk.datahash,
      size: apk.installedSize,
    });
    expect(result.signedBy).toMatch(/^pipeline-demo-[0-9a-f]{8}\.rsa\.pub$/);
  });

  it('unpacks a package with no files (a meta package)', async () => {
    const meta = await buildApk({
      name: 'meta',
      version: '1-r0',
      description: 'meta',
      url: 'https://example.invalid',
      license: 'MIT',
      depends: ['sample'],
      epoch: EPOCH,
      files: [],
    });
    const path = join(work, meta.fileName);
    writeFileSync(path, meta.bytes);
    const dest = mkdtemp(join(work, 'meta-out'));
    const r = await unpackApk({
      apkPath: path,
      expected: { name: 'meta', version: '1-r0', size: meta.bytes.length, checksum: meta.checksum },
      keys,
      outDir: dest,
    });
    expect(r.manifest.entries).toEqual([]);
    expect(readdirSync(join(dest, 'root'))).toEqual([]);
  });
});

describe('.PKGINFO parsing', () => {
  it('keeps every line, lists multi-valued keys, and refuses malformed lines', () => {
    const info = parsePkgInfo(
      '# comment\npkgname = x\npkgver = 1-r0\ndepend = a\ndepend = b>=2\ninstall_if = c d=1-r0\nsize = 4096\nunknown = kept\n',
    );
    expect(info).toMatchObject({ pkgname: 'x', depend: ['a', 'b>=2'], install_if: ['c', 'd=1-r0'], size: 4096 });
    expect(info.fields).toContainEqual(['unknown', 'kept']);
    expect(() => parsePkgInfo('pkgname = x\npkgver = 1\ngarbage\n', 'f')).toThrow(/f:3: expected "key = value"/);
    expect(() => parsePkgInfo('pkgver = 1\n', 'f')).toThrow(/pkgname and pkgver are required/);
  });
});
