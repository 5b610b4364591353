// The demo variant end to end, through the real `pipeline` command, from the fixture Alpine mirror
// served on 127.0.0.1: lock, build, artifacts, incrementality, reproducibility, shared package
// nodes, lock mismatches.
import { execFile } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readManifest } from '../../stages/shared/manifest.js';
import { cli, jsonEvents, statuses } from '../engine/helpers.js';
import { deadUrl } from '../../fixtures/http-server.js';
import { projectRoot } from '../../fixtures/paths.js';
import { demoProject, serveDemoMirror, type DemoMirrorServer } from '../../fixtures/demo-project.js';

const run = promisify(execFile);
let mirror: DemoMirrorServer;
let project: string;
let firstBuild: Record<string, string>;
let firstEvents: Array<Record<string, unknown>>;

beforeAll(async () => {
  mirror = await serveDemoMirror();
  project = await demoProject();
  const lock = await cli(['lock', 'demo', '--mirror', mirror.flag], project);
  expect(lock.code, lock.stderr).toBe(0);
  const built = await cli(['build', 'demo', '--json', '--mirror', mirror.flag], project);
  expect(built.code, built.stderr).toBe(0);
  firstEvents = jsonEvents(built.stdout);
  firstBuild = statuses(built.stdout);
}, 600_000);

afterAll(async () => {
  await mirror?.server.stop();
});

const sha256 = async (path: string) => (await run('sha256sum', [path])).stdout.split(' ')[0];

