// The demo RPM mirror (fixtures/rpm), checked with the real tools as oracles: rpmkeys verifies
// every package against the committed test keys, gpgv verifies repomd.xml.asc, python3-dnf
// resolves and downloads the live system offline with gpgcheck and repo_gpgcheck on, rpm shows
// the scriptlets and dependencies the pipeline must record.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ensureRpmMirror, RPM_REPOS, type RpmMirror } from '../../fixtures/rpm/build-mirror.js';
import { projectRoot } from '../../fixtures/paths.js';
import { INSTALL_TOOLS, LIVE_PACKAGES, queryRpm, rpmArgs, run, tempDir } from './helpers.js';

let mirror: RpmMirror;

beforeAll(async () => {
  mirror = await ensureRpmMirror((line) => console.log(`[rpm mirror] ${line}`));
});

function rpmPath(name: string): string {
  const pkg = mirror.packages.find((p) => p.name === name);
  if (!pkg) throw new Error(`the mirror has no package ${name}`);
  return join(mirror.repos[pkg.repo], pkg.location);
}

describe('RPM fixture mirror', () => {
  it('has Rocky 10 layout: two repositories, Packages/<letter>/, zstd repodata, keys at the root', async () => {
    for (const repo of RPM_REPOS) {
      const dir = mirror.repos[repo];
      expect(dir).toBe(join(mirror.root, '10', repo, 'x86_64', 'os'));
      const repomd = await readFile(join(dir, 'repodata', 'repomd.xml'), 'utf8');
      for (const type of ['primary', 'filelists', 'other']) {
        const entry = new RegExp(`<data type="${type}">([\\s\\S]*?)</data>`).exec(repomd)?.[1];
        expect(entry, `${repo} ${type}`).toBeDefined();
        const href = /<location href="([^"]+)"/.exec(entry!)![1];
        expect(href).toMatch(new RegExp(`^repodata/[0-9a-f]{64}-${type}\\.xml\\.zst$`));
        const bytes = await readFile(join(dir, href));
        expect(bytes.readUInt32LE(0)).toBe(0xfd2fb528); // zstd frame magic
        expect(/<checksum type="sha256">([0-9a-f]+)</.exec(entry!)![1]).toBe(createHash('sha256').update(bytes).digest('hex'));
        expect(Number(/<size>(\d+)</.exec(entry!)![1])).toBe(bytes.length);
        const { stdout: xml } = await run('zstd', ['-dc', join(dir, href)], { encoding: 'buffer', maxBuffer: 64 << 20 });
        expect(/<open-checksum type="sha256">([0-9a-f]+)</.exec(entry!)![1]).toBe(createHash('sha256').update(xml).digest('hex'));
        expect(Number(/<open-size>(\d+)</.exec(entry!)![1])).toBe(xml.length);
        expect(/<timestamp>(\d+)</.exec(entry!)![1]).toBe('1767225600');
      }
    }
    for (const p of mirror.packages) {
      expect(p.location).toBe(`Packages/${p.name[0]}/${p.name}-${p.version}-${p.release}.${p.arch}.rpm`);
    }
    const appstream = mirror.packages.filter((p) => p.repo === 'AppStream').map((p) => p.name).sort();
    expect(appstream).toEqual(['busybox', 'levitate-demo-live', 'syslinux', 'syslinux-nonlinux', 'systemd-boot-unsigned']);
    expect(await readFile(mirror.keys.rsa, 'utf8')).toBe(await readFile(join(projectRoot(), 'fixtures/keys/rpm/RPM-GPG-KEY-pipeline-demo-rsa'), 'utf8'));
    expect(await readFile(mirror.keys.ed25519, 'utf8')).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
  });

  it('signs every package (RSA and EdDSA header signatures) so rpmkeys --checksig passes', async () => {
    const db = await tempDir('rpmdb-');
    await run('rpmkeys', ['--dbpath', db, '--import', mirror.keys.rsa, mirror.keys.ed25519]);
    const files = mirror.packages.map((p) => join(mirror.repos[p.repo], p.location));
    const { stdout } = await run('rpmkeys', ['--dbpath', db, '--checksig', ...files], { maxBuffer: 16 << 20 });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(files.length);
    for (const line of lines) expect(line).toMatch(/: digests signatures OK$/);
    const kinds = new Map<string, number>();
    for (const p of mirror.packages) {
      const { stdout: verbose } = await run('rpmkeys', ['--dbpath', db, '-Kv', join(mirror.repos[p.repo], p.location)]);
      const kind = /Header V4 (RSA|EdDSA)\/SHA256 Signature, key ID (\w+): OK/.exec(verbose);
      expect(kind, `${p.name}: ${verbose}`).not.toBeNull();
      expect(kind![1]).toBe(p.signer === 'rsa' ? 'RSA' : 'EdDSA');
      expect(kind![2]).toBe(p.signer === 'rsa' ? '9b41e034' : 'fb0a1fb7');
      kinds.set(kind![1], (kinds.get(kind![1]) ?? 0) + 1);
    }
    expect(kinds.get('RSA')).toBeGreaterThan(kinds.get('EdDSA')!);
    expect(kinds.get('EdDSA')).toBeGreaterThanOrEqual(5);

    // Without the keys, rpmkeys must refuse: the check above is not vacuous.
    const empty = await tempDir('rpmdb-empty-');
    const refused = await run('rpmkeys', ['--dbpath', empty, '--checksig', files[0]]).then(
      () => 'accepted',
      (err: { stdout?: string }) => err.stdout ?? '',
    );
    expect(refused).toMatch(/: digests SIGNATURES NOT OK$/m);
  });

  it('signs repomd.xml with the RSA key (detached, armored)', async () => {
    const home = await tempDir('gnupg-');
    const keyring = join(home, 'rsa.gpg');
    await run('gpg', ['--homedir', home, '--batch', '--yes', '--output', keyring, '--dearmor', mirror.keys.rsa]);
    for (const repo of RPM_REPOS) {
      const repomd = join(mirror.repos[repo], 'repodata', 'repomd.xml');
      const { stderr } = await run('gpgv', ['--keyring', keyring, `${repomd}.asc`, repomd]);
      expect(stderr).toMatch(/Good signature from "Pipeline Demo RPM RSA/);
    }
  });

  it('mixes payload compressors: zstd (levels 19 and 3), xz and gzip', async () => {
    const seen = new Map<string, string[]>();
    for (const p of mirror.packages) {
      const compressor = (await queryRpm(rpmPath(p.name), '%{PAYLOADCOMPRESSOR} %{PAYLOADFLAGS}')).trim();
      const expected = { 'w19.zstdio': 'zstd 19', 'w3.zstdio': 'zstd 3', 'w6.xzdio': 'xz 6', 'w9.gzdio': 'gzip 9' }[p.payload];
      expect(compressor, p.name).toBe(expected);
      seen.set(compressor, [...(seen.get(compressor) ?? []), p.name]);
    }
    expect([...seen.keys()].sort()).toEqual(['gzip 9', 'xz 6', 'zstd 19', 'zstd 3']);
    expect(seen.get('zstd 3')).toContain('kernel-core');
    expect(seen.get('zstd 19')!.length).toBeGreaterThan(mirror.packages.length / 2);
  });

  it('has the boot files at the paths the image builder takes them from', async () => {
    const kver = mirror.kernelRelease;
    expect(kver).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
    const kernelFiles = (await rpmArgs(rpmPath('kernel-core'), ['-l'])).split('\n');
    expect(kernelFiles).toContain(`/usr/lib/modules/${kver}/vmlinuz`);
    expect(kernelFiles).toContain(`/usr/lib/modules/${kver}/modules.dep`);
    expect(kernelFiles.some((f) => f.endsWith('/squashfs.ko'))).toBe(true);
    const ghosts = (await queryRpm(rpmPath('kernel-core'), '[%{FILEFLAGS:fflags} %{FILENAMES}\n]')).split('\n');
    expect(ghosts).toContain(`g /boot/vmlinuz-${kver}`);
    expect(ghosts).toContain(`g /boot/initramfs-${kver}.img`);
    expect((await rpmArgs(rpmPath('systemd-boot-unsigned'), ['-l'])).trim().split('\n')).toEqual(
      expect.arrayContaining(['/usr/lib/systemd/boot/efi/systemd-bootx64.efi', '/usr/lib/systemd/boot/efi/linuxx64.efi.stub']),
    );
    const syslinux = (await rpmArgs(rpmPath('syslinux-nonlinux'), ['-l'])).split('\n');
    for (const file of ['isolinux.bin', 'isohdpfx.bin', 'ldlinux.c32', 'libcom32.c32', 'libutil.c32', 'menu.c32']) {
      expect(syslinux).toContain(`/usr/share/syslinux/${file}`);
    }
    expect((await rpmArgs(rpmPath('busybox'), ['-l'])).trim()).toBe('/usr/sbin/busybox');
    const filesystem = (await queryRpm(rpmPath('filesystem'), '[%{FILENAMES} -> %{FILELINKTOS}\n]')).split('\n');
    for (const link of ['/bin -> usr/bin', '/sbin -> usr/sbin', '/lib -> usr/lib', '/lib64 -> usr/lib64']) expect(filesystem).toContain(link);
    // Debian's loader path (/lib64/ld-linux-x86-64.so.2) resolves through filesystem's /lib64 link.
    const glibc = (await queryRpm(rpmPath('glibc'), '[%{FILENAMES} -> %{FILELINKTOS}\n]')).split('\n');
    expect(glibc).toContain('/usr/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
    expect(glibc).toContain('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 -> ');
  });

  it('records realistic scriptlets and dependencies, none of which the system needs to run', async () => {
    const systemd = await rpmArgs(rpmPath('systemd'), ['--scripts']);
    expect(systemd).toMatch(/preinstall scriptlet \(using \/bin\/sh\):[\s\S]*useradd -r -g 'systemd-network'/);
    expect(systemd).toMatch(/postinstall scriptlet[\s\S]*systemctl preset-all/);
    expect(await rpmArgs(rpmPath('crypto-policies'), ['--scripts'])).toMatch(/postinstall scriptlet \(using <lua>\):\nif not posix\.access/);
    expect(await rpmArgs(rpmPath('authselect'), ['--scripts'])).toMatch(/posttrans scriptlet \(using \/bin\/sh\):[\s\S]*authselect select local/);
    expect(await rpmArgs(rpmPath('kernel-core'), ['--scripts'])).toMatch(/posttrans scriptlet[\s\S]*kernel-install add/);
    expect(await rpmArgs(rpmPath('setup'), ['--scripts'])).toBe('');

    const kernelRequires = await rpmArgs(rpmPath('kernel-core'), ['--requires']);
    expect(kernelRequires).toContain('((linux-firmware >= 20240101) if linux-firmware)');
    expect(await rpmArgs(rpmPath('kernel-core'), ['--recommends'])).toContain('linux-firmware');
    expect(await rpmArgs(rpmPath('util-linux'), ['--obsoletes'])).toContain('util-linux-ng < 2.19');
    const systemdRequires = await rpmArgs(rpmPath('systemd'), ['--requires']);
    expect(systemdRequires).toMatch(/^libsystemd-shared-252\.so\(\)\(64bit\)$/m); // elfdeps on Debian's ELF files
    expect(systemdRequires).toMatch(/^libc\.so\.6\(GLIBC_2\.34\)\(64bit\)$/m);
    expect(systemdRequires).not.toMatch(/perl|python/);
    const pre = await queryRpm(rpmPath('systemd'), '[%{REQUIRENAME} %{REQUIREFLAGS:deptype}\n]');
    expect(pre).toMatch(/^\/usr\/sbin\/useradd pre$/m);
    // sysusers.d covers what the %pre would create: the system needs no scriptlet.
    const sysusers = (await rpmArgs(rpmPath('systemd'), ['-l'])).split('\n').filter((f) => f.startsWith('/usr/lib/sysusers.d/'));
    expect(sysusers).toEqual(expect.arrayContaining(['/usr/lib/sysusers.d/basic.conf', '/usr/lib/sysusers.d/systemd-network.conf', '/usr/lib/sysusers.d/systemd-journal.conf']));
    const authselect = (await queryRpm(rpmPath('authselect'), '[%{FILEFLAGS:fflags} %{FILENAMES}\n]')).split('\n');
    expect(authselect).toContain('g /etc/pam.d/system-auth');
    expect(authselect).toContain('g /etc/nsswitch.conf');
    expect(authselect).toContain(' /usr/share/authselect/default/local/system-auth');
    const buildInfo = await queryRpm(rpmPath('glibc'), '%{BUILDHOST} %{BUILDTIME}');
    expect(buildInfo).toBe('pipeline.invalid 1767225600');
  });

  it('resolves and downloads the live system offline with dnf (gpgcheck and repo_gpgcheck on)', async () => {
    const parsed = await dnfResolve(LIVE_PACKAGES);
    expect(parsed.ok).toBe(true);
    expect(parsed.signature_failures).toEqual([]);
    const names = parsed.install.map((p) => p.name);
    for (const name of LIVE_PACKAGES) expect(names).toContain(name);
    // The closure dnf computed: libraries from Requires generated by elfdeps, both repositories.
    for (const name of ['systemd-libs', 'libselinux', 'pcre2', 'openssl-libs', 'kmod-libs', 'syslinux-nonlinux', 'basesystem']) {
      expect(names).toContain(name);
    }
    expect(new Set(parsed.install.map((p) => p.repo))).toEqual(new Set(['baseos', 'appstream']));
    expect(parsed.install.find((p) => p.name === 'busybox')?.evr).toMatch(/^1:1\.35\.0-/);
  });

  it("carries the manual install's and the A/B updater's tools, which dnf resolves with their libraries", async () => {
    const variant = parse(await readFile(join(projectRoot(), 'variants/demo-rpm.yaml'), 'utf8')) as { packages: string[] };
    expect(variant.packages).toEqual(expect.arrayContaining(Object.keys(INSTALL_TOOLS)));
    for (const [name, commands] of Object.entries(INSTALL_TOOLS)) {
      const files = (await rpmArgs(rpmPath(name), ['-l'])).split('\n');
      for (const command of commands) expect(files, name).toContain(command);
    }
    const parsed = await dnfResolve(Object.keys(INSTALL_TOOLS));
    expect(parsed.ok).toBe(true);
    expect(parsed.signature_failures).toEqual([]);
    const names = parsed.install.map((p) => p.name);
    // Requires generated by elfdeps: gdisk's C++ runtime and popt, e2fsprogs' libraries, OpenSSL's.
    for (const name of ['libstdc++', 'popt', 'libuuid', 'ncurses-libs', 'e2fsprogs-libs', 'libcom_err', 'libss', 'libblkid', 'openssl-libs']) {
      expect(names).toContain(name);
    }
  });
});

interface DnfResult {
  ok: boolean;
  install: Array<{ name: string; repo: string; evr: string }>;
  signature_failures: unknown[];
}

/** dnf's resolution of `packages` against the mirror, downloaded and signature-checked (dnf-resolve.py). */
async function dnfResolve(packages: readonly string[]): Promise<DnfResult> {
  const work = await tempDir('dnf-');
  const script = join(projectRoot(), 'test/rpm-fixtures/dnf-resolve.py');
  const result = await run('/usr/bin/python3', [script, mirror.root, work, ...packages], { maxBuffer: 16 << 20 })
    .then((r) => r.stdout)
    .catch((err: { stdout?: string; stderr?: string }) => {
      throw new Error(`dnf failed:\n${err.stdout}\n${err.stderr}`);
    });
  return JSON.parse(result.trim().split('\n').pop()!) as DnfResult;
}
