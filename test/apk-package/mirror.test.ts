// The demo Alpine mirror: real packages built from Debian binaries, served over HTTP on
// 127.0.0.1, downloaded, verified and unpacked; rebuilt byte for byte.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../stages/shared/manifest.js';
import { parse } from 'yaml';
import { parseApkIndex } from '../../stages/sources/apk/apkindex.js';
import { readApkIndexFile } from '../../stages/sources/apk/index-file.js';
import { resolvePackages } from '../../stages/sources/apk/resolve.js';
import { ApkPackageError, unpackApk } from '../../stages/sources/apk/package.js';
import { loadTrustedKeys, type TrustedKeys } from '../../stages/sources/apk/trust.js';
import type { IndexPackage } from '../../fixtures/alpine/apkindex-writer.js';
import { INSTALLER_PACKAGE_NAMES } from '../../fixtures/alpine/installer-packages.js';
import { TOOLCHAIN_PACKAGE_NAMES } from '../../fixtures/alpine/toolchain-packages.js';
import { DEMO_KEYS_DIR } from '../../fixtures/alpine/signer.js';
import { buildDemoMirror, DEMO_DESCRIPTION, demoRepoDir, ensureDemoMirror, type DemoMirror } from '../../fixtures/build-mirror.js';
import { deadUrl, StaticHttpServer } from '../../fixtures/http-server.js';
import { fixturesDir, projectRoot } from '../../fixtures/paths.js';

let mirror: DemoMirror;
let keys: TrustedKeys;
let server: StaticHttpServer;
let work: string;
const unpacked = new Map<string, string>();

const REPO_PATH = '/alpine/v3.23/main/x86_64';

beforeAll(async () => {
  mirror = await ensureDemoMirror();
  keys = await loadTrustedKeys(join(projectRoot(), DEMO_KEYS_DIR));
  server = await StaticHttpServer.start(fixturesDir());
  mkdirSync(fixturesDir(), { recursive: true });
  work = mkdtempSync(join(fixturesDir(), '.mirror-test-'));
}, 600_000);

afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function pkg(name: string): IndexPackage {
  const found = mirror.packages.find((p) => p.name === name);
  if (!found) throw new Error(`demo mirror has no ${name}`);
  return found;
}

async function download(url: string, dest: string): Promise<void> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  writeFileSync(dest, Buffer.from(await response.arrayBuffer()));
}

async function unpack(name: string, apkPath = join(mirror.repoDir, `${name}-${pkg(name).version}.apk`)): Promise<string> {
  const p = pkg(name);
  const out = join(work, `unpacked-${name}-${unpacked.size}`);
  mkdirSync(out);
  await unpackApk({ apkPath, expected: { name, version: p.version, size: p.size, checksum: p.checksum }, keys, outDir: out });
  unpacked.set(name, out);
  return out;
}

