// The rootfs build on real APK packages (the demo set: busybox, alpine-baselayout, ... built
// from Debian binaries by the fixture abuild, unpacked by the apk-unpack code), with busybox's
// real .post-install run in the unshared chroot.
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestTree } from '../../graph/tree-digest.js';
import { readManifest, type ManifestEntry, type TreeManifest } from '../../stages/shared/manifest.js';
import {
  buildRootfs,
  hostRunner,
  InstallScriptError,
  PathConflictError,
  RootfsConfigError,
  type RootfsConfig,
  type RootfsResult,
} from '../../stages/rootfs.js';
import { fixturesDir } from '../../fixtures/paths.js';
import { buildAndUnpack, customSpec, DEMO_EPOCH, demoPackages, type UnpackedFixture } from './packages.js';

let demo: Map<string, UnpackedFixture>;
let work: string;
let built: { out: string; result: RootfsResult; manifest: TreeManifest };

const BASE = ['alpine-baselayout', 'busybox', 'alpine-base'];

const LIVE: RootfsConfig = {
  variant: 'demo',
  osRelease: { ID: 'demo', NAME: 'Pipeline Demo', PRETTY_NAME: 'Pipeline Demo 1.0 "quoted" $x', VERSION_ID: '1.0', HOME_URL: 'https://pipeline.invalid/' },
  hostname: 'demo-live',
  init: 'busybox',
  rootPassword: 'empty',
  console: { device: 'ttyS0', baud: 115200, autologin: 'root' },
  users: [{ name: 'operator', uid: 1000, groups: ['wheel'] }],
  services: [{ name: 'syslogd', command: '/sbin/syslogd -n', action: 'respawn' }],
};

const logs: string[] = [];
const runner = hostRunner({ log: (line) => logs.push(line) });

async function build(packages: Array<{ name: string; dir: string }>, config: RootfsConfig = LIVE, overlayDir?: string) {
  const out = await mkdtemp(join(work, 'out-'));
  const tmp = await mkdtemp(join(work, 'tmp-'));
  const result = await buildRootfs({ packages, config, overlayDir, outDir: out, tmpDir: tmp, sourceDateEpoch: DEMO_EPOCH, runner });
  return { out, result, manifest: await readManifest(join(out, 'manifest.json')) };
}

function demoInputs(names: string[]) {
  return names.map((name) => ({ name, dir: demo.get(name)!.dir }));
}

function entry(manifest: TreeManifest, path: string): ManifestEntry {
  const found = manifest.entries.find((e) => e.path === path);
  if (!found) throw new Error(`${path} not in the manifest`);
  return found;
}

