// Boot fixtures built from Debian binaries: the kernel from the linux-image .deb and a tiny
// initramfs (GNU cpio + busybox-static) whose /init is a shell script.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { extractDeb, fetchDeb, kernelPackageName } from '../fixtures/debs.js';
import { fixturesDir } from '../fixtures/paths.js';

const run = promisify(execFile);

export function qemuFixturesDir(): string {
  return join(fixturesDir(), 'qemu');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Builds `dir` once: into a private temp dir first, then renamed (parallel suites race safely). */
async function buildOnce(dir: string, build: (into: string) => Promise<void>): Promise<string> {
  if (await exists(dir)) return dir;
  await mkdir(qemuFixturesDir(), { recursive: true });
  const temp = await mkdtemp(join(qemuFixturesDir(), '.partial-'));
  try {
    await build(temp);
    await rename(temp, dir).catch(async (error: NodeJS.ErrnoException) => {
      if (!(await exists(dir))) throw error;
    });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return dir;
}

/** Debian's kernel image (vmlinuz), extracted once. */
export async function debianKernel(): Promise<{ vmlinuz: string; release: string }> {
  const pkg = await kernelPackageName();
  const release = pkg.replace(/^linux-image-/, '');
  const dir = await buildOnce(join(qemuFixturesDir(), `kernel-${release}`), async (into) => {
    const unpacked = join(into, 'deb');
    await extractDeb(await fetchDeb(pkg), unpacked);
    await copyFile(join(unpacked, 'boot', `vmlinuz-${release}`), join(into, 'vmlinuz'));
    await rm(unpacked, { recursive: true, force: true });
  });
  return { vmlinuz: join(dir, 'vmlinuz'), release };
}

/** busybox from Debian's busybox-static, extracted once. */
export async function busyboxStatic(): Promise<string> {
  const dir = await buildOnce(join(qemuFixturesDir(), 'busybox-static'), async (into) => {
    await extractDeb(await fetchDeb('busybox-static'), join(into, 'deb'));
    await copyFile(join(into, 'deb', 'bin', 'busybox'), join(into, 'busybox'));
    await rm(join(into, 'deb'), { recursive: true, force: true });
  });
  return join(dir, 'busybox');
}

/** An /init that mounts the pseudo filesystems and runs a shell on the console. */
export const SHELL_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "initramfs: fixture shell on the console"
exec setsid cttyhack sh
`;

/** An /init that exits: the kernel panics ("Attempted to kill init"). */
export const EXITING_INIT = `#!/bin/busybox sh
echo "initramfs: exiting on purpose"
exit 1
`;

/** A newc cpio with busybox and the given /init, built with GNU cpio (root: /dev/console node). */
export async function buildInitramfs(init: string, out: string): Promise<string> {
  const root = await mkdtemp(join(qemuFixturesDir(), '.initramfs-'));
  try {
    for (const dir of ['bin', 'dev', 'proc', 'sys']) await mkdir(join(root, dir));
    await copyFile(await busyboxStatic(), join(root, 'bin', 'busybox'));
    await writeFile(join(root, 'init'), init);
    await chmod(join(root, 'init'), 0o755);
    // The kernel opens /dev/console for init before anything could mount devtmpfs.
    await run('mknod', [join(root, 'dev', 'console'), 'c', '5', '1']);
    await run('sh', ['-c', 'find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 > "$0"', out], { cwd: root });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return out;
}