describe('pipeline lock and build demo', () => {
  it('lock downloads and verifies the index and pins every package', async () => {
    const lock = await readFile(join(project, 'variants/demo.lock.yaml'), 'utf8');
    expect(lock).toContain('url: mirror://demo/v3.23/main/x86_64');
    for (const name of ['alpine-base', 'busybox', 'linux-lts', 'systemd-boot', 'systemd-efistub', 'syslinux', 'linux-firmware-none']) {
      expect(lock).toMatch(new RegExp(`\\n  ${name}:\\n    version: `));
    }
    // linux-lts needs the firmware virtual, which linux-firmware-none provides.
    expect(lock).toMatch(/ {2}linux-lts:[\s\S]*?depends:\n {6}- linux-firmware-none/);
  });

  it('builds every node, leaves the artifacts in out/demo, and downloads no index once locked', async () => {
    expect(Object.values(firstBuild).every((s) => s === 'built')).toBe(true);
    expect(Object.keys(firstBuild)).not.toContain('apk-index:demo/v3.23/main/x86_64');
    expect(mirror.server.requests.filter((r) => r.endsWith('APKINDEX.tar.gz'))).toHaveLength(1); // the lock's
    const summary = firstEvents[firstEvents.length - 1];
    expect(summary).toMatchObject({ event: 'summary', failed: 0 });
    const artifacts = summary.artifacts as Record<string, string>;
    for (const name of ['demo.iso', 'demo.iso.sha256', 'filesystem.squashfs', 'overlayfs.squashfs', 'initramfs-live.img', 'sbom.spdx.json', 'demo-1.update']) {
      expect(artifacts[name]).toBe(join(project, 'out/demo', name));
    }
    const line = await readFile(join(project, 'out/demo/demo.iso.sha256'), 'utf8');
    expect(line).toBe(`${await sha256(join(project, 'out/demo/demo.iso'))}  demo.iso\n`);
  });

  it('the root image matches the rootfs manifest: owners, modes, symlinks', async () => {
    const { stdout } = await run('unsquashfs', ['-lln', join(project, 'out/demo/filesystem.squashfs')], { maxBuffer: 64 << 20 });
    const listing = new Map<string, string>();
    for (const l of stdout.split('\n')) {
      const m = /^(\S+) (\d+)\/(\d+) +\d+ \S+ \S+ squashfs-root(\/\S*)(?: -> (\S+))?$/.exec(l);
      if (m) listing.set(m[4].slice(1), l);
    }
    const rootfs = (firstEvents.find((e) => e.id === 'rootfs:demo' && e.event === 'node') as { output: string }).output;
    const manifest = await readManifest(join(project, 'out/cache/cas', rootfs, 'manifest.json'));
    expect(listing.size).toBe(manifest.entries.length);
    for (const e of manifest.entries) {
      const l = listing.get(e.path);
      expect(l, e.path).toBeDefined();
      const [perms, owner] = l!.split(/ +/);
      expect(`${e.path} ${owner}`).toBe(`${e.path} ${e.uid}/${e.gid}`);
      expect(`${e.path} ${perms.slice(1)}`).toBe(`${e.path} ${modeString(e.mode)}`);
      if (e.type === 'symlink') expect(l!.endsWith(` -> ${e.target}`)).toBe(true);
    }
    // busybox's post-install made its applet links; the generated files are there.
    expect(listing.get('bin/sh')).toMatch(/-> \/bin\/busybox$/);
    for (const f of ['etc/os-release', 'etc/hostname', 'etc/fstab', 'etc/inittab', 'etc/shadow', 'etc/motd']) expect(listing.has(f), f).toBe(true);
  });

  it('the overlay is the upper layer: its own image, not in the base one', async () => {
    const overlay = await readFile(join(projectRoot(), 'variants/overlays/demo/etc/motd'), 'utf8');
    const upper = join(project, 'out/demo/overlayfs.squashfs');
    const { stdout } = await run('unsquashfs', ['-lln', upper]);
    const paths = stdout.split('\n').map((l) => /squashfs-root(\/\S*)?$/.exec(l)?.[1] ?? null).filter((p) => p !== null);
    // The overlay's file and the recipes' trees (hello's program and docs, welcome's files).
    expect(paths.filter((p) => p.startsWith('/etc'))).toEqual(['/etc', '/etc/motd']);
    for (const p of ['/usr/bin/hello', '/usr/share/man/man1/hello.1', '/usr/bin/welcome', '/usr/share/welcome/VERSION']) expect(paths).toContain(p);
    expect(paths.filter((p) => !p.startsWith('/etc') && !p.startsWith('/usr'))).toEqual([]);
    expect(stdout).toMatch(/^-rw-r--r-- 0\/0 .* squashfs-root\/etc\/motd$/m);
    expect(stdout).toMatch(/^-rwxr-xr-x 0\/0 .* squashfs-root\/usr\/bin\/hello$/m);
    expect((await run('unsquashfs', ['-cat', upper, 'etc/motd'])).stdout).toBe(overlay);
    // The base keeps the package's file; overlayfs shows the upper one at boot.
    expect((await run('unsquashfs', ['-cat', join(project, 'out/demo/filesystem.squashfs'), 'etc/motd'])).stdout).not.toBe(overlay);
    const base = (await run('unsquashfs', ['-lln', join(project, 'out/demo/filesystem.squashfs')], { maxBuffer: 64 << 20 })).stdout;
    expect(base).not.toMatch(/squashfs-root\/usr\/bin\/hello$/m);
  });

  it('the initramfs holds busybox, init, the modules and the console device, and nothing of the rootfs', async () => {
    const { stdout } = await run('sh', ['-c', `zstd -dc '${join(project, 'out/demo/initramfs-live.img')}' | cpio -tv 2>/dev/null`], { maxBuffer: 64 << 20 });
    expect(stdout).toMatch(/^crw------- +1 root +root +5, +1 .* dev\/console$/m);
    expect(stdout).toMatch(/ init$/m);
    expect(stdout).toMatch(/ bin\/busybox$/m);
    expect(stdout).toMatch(/\/squashfs\.ko$/m);
    expect(stdout).not.toContain('etc/motd');
  });

  it('the SBOM lists every locked package in SPDX 2.3', async () => {
    const sbom = JSON.parse(await readFile(join(project, 'out/demo/sbom.spdx.json'), 'utf8'));
    expect(sbom.spdxVersion).toBe('SPDX-2.3');
    const names = sbom.packages.map((p: { name: string }) => p.name);
    expect(names).toEqual(expect.arrayContaining(['busybox', 'linux-lts', 'syslinux', 'systemd-boot']));
  });

  it('the ISO carries both BIOS and UEFI boot, the root image and the slot UKIs, all signed', async () => {
    const iso = join(project, 'out/demo/demo.iso');
    const { stdout } = await run('xorriso', ['-indev', iso, '-find', '/', '-type', 'f'], { maxBuffer: 16 << 20 });
    for (const path of ['/boot/vmlinuz', '/boot/initramfs-live.img', '/boot/efiboot.img', '/boot/isolinux/isolinux.bin', '/boot/isolinux/isolinux.cfg', '/live/filesystem.squashfs', '/live/overlayfs.squashfs', '/boot/uki/demo-system-a.efi', '/boot/uki/demo-system-b.efi']) {
      expect(stdout).toContain(`'${path}'`);
    }
    const dir = join(project, 'extract');
    await run('mkdir', ['-p', dir]);
    await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/boot/uki/demo-system-b.efi', join(dir, 'b.efi'), '-extract', '/boot/efiboot.img', join(dir, 'esp.img')]);
    const cert = join(project, 'variants/keys/demo-secureboot/db.crt');
    await run('sbverify', ['--cert', cert, join(dir, 'b.efi')]);
    const { stdout: mdir } = await run('mdir', ['-i', join(dir, 'esp.img'), '-/', '::/'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
    expect(mdir).toContain('BOOTX64  EFI');
    expect(mdir).toContain('demo-live.efi');
    await run('mcopy', ['-i', join(dir, 'esp.img'), '::/EFI/BOOT/BOOTX64.EFI', join(dir, 'boot.efi')]);
    await run('sbverify', ['--cert', cert, join(dir, 'boot.efi')]);
    // One byte changed after signing: the signature no longer verifies.
    const bytes = await readFile(join(dir, 'b.efi'));
    bytes[0x300] ^= 0xff;
    await writeFile(join(dir, 'b.efi'), bytes);
    await expect(run('sbverify', ['--cert', cert, join(dir, 'b.efi')])).rejects.toThrow();
  });
});

describe('rebuilding the demo', () => {
  it('a no-op rebuild takes everything from the cache', async () => {
    const again = await cli(['build', 'demo', '--json', '--mirror', mirror.flag], project);
    expect(new Set(Object.values(statuses(again.stdout)))).toEqual(new Set(['cached']));
  });

  it('one overlay file changed: only the upper layer, its image, the ISO and the update bundle rerun, and the result equals a clean build', async () => {
    const work = await demoProject('pipeline-demo-overlay-');
    await cli(['lock', 'demo', '--mirror', mirror.flag], work);
    const cache = join(project, 'out/cache');
    expect((await cli(['build', 'demo', '--json', '--cache-dir', cache, '--mirror', mirror.flag], work)).code).toBe(0);
    await writeFile(join(work, 'variants/overlays/demo/etc/motd'), 'a changed message of the day\n');
    const after = await cli(['build', 'demo', '--json', '--cache-dir', cache, '--mirror', mirror.flag], work);
    expect(after.code, after.stderr).toBe(0);
    const built = Object.entries(statuses(after.stdout)).filter(([, s]) => s === 'built').map(([id]) => id).sort();
    expect(built).toEqual(['bundle:demo', 'iso:demo', 'layer:demo', 'squashfs:demo:upper']);
    const s = statuses(after.stdout);
    // The base root filesystem and its image are not rebuilt: the overlay is not in them.
    for (const id of ['rootfs:demo', 'squashfs:demo', 'initramfs:demo', 'uki:demo:live', 'uki:demo:system-a', 'sign:demo:uki-live', 'sign:demo:systemd-boot', 'esp:demo', 'sbom:demo']) {
      expect(s[id], id).toBe('cached');
    }
    const why = await cli(['explain', 'demo', 'iso:demo', '--cache-dir', cache, '--mirror', mirror.flag], work);
    expect(why.stdout).toContain('dependency squashfs:demo:upper output changed');
    expect(why.stdout).toContain('file variants/overlays/demo/etc/motd changed');
    expect(why.stdout).not.toContain('dependency squashfs:demo output changed');
    // The incremental result is byte for byte a clean build of the changed project.
    const clean = await demoProject('pipeline-demo-overlay-clean-');
    await writeFile(join(clean, 'variants/overlays/demo/etc/motd'), 'a changed message of the day\n');
    await copyFile(join(work, 'variants/demo.lock.yaml'), join(clean, 'variants/demo.lock.yaml'));
    const fresh = await cli(['build', 'demo', '--json', '--mirror', mirror.flag], clean);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(Object.values(statuses(fresh.stdout)).every((status) => status === 'built')).toBe(true);
    for (const name of ['demo.iso', 'filesystem.squashfs', 'overlayfs.squashfs', 'demo-1.update']) {
      expect(`${name} ${await sha256(join(work, 'out/demo', name))}`).toBe(`${name} ${await sha256(join(clean, 'out/demo', name))}`);
    }
    expect((await run('unsquashfs', ['-cat', join(work, 'out/demo/overlayfs.squashfs'), 'etc/motd'])).stdout).toBe('a changed message of the day\n');
  }, 300_000);

  it('two clean builds in two directories give the same ISO, root image, initramfs and SBOM', async () => {
    // A newcomer's first build: no lock yet, no terminal (plain progress lines).
    const other = await demoProject('pipeline-demo-again-');
    const built = await cli(['build', 'demo', '--mirror', mirror.flag], other);
    expect(built.code, built.stderr).toBe(0);
    expect(await readFile(join(other, 'variants/demo.lock.yaml'), 'utf8')).toBe(await readFile(join(project, 'variants/demo.lock.yaml'), 'utf8'));
    // Two rounds, each counted against its own plan: never more done than planned.
    const lines = built.stderr.split('\n');
    expect(lines).toContain('resolve packages: 2 nodes');
    const counts = lines.map((l) => /^\[ *(\d+)\/(\d+)\]/.exec(l)).filter((m) => m !== null).map((m) => [Number(m![1]), Number(m![2])]);
    for (const [done, total] of counts) expect(done).toBeLessThanOrEqual(total);
    expect(counts[1]).toEqual([2, 2]);
    const [last, total] = counts.at(-1)!;
    expect(last).toBe(total);
    expect(counts.length).toBe(2 + total);
    for (const name of ['demo.iso', 'filesystem.squashfs', 'overlayfs.squashfs', 'initramfs-live.img', 'sbom.spdx.json', 'demo-1.update']) {
      expect(`${name} ${await sha256(join(other, 'out/demo', name))}`).toBe(`${name} ${await sha256(join(project, 'out/demo', name))}`);
    }
  }, 300_000);

  it('a second variant sharing packages reuses their fetch and unpack nodes', async () => {
    const text = (await readFile(join(project, 'variants/demo.yaml'), 'utf8')).replace('name: demo', 'name: mini').replace('id: demo', 'id: mini');
    await writeFile(join(project, 'variants/mini.yaml'), text);
    const r = await cli(['build', 'mini', '--json', '--mirror', mirror.flag], project);
    expect(r.code, r.stderr).toBe(0);
    const s = statuses(r.stdout);
    const packageNodes = Object.keys(s).filter((id) => id.startsWith('apk-fetch:') || id.startsWith('apk:'));
    const locked = Object.keys(parseYaml(await readFile(join(project, 'variants/demo.lock.yaml'), 'utf8')).packages).length;
    expect(packageNodes.length).toBe(2 * locked); // one fetch and one unpack per locked package
    for (const id of packageNodes) expect(`${id} ${s[id]}`).toBe(`${id} cached`);
    expect(s['initramfs:mini']).toBe('cached'); // same kernel, busybox, modules and init: same key
    expect(s['rootfs:mini']).toBe('built');
  }, 300_000);
});

describe('locks and mirrors', () => {
  it('a lock that no longer matches the package list is an error naming the difference; --update-lock refreshes it', async () => {
    const work = await demoProject('pipeline-demo-lock-');
    await cli(['lock', 'demo', '--mirror', mirror.flag], work);
    const file = join(work, 'variants/demo.yaml');
    // Every package of the fixture mirror is locked already (the recipes' toolchain), so drop one.
    await writeFile(file, (await readFile(file, 'utf8')).replace(/^  - glibc .*\n/m, ''));
    const stale = await cli(['build', 'demo', '--mirror', mirror.flag], work);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toContain('variants/demo.lock.yaml');
    expect(stale.stderr).toContain('glibc');
    expect(stale.stderr).toMatch(/pipeline lock demo|--update-lock/);
    const graph = await cli(['graph', 'demo', '--update-lock', '--mirror', mirror.flag], work);
    expect(graph.code).toBe(2); // graph does not take --update-lock
    const updated = await cli(['lock', 'demo', '--mirror', mirror.flag], work);
    expect(updated.code, updated.stderr).toBe(0);
    const requested = /requested:\n((?:  - .*\n)*)/.exec(await readFile(join(work, 'variants/demo.lock.yaml'), 'utf8'))![1];
    expect(requested).toContain('  - syslinux\n');
    expect(requested).not.toContain('  - glibc\n');
  });

  it('a dead mirror gives a clear error naming the URL, and nothing is cached for it', async () => {
    const work = await demoProject('pipeline-demo-dead-');
    const dead = await deadUrl();
    const r = await cli(['lock', 'demo', '--mirror', `demo=${dead}`], work);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${dead}/v3.23/main/x86_64/APKINDEX.tar.gz: connection refused`);
    expect(r.stderr).toContain('after 4 attempts');
  }, 60_000);

  it('--mirror must be NAME=URL', async () => {
    const r = await cli(['graph', 'demo', '--mirror', 'nonsense'], project);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--mirror takes NAME=URL');
  });
});

function modeString(mode: number): string {
  const bits = 'rwxrwxrwx';
  let s = '';
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits[i] : '-';
  const chars = s.split('');
  if (mode & 0o4000) chars[2] = chars[2] === 'x' ? 's' : 'S';
  if (mode & 0o2000) chars[5] = chars[5] === 'x' ? 's' : 'S';
  if (mode & 0o1000) chars[8] = chars[8] === 'x' ? 't' : 'T';
  return chars.join('');
}