beforeAll(async () => {
  demo = await demoPackages();
  await mkdir(fixturesDir(), { recursive: true });
  work = await mkdtemp(join(fixturesDir(), '.rootfs-test-'));
  built = await build(demoInputs(BASE));
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('merged tree and manifest', () => {
  it('records every path with the package that installs it, owners and modes from the packages', () => {
    const { manifest } = built;
    expect(entry(manifest, 'bin/busybox')).toMatchObject({ type: 'file', mode: 0o755, uid: 0, gid: 0, package: 'busybox' });
    expect(entry(manifest, 'bin/sh')).toMatchObject({ type: 'symlink', target: '/bin/busybox', package: 'busybox' });
    expect(entry(manifest, 'tmp')).toMatchObject({ type: 'dir', mode: 0o1777, package: 'alpine-baselayout' });
    expect(entry(manifest, 'root')).toMatchObject({ type: 'dir', mode: 0o700 });
    expect(entry(manifest, 'var/run')).toMatchObject({ type: 'symlink', target: '../run' });
    // /etc/shadow is regenerated but keeps the package's owner and mode (root:shadow 0640).
    expect(entry(manifest, 'etc/shadow')).toMatchObject({ mode: 0o640, uid: 0, gid: 42, gname: 'shadow', package: 'pipeline:generated' });
    for (const e of manifest.entries) {
      expect(e.package, e.path).toBeTruthy();
      expect([0, 42], `${e.path} owner`).toContain(e.gid);
      expect(e.uid, `${e.path} owner`).toBe(0);
    }
    // The manifest matches the disk's contents.
    const busybox = entry(manifest, 'bin/busybox');
    expect(statSync(join(built.out, 'root', 'bin/busybox')).size).toBe(busybox.size);
  });

  it("busybox's .post-install made the applet links, recorded as busybox's", () => {
    const { manifest, out, result } = built;
    expect(result.scripts.map((s) => `${s.pkg} ${s.script} ${s.args.join(' ')}`)).toEqual([`busybox post-install ${demo.get('busybox')!.version}`]);
    for (const applet of ['bin/ls', 'bin/mount', 'sbin/getty', 'bin/login', 'usr/bin/env']) {
      expect(entry(manifest, applet), applet).toMatchObject({ type: 'symlink', target: '/bin/busybox', package: 'busybox', uid: 0, uname: 'root' });
      expect(readlinkSync(join(out, 'root', applet))).toBe('/bin/busybox');
    }
    expect(result.scripts[0].changes.added.length).toBeGreaterThan(200);
  });

  it('sets every time on disk to SOURCE_DATE_EPOCH', () => {
    for (const path of ['', 'etc', 'etc/passwd', 'bin/busybox', 'usr/bin']) {
      expect(statSync(join(built.out, 'root', path)).mtimeMs / 1000, path).toBe(DEMO_EPOCH);
    }
  });
});

describe('generated configuration', () => {
  const read = (path: string) => readFileSync(join(built.out, 'root', path), 'utf8');

  it('writes os-release (quoted) under /usr/lib with /etc/os-release linking to it, and the hostname', () => {
    expect(read('usr/lib/os-release')).toBe(
      'ID="demo"\nNAME="Pipeline Demo"\nPRETTY_NAME="Pipeline Demo 1.0 \\"quoted\\" \\$x"\nVERSION_ID="1.0"\nHOME_URL="https://pipeline.invalid/"\n',
    );
    expect(entry(built.manifest, 'etc/os-release')).toMatchObject({ type: 'symlink', target: '../usr/lib/os-release' });
    expect(read('etc/os-release')).toBe(read('usr/lib/os-release'));
    expect(read('etc/hostname')).toBe('demo-live\n');
  });

  it('writes an A/B fstab: no line for /, the ESP, /var by label, /home from /var/home', () => {
    const fstab = read('etc/fstab');
    const rows = fstab.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/\s+/));
    expect(rows.map((r) => [r[0], r[1], r[2]])).toEqual([
      ['LABEL=EFI', '/boot', 'vfat'],
      ['LABEL=var', '/var', 'auto'],
      ['/var/home', '/home', 'none'],
    ]);
    expect(rows.every((r) => r[3].split(',').includes('nofail'))).toBe(true);
    expect(rows[2][3]).toContain('bind');
    expect(rows.some((r) => r[1] === '/')).toBe(false);
    expect(fstab).toMatch(/root=LABEL=system-a or root=LABEL=system-b/);
    for (const dir of ['boot', 'var', 'home', 'dev', 'proc', 'sys', 'run', 'tmp']) expect(entry(built.manifest, dir).type).toBe('dir');
  });

  it('merges users into the packages passwd/group/shadow; live root has an empty password', () => {
    const passwd = read('etc/passwd');
    expect(passwd.startsWith('root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:')).toBe(true);
    expect(passwd).toContain('operator:x:1000:1000::/home/operator:/bin/sh\n');
    expect(read('etc/group')).toContain('operator:x:1000:\n');
    expect(read('etc/group')).toMatch(/^wheel:x:10:root,operator$/m);
    const shadow = read('etc/shadow');
    expect(shadow).toMatch(/^root::/m);
    expect(shadow).toMatch(/^operator:!:/m);
    expect(shadow).toMatch(/^bin:!:/m);
  });

  it('writes an inittab with a root autologin on ttyS0 and the services', () => {
    const inittab = read('etc/inittab');
    expect(inittab).toMatch(/^ttyS0::respawn:\/bin\/login -f root$/m);
    expect(inittab).toMatch(/^tty1::respawn:\/sbin\/getty 38400 tty1$/m);
    expect(inittab).toMatch(/^::respawn:\/sbin\/syslogd -n$/m);
    expect(inittab).toMatch(/ttyS0 at 115200 baud/);
  });

  it('serial-only with a login prompt and OpenRC runlevel links (Iuppiter style)', async () => {
    const initd = await buildAndUnpack(
      customSpec('sshd-init', [
        { path: 'etc', type: 'dir', mode: 0o755 },
        { path: 'etc/init.d', type: 'dir', mode: 0o755 },
        { path: 'etc/init.d/sshd', type: 'file', mode: 0o755, content: '#!/sbin/openrc-run\n' },
      ]),
      await mkdtemp(join(work, 'pkg-')),
    );
    const config: RootfsConfig = {
      ...LIVE,
      init: 'openrc',
      rootPassword: 'locked',
      console: { autologin: null, serialOnly: true },
      services: [{ name: 'sshd' }, { name: 'sshd', runlevel: 'boot' }],
    };
    const { out, manifest } = await build([...demoInputs(BASE), { name: 'sshd-init', dir: initd.dir }], config);
    const inittab = readFileSync(join(out, 'root/etc/inittab'), 'utf8');
    expect(inittab).toMatch(/^ttyS0::respawn:\/sbin\/getty -L 115200 ttyS0 vt100$/m);
    expect(inittab).not.toMatch(/tty1/);
    expect(inittab).toMatch(/^::sysinit:\/sbin\/openrc sysinit$/m);
    expect(entry(manifest, 'etc/runlevels/default/sshd')).toMatchObject({ type: 'symlink', target: '/etc/init.d/sshd' });
    expect(entry(manifest, 'etc/runlevels/boot/sshd')).toMatchObject({ type: 'symlink', target: '/etc/init.d/sshd' });
    expect(readFileSync(join(out, 'root/etc/shadow'), 'utf8')).toMatch(/^root:\*:/m);

    await expect(build(demoInputs(BASE), { ...config, services: [{ name: 'nginx' }] })).rejects.toThrow(
      /service nginx is enabled, but no package installs \/etc\/init.d\/nginx/,
    );
  });

  it('systemd: no inittab; autologin getty drop-ins; services as .wants links to their units', async () => {
    const unit = await buildAndUnpack(
      customSpec('sshd-unit', [
        { path: 'usr', type: 'dir', mode: 0o755 },
        { path: 'usr/lib', type: 'dir', mode: 0o755 },
        { path: 'usr/lib/systemd', type: 'dir', mode: 0o755 },
        { path: 'usr/lib/systemd/system', type: 'dir', mode: 0o755 },
        { path: 'usr/lib/systemd/system/sshd.service', type: 'file', mode: 0o644, content: '[Service]\nExecStart=/usr/sbin/sshd -D\n' },
      ]),
      await mkdtemp(join(work, 'pkg-')),
    );
    const config: RootfsConfig = { ...LIVE, init: 'systemd', services: [{ name: 'sshd.service' }] };
    const { out, manifest } = await build([...demoInputs(BASE), { name: 'sshd-unit', dir: unit.dir }], config);
    expect(manifest.entries.find((e) => e.path === 'etc/inittab')?.package).not.toBe('pipeline:generated');
    const serial = readFileSync(join(out, 'root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf'), 'utf8');
    expect(serial).toMatch(/^ExecStart=$/m);
    expect(serial).toMatch(/^ExecStart=-\/sbin\/agetty --autologin root --keep-baud 115200,115200,38400,9600 %I \$TERM$/m);
    expect(readFileSync(join(out, 'root/etc/systemd/system/getty@tty1.service.d/autologin.conf'), 'utf8')).toMatch(/--autologin root --noclear/);
    expect(entry(manifest, 'etc/systemd/system/multi-user.target.wants/sshd.service')).toMatchObject({ type: 'symlink', target: '/usr/lib/systemd/system/sshd.service' });

    await expect(build(demoInputs(BASE), { ...config, services: [{ name: 'nginx.service' }] })).rejects.toThrow(
      /service nginx.service is enabled, but no package installs \/usr\/lib\/systemd\/system\/nginx.service/,
    );
    await expect(build(demoInputs(BASE), { ...config, services: [{ name: 'nginx' }] })).rejects.toThrow(/a systemd unit name ends in .service/);
  });
});

