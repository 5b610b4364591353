// The mirror's packages make a working system without running a single scriptlet: installed
// with rpm --noscripts into a directory, given the native post-install steps the pipeline
// performs (systemd-sysusers --root, systemctl --root preset-all), Debian's binaries run there
// through Rocky's usrmerge links (/lib64/ld-linux-x86-64.so.2 -> usr/lib64 -> /lib/x86_64-linux-gnu).
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureRpmMirror } from '../../fixtures/rpm/build-mirror.js';
import { expectInstallToolsWorked, INSTALL_TOOLS_SCRIPT, writeSignedBundle } from '../fixtures/install-tools.js';
import { run, tempDir } from './helpers.js';

const isRoot = process.getuid?.() === 0;

// chroot needs root; as any other user this file reports the reason and skips.
describe.skipIf(!isRoot)('RPM fixture mirror installed into a root (needs root for chroot)', () => {
  let root: string;

  beforeAll(async () => {
    const mirror = await ensureRpmMirror((line) => console.log(`[rpm mirror] ${line}`));
    root = join(await tempDir('rpm-root-'), 'root');
    const db = join(root, '..', 'rpmdb');
    const files = mirror.packages.map((p) => join(mirror.repos[p.repo], p.location));
    // rpm is the oracle installer here; --nodeps is not needed (the set is closed), --noscripts is the point.
    await run('rpm', ['--root', root, '--dbpath', db, '--noscripts', '--nosignature', '-i', ...files], { maxBuffer: 16 << 20 });
  }, 600_000);

  it('runs systemd, bash, agetty and login in a chroot after sysusers and preset-all', async () => {
    expect(await readlink(join(root, 'lib64'))).toBe('usr/lib64');
    await run('systemd-sysusers', ['--root', root]);
    await run('systemctl', ['--root', root, 'preset-all']);
    const group = await readFile(join(root, 'etc/group'), 'utf8');
    for (const name of ['systemd-journal', 'systemd-network', 'utmp', 'kvm', 'tty', 'wheel']) expect(group).toMatch(new RegExp(`^${name}:`, 'm'));
    expect(await readFile(join(root, 'etc/passwd'), 'utf8')).toMatch(/^systemd-network:x:\d+:\d+:/m);
    expect(await readFile(join(root, 'etc/shadow'), 'utf8')).toMatch(/^root::/);
    expect(await readlink(join(root, 'etc/systemd/system/getty.target.wants/getty@tty1.service'))).toMatch(/getty@\.service$/);
    const { stdout } = await run('chroot', [
      root, '/bin/bash', '-c',
      'systemctl --version | head -n1; /usr/lib/systemd/systemd --version | head -n1; /sbin/agetty --version; ' +
        'login --help 2>&1 | head -n1; udevadm --version; modprobe --version | head -n1; /usr/sbin/busybox echo busybox-ok; ' +
        'ls /usr/lib/x86_64-linux-gnu/security/pam_unix.so; id -un',
    ]);
    expect(stdout).toMatch(/^systemd 252 /m);
    expect(stdout).toMatch(/^agetty from util-linux /m);
    expect(stdout).toMatch(/^Usage: login/m);
    expect(stdout).toMatch(/^kmod version \d+/m);
    expect(stdout).toMatch(/^busybox-ok$/m);
    expect(stdout).toMatch(/^root$/m);
    const autologin = await readFile(join(root, 'usr/lib/systemd/system/serial-getty@.service.d/autologin.conf'), 'utf8');
    expect(autologin).toContain('--autologin root');
  }, 600_000);

  it("runs the manual install's and the A/B updater's tools: gdisk, dosfstools, e2fsprogs, openssl", async () => {
    writeSignedBundle(root);
    for (const [name, minor] of [['null', 3], ['zero', 5], ['urandom', 9]] as const) {
      await run('mknod', ['-m', '666', join(root, 'dev', name), 'c', '1', String(minor)]);
    }
    const output = await run('unshare', ['--net', 'chroot', root, '/bin/bash', '-ec', INSTALL_TOOLS_SCRIPT], {
      env: { PATH: '/usr/sbin:/usr/bin', LC_ALL: 'C' },
    }).then(
      ({ stdout, stderr }) => stdout + stderr,
      (err: Error & { stdout?: string; stderr?: string }) => {
        throw new Error(`the tools' script failed in the chroot: ${err.message}\n--- stdout\n${err.stdout}\n--- stderr\n${err.stderr}`);
      },
    );
    expectInstallToolsWorked(output);
  });
});
