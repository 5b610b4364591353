// Shared by the RPM fixture tests: the cached mirror, and rpm/gpg/dnf run as oracles.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);

/** The package list a live systemd system is installed from (what the lead's variant asks for). */
export const LIVE_PACKAGES = [
  'filesystem', 'setup', 'glibc', 'bash', 'coreutils', 'util-linux', 'shadow-utils', 'systemd', 'systemd-udev',
  'kmod', 'pam', 'kernel', 'kernel-core', 'systemd-boot-unsigned', 'syslinux', 'busybox', 'authselect',
  'crypto-policies', 'levitate-demo-release', 'levitate-demo-live',
];

/** The manual install's and the A/B updater's tools: the package a variant lists -> commands it ships. */
export const INSTALL_TOOLS: Record<string, string[]> = {
  gdisk: ['/usr/sbin/sgdisk'],
  dosfstools: ['/usr/sbin/mkfs.fat', '/usr/sbin/fsck.fat'],
  e2fsprogs: ['/usr/sbin/mkfs.ext4', '/usr/sbin/e2fsck', '/usr/sbin/tune2fs', '/usr/bin/chattr'],
  openssl: ['/usr/bin/openssl'],
};

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Every file below `dir`, as paths relative to it, sorted. */
export async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path, base)));
    else out.push(relative(base, path));
  }
  return out.sort();
}

/** `rpm -qp --qf FORMAT` of one package file (signature not checked: no keys in the host rpmdb). */
export async function queryRpm(rpm: string, format: string): Promise<string> {
  const { stdout } = await run('rpm', ['-qp', '--nosignature', '--qf', format, rpm], { maxBuffer: 64 << 20 });
  return stdout;
}

export async function rpmArgs(rpm: string, args: string[]): Promise<string> {
  const { stdout } = await run('rpm', ['-qp', '--nosignature', ...args, rpm], { maxBuffer: 64 << 20 });
  return stdout;
}