describe('conflicts and replaces', () => {
  const file = (content: string) => [
    { path: 'usr', type: 'dir' as const, mode: 0o755 },
    { path: 'usr/share', type: 'dir' as const, mode: 0o755 },
    { path: 'usr/share/thing', type: 'file' as const, mode: 0o644, content },
  ];

  it('two packages with different content at one path: an error naming both packages and the path', async () => {
    const dir = await mkdtemp(join(work, 'pkg-'));
    const a = await buildAndUnpack(customSpec('thing-a', file('A\n')), dir);
    const b = await buildAndUnpack(customSpec('thing-b', file('B\n')), dir);
    const attempt = build([...demoInputs(BASE), { name: 'thing-a', dir: a.dir }, { name: 'thing-b', dir: b.dir }]);
    await expect(attempt).rejects.toBeInstanceOf(PathConflictError);
    await expect(attempt).rejects.toThrow(/\/usr\/share\/thing: installed by both thing-a and thing-b/);
    // Identical content is no conflict.
    const same = await buildAndUnpack(customSpec('thing-same', file('A\n')), dir);
    const ok = await build([...demoInputs(BASE), { name: 'thing-a', dir: a.dir }, { name: 'thing-same', dir: same.dir }]);
    expect(entry(ok.manifest, 'usr/share/thing').package).toBe('thing-a');
  });

  it('`replaces` settles it in either order: the replacing package wins', async () => {
    const dir = await mkdtemp(join(work, 'pkg-'));
    const a = await buildAndUnpack(customSpec('thing-a', file('A\n')), dir);
    const b = await buildAndUnpack(customSpec('thing-b', file('B\n'), { replaces: ['thing-a'] }), dir);
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      const { out, manifest, result } = await build([...demoInputs(BASE), ...order.map((p) => ({ name: p.name, dir: p.dir }))]);
      expect(entry(manifest, 'usr/share/thing').package).toBe('thing-b');
      expect(readFileSync(join(out, 'root/usr/share/thing'), 'utf8')).toBe('B\n');
      expect(result.replaced).toEqual(['/usr/share/thing: thing-b replaces thing-a']);
    }
  });

  it('follows a symlinked directory the way the disk would (lib -> usr/lib)', async () => {
    const dir = await mkdtemp(join(work, 'pkg-'));
    const merged = await buildAndUnpack(
      customSpec('usrmerge', [
        { path: 'usr', type: 'dir', mode: 0o755 },
        { path: 'usr/lib64', type: 'dir', mode: 0o755 },
        { path: 'lib64', type: 'symlink', mode: 0o777, linkTarget: 'usr/lib64' },
      ]),
      dir,
    );
    const lib = await buildAndUnpack(customSpec('libfoo', [{ path: 'lib64', type: 'dir', mode: 0o755 }, { path: 'lib64/libfoo.so', type: 'file', mode: 0o755, content: 'foo' }]), dir);
    const { out, manifest } = await build([...demoInputs(BASE), { name: 'usrmerge', dir: merged.dir }, { name: 'libfoo', dir: lib.dir }]);
    expect(entry(manifest, 'usr/lib64/libfoo.so')).toMatchObject({ package: 'libfoo', mode: 0o755 });
    expect(manifest.entries.some((e) => e.path === 'lib64/libfoo.so')).toBe(false);
    expect(readFileSync(join(out, 'root/lib64/libfoo.so'), 'utf8')).toBe('foo');
  });
});