describe('the demo mirror', () => {
  it('has the Alpine layout and a signed index listing every package', async () => {
    expect(mirror.repoDir).toBe(demoRepoDir());
    const files = readdirSync(mirror.repoDir).sort();
    expect(files).toEqual(['APKINDEX.tar.gz', ...mirror.packages.map((p) => `${p.name}-${p.version}.apk`).sort()]);
    expect(mirror.packages.map((p) => p.name).sort()).toEqual(
      [
        'alpine-base',
        'alpine-baselayout',
        'busybox',
        'linux-firmware-none',
        'linux-lts',
        'syslinux',
        'systemd-boot',
        'systemd-efistub',
        ...TOOLCHAIN_PACKAGE_NAMES,
        ...INSTALLER_PACKAGE_NAMES,
      ].sort(),
    );
    const index = await readApkIndexFile(readFileSync(mirror.indexPath), keys, mirror.indexPath);
    expect(index.description).toBe(DEMO_DESCRIPTION);
    for (const p of mirror.packages) {
      expect(index.text).toContain(`C:${p.checksum}\nP:${p.name}\nV:${p.version}\nA:x86_64\nS:${p.size}\n`);
    }
    expect(index.text).toMatch(/^P:linux-lts\n(?:.*\n)*?D:linux-firmware-any$/m);
    expect(index.text).toMatch(/^P:linux-firmware-none\n(?:.*\n)*?p:linux-firmware-any$/m);
    expect(index.text).toMatch(/^P:alpine-base\n(?:.*\n)*?D:alpine-baselayout busybox$/m);
    expect(index.text).toMatch(/^p:\/bin\/sh cmd:.*cmd:busybox=1\.35\.0-r4 .*cmd:sh=1\.35\.0-r4/m);
  });

  it("resolves the demo variant's package list, which names linux-firmware-none as apk requires", async () => {
    const index = await readApkIndexFile(readFileSync(mirror.indexPath), keys, mirror.indexPath);
    const indexes = [parseApkIndex(index.text, { name: 'main', url: REPO_PATH }, mirror.indexPath)];
    const variant = parse(readFileSync(join(projectRoot(), 'variants', 'demo.yaml'), 'utf8')) as { packages: string[] };
    const resolved = resolvePackages({ requests: variant.packages, indexes, arch: 'x86_64', label: 'demo' });
    // Every system package, and of the toolchain at most the runtime C library (glibc, libgcc).
    const system = mirror.packages.map((p) => p.name).filter((name) => !TOOLCHAIN_PACKAGE_NAMES.includes(name));
    const names = resolved.packages.map((p) => p.package.name);
    expect(names.filter((name) => name !== 'glibc' && name !== 'libgcc')).toEqual(system.sort());
    // linux-firmware-none is linux-firmware-any's only provider, unversioned: apk (>= 2.12.10)
    // takes it only when asked for.
    const unnamed = variant.packages.filter((p) => p !== 'linux-firmware-none');
    expect(() => resolvePackages({ requests: unnamed, indexes, arch: 'x86_64', label: 'demo' })).toThrow(
      'demo -> linux-lts -> linux-firmware-any: no provider is chosen',
    );
  });

  it('is real APK v2: GNU tar lists a package, all three segments', () => {
    const listing = execFileSync(
      'tar',
      ['--warning=no-unknown-keyword', '-tzvf', join(mirror.repoDir, `busybox-${pkg('busybox').version}.apk`)],
      { encoding: 'utf8' },
    );
    expect(listing).toMatch(/^-rw-r--r-- 0\/0 +256 2026-01-01 00:00 \.SIGN\.RSA\.pipeline-demo-[0-9a-f]{8}\.rsa\.pub$/m);
    expect(listing).toMatch(/^-rw-r--r-- root\/root .* \.PKGINFO$/m);
    expect(listing).toMatch(/^-rwxr-xr-x root\/root .* \.post-install$/m);
    expect(listing).toMatch(/^-rwxr-xr-x root\/root +\d+ 2026-01-01 00:00 bin\/busybox$/m);
    expect(listing).toMatch(/^lrwxrwxrwx root\/root +0 2026-01-01 00:00 bin\/sh -> \/bin\/busybox$/m);
  });

  it('serves over HTTP on 127.0.0.1: index and package downloaded, verified and unpacked', async () => {
    const indexFile = join(work, 'APKINDEX.tar.gz');
    await download(`${server.url}${REPO_PATH}/APKINDEX.tar.gz`, indexFile);
    const index = await readApkIndexFile(readFileSync(indexFile), keys, `${server.url}${REPO_PATH}/APKINDEX.tar.gz`);
    const stanza = index.text.split('\n\n').find((s) => s.includes('\nP:busybox\n'))!;
    const checksum = /^C:(.*)$/m.exec(stanza)![1];
    const version = /^V:(.*)$/m.exec(stanza)![1];
    const size = Number(/^S:(.*)$/m.exec(stanza)![1]);
    const apk = join(work, `busybox-${version}.apk`);
    await download(`${server.url}${REPO_PATH}/busybox-${version}.apk`, apk);
    const out = join(work, 'http-busybox');
    mkdirSync(out);
    const result = await unpackApk({ apkPath: apk, expected: { name: 'busybox', version, size, checksum }, keys, outDir: out });
    expect(server.requests).toContain(`${REPO_PATH}/busybox-${version}.apk`);
    expect(result.scripts).toEqual(['post-install']);
    expect(readFileSync(join(out, 'scripts/post-install'), 'utf8')).toContain('/bin/busybox --install -s');
    // Debian's static busybox, runnable from the unpacked tree.
    expect(execFileSync(join(out, 'root/bin/busybox'), ['echo', 'alive'], { encoding: 'utf8' })).toBe('alive\n');
    const manifest = await readManifest(join(out, 'manifest.json'));
    expect(manifest.entries.find((e) => e.path === 'bin/sh')).toMatchObject({ type: 'symlink', target: '/bin/busybox' });
  });

  it('a dead or misbehaving mirror fails the download, and a short download is refused', async () => {
    await expect(fetch(`${await deadUrl()}${REPO_PATH}/APKINDEX.tar.gz`)).rejects.toThrow();
    const p = pkg('syslinux');
    const path = `${REPO_PATH}/syslinux-${p.version}.apk`;
    server.setFault(path, { kind: 'status', status: 503 });
    expect((await fetch(`${server.url}${path}`)).status).toBe(503);
    server.setFault(path, { kind: 'truncate', afterBytes: 100_000 });
    await expect(fetch(`${server.url}${path}`).then((r) => r.arrayBuffer())).rejects.toThrow();
    // A client that kept what it got before the connection dropped still cannot use it.
    const partial = join(work, 'partial.apk');
    writeFileSync(partial, readFileSync(join(mirror.repoDir, `syslinux-${p.version}.apk`)).subarray(0, 100_000));
    const error = await unpack('syslinux', partial).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApkPackageError);
    expect((error as ApkPackageError).reason).toBe('size');
    server.setFault(path, { kind: 'append', bytes: Buffer.from('extra') });
    const longer = Buffer.from(await (await fetch(`${server.url}${path}`)).arrayBuffer());
    expect(longer.length).toBe(p.size + 5);
    server.clearFaults();
  });

  it('every package unpacks; the boot pieces sit at Alpine paths', async () => {
    for (const p of mirror.packages) await unpack(p.name);
    const root = (name: string) => join(unpacked.get(name)!, 'root');
    expect(existsSync(join(root('linux-lts'), 'boot/vmlinuz-lts'))).toBe(true);
    expect(readFileSync(join(root('linux-lts'), 'boot/vmlinuz-lts')).subarray(0x202, 0x206).toString()).toBe('HdrS');
    for (const file of ['isolinux.bin', 'isohdpfx.bin', 'ldlinux.c32', 'libcom32.c32', 'libutil.c32', 'menu.c32']) {
      expect(existsSync(join(root('syslinux'), 'usr/share/syslinux', file)), file).toBe(true);
    }
    expect(existsSync(join(root('systemd-boot'), 'usr/lib/systemd/boot/efi/systemd-bootx64.efi'))).toBe(true);
    const stub = readFileSync(join(root('systemd-efistub'), 'usr/lib/systemd/boot/efi/linuxx64.efi.stub'));
    expect(stub.subarray(0, 2).toString()).toBe('MZ');
    const layout = await readManifest(join(unpacked.get('alpine-baselayout')!, 'manifest.json'));
    expect(layout.entries.find((e) => e.path === 'etc/shadow')).toMatchObject({ mode: 0o640, gid: 42, gname: 'shadow' });
    expect(layout.entries.find((e) => e.path === 'tmp')).toMatchObject({ type: 'dir', mode: 0o1777 });
    expect(layout.entries.find((e) => e.path === 'var/run')).toMatchObject({ type: 'symlink', target: '../run' });
  });

  it('ships a module subset whose modules.dep modprobe can resolve', () => {
    const root = join(unpacked.get('linux-lts')!, 'root');
    const [kver] = readdirSync(join(root, 'lib/modules'));
    const deps = execFileSync('modprobe', ['-d', root, '-S', kver, '--show-depends', 'sr_mod'], { encoding: 'utf8' });
    expect(deps).toMatch(/insmod .*\/cdrom\.ko/);
    expect(deps).toMatch(/insmod .*\/sr_mod\.ko/);
    for (const module of ['squashfs', 'overlay', 'isofs', 'erofs', 'vfat', 'loop', 'virtio_blk', 'virtio_net', 'ahci', 'ata_piix']) {
      expect(execFileSync('modprobe', ['-d', root, '-S', kver, '--show-depends', module], { encoding: 'utf8' }), module).toMatch(
        /insmod /,
      );
    }
  });

  it('rebuilds byte for byte (fixed key and dates)', async () => {
    const again = await buildDemoMirror({ root: join(work, 'rebuilt') });
    const digest = (dir: string) =>
      Object.fromEntries(
        readdirSync(dir)
          .sort()
          .map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]),
      );
    expect(digest(again.repoDir)).toEqual(digest(mirror.repoDir));
    expect(readdirSync(work).filter((f) => f.startsWith('rebuilt.'))).toEqual([]);
  }, 600_000);
});