describe('install scripts', () => {
  it('a failing .post-install fails the build naming the package and the script', async () => {
    const dir = await mkdtemp(join(work, 'pkg-'));
    const bad = await buildAndUnpack(
      customSpec('breaks', [], { scripts: { 'post-install': '#!/bin/sh\necho "about to fail for $1"\nexit 7\n' } }),
      dir,
    );
    const attempt = build([...demoInputs(BASE), { name: 'breaks', dir: bad.dir }]);
    await expect(attempt).rejects.toBeInstanceOf(InstallScriptError);
    await expect(attempt).rejects.toThrow(/package breaks 1\.0-r0: \.post-install failed with exit code 7/);
    await expect(attempt).rejects.toThrow(/about to fail for 1\.0-r0/);
  });

  it('scripts run pre before post, confined (no network, private /dev and /tmp), and their files enter the manifest', async () => {
    const dir = await mkdtemp(join(work, 'pkg-'));
    const script = [
      '#!/bin/sh',
      'set -e',
      // Only the loopback interface exists (down): no network.
      'if ip -o link | grep -v " lo:"; then echo "network interface visible"; exit 3; fi',
      'echo noise > /dev/null',
      'echo scratch > /tmp/scratch',
      'echo "$(cat /etc/hostname) $1" > /etc/made-by-script',
      'mkdir -p /var/lib/made',
      'chmod 0600 /etc/motd',
      'chown 1000:1000 /var/lib/made',
      'ln /etc/made-by-script /etc/made-hardlink',
      'rm /etc/modules',
    ].join('\n');
    const pkg = await buildAndUnpack(
      customSpec('scripted', [], { scripts: { 'pre-install': '#!/bin/sh\necho pre > /etc/pre-ran\n', 'post-install': script } }),
      dir,
    );
    const { out, manifest, result } = await build([...demoInputs(BASE), { name: 'scripted', dir: pkg.dir }]);
    expect(result.scripts.filter((s) => s.pkg === 'scripted').map((s) => s.script)).toEqual(['pre-install', 'post-install']);
    expect(entry(manifest, 'etc/pre-ran')).toMatchObject({ type: 'file', package: 'scripted', uid: 0, uname: 'root', mode: 0o644 });
    expect(entry(manifest, 'etc/made-by-script')).toMatchObject({ type: 'file', package: 'scripted', uid: 0, gid: 0 });
    expect(readFileSync(join(out, 'root/etc/made-by-script'), 'utf8')).toBe('demo-live 1.0-r0\n');
    expect(entry(manifest, 'etc/made-hardlink')).toMatchObject({ type: 'hardlink', link: 'etc/made-by-script' });
    // A mode the script changed is taken; the owner it did not change stays the package's.
    expect(entry(manifest, 'etc/motd')).toMatchObject({ mode: 0o600, uid: 0, package: 'alpine-baselayout' });
    expect(manifest.entries.some((e) => e.path === 'etc/modules')).toBe(false);
    expect(existsSync(join(out, 'root/etc/modules'))).toBe(false);
    // Nothing of the chroot's /dev and /tmp mounts is left.
    expect(manifest.entries.filter((e) => e.path.startsWith('dev/') || e.path.startsWith('tmp/'))).toEqual([]);
    // chown as root in the chroot: the owner is taken (only a real root can chown; rootless runs are root inside only).
    if (process.getuid!() === 0) {
      expect(entry(manifest, 'var/lib/made')).toMatchObject({ type: 'dir', uid: 1000, gid: 1000, uname: 'operator', gname: 'operator' });
    }
  });
});

describe('overlay', () => {
  it('copies the overlay over the packages: root-owned, 0644/0755 by the exec bit, modes the variant sets', async () => {
    const overlay = await mkdtemp(join(work, 'overlay-'));
    await mkdir(join(overlay, 'etc/doas.d'), { recursive: true });
    await mkdir(join(overlay, 'usr/local/bin'), { recursive: true });
    await writeFile(join(overlay, 'etc/motd'), 'Welcome to the overlay\n');
    await writeFile(join(overlay, 'etc/doas.d/doas.conf'), 'permit :wheel\n');
    await writeFile(join(overlay, 'usr/local/bin/hello'), '#!/bin/sh\necho hello\n');
    await chmod(join(overlay, 'usr/local/bin/hello'), 0o775);
    await chmod(join(overlay, 'etc/motd'), 0o666);
    await symlink('hello', join(overlay, 'usr/local/bin/hi'));
    const config = { ...LIVE, overlayModes: { 'etc/doas.d/doas.conf': { mode: 0o600 } } };
    const { out, manifest } = await build(demoInputs(BASE), config, overlay);
    expect(entry(manifest, 'etc/motd')).toMatchObject({ type: 'file', mode: 0o644, uid: 0, package: 'pipeline:overlay:demo' });
    expect(readFileSync(join(out, 'root/etc/motd'), 'utf8')).toBe('Welcome to the overlay\n');
    expect(entry(manifest, 'usr/local/bin/hello')).toMatchObject({ mode: 0o755 });
    expect(entry(manifest, 'usr/local/bin/hi')).toMatchObject({ type: 'symlink', target: 'hello' });
    expect(entry(manifest, 'etc/doas.d')).toMatchObject({ type: 'dir', mode: 0o755, package: 'pipeline:overlay:demo' });
    expect(entry(manifest, 'etc/doas.d/doas.conf')).toMatchObject({ mode: 0o600, uid: 0 });

    await writeFile(join(overlay, 'etc/hostname'), 'clash\n');
    await expect(build(demoInputs(BASE), config, overlay)).rejects.toThrow(/\/etc\/hostname is both in the overlay and generated/);
    await expect(build(demoInputs(BASE), { ...config, overlayModes: { 'etc/nope': { mode: 0o600 } } }, overlay)).rejects.toBeInstanceOf(RootfsConfigError);
  });
});

describe('determinism', () => {
  it('two builds give byte-identical manifests and trees', async () => {
    const again = await build(demoInputs(BASE));
    expect(await readFile(join(again.out, 'manifest.json'))).toEqual(await readFile(join(built.out, 'manifest.json')));
    expect((await digestTree(again.out)).digest).toBe((await digestTree(built.out)).digest);
  });

  it('rejects bad settings with the setting named', async () => {
    await expect(build(demoInputs(BASE), { ...LIVE, hostname: 'bad host' })).rejects.toThrow(/hostname "bad host" is not a valid host name/);
    await expect(build(demoInputs(BASE), { ...LIVE, users: [{ name: 'bin', uid: 5 }] })).rejects.toThrow(/user bin has uid 1 in the packages' \/etc\/passwd/);
  });
});
