// Boot fixtures built from Debian binaries: the kernel from the linux-image .deb and a tiny
// initramfs (GNU cpio + busybox-static) whose /init is a shell script.
import { mkdirSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { extractDeb, fetchDeb, kernelPackageName } from '../../fixtures/debs.js';
import { fixturesDir } from '../../fixtures/paths.js';

const run = promisify(execFile);

/** out/fixtures/qemu, made on first use (a test file may be the first to ask for it). */
export function qemuFixturesDir(): string {
  const dir = join(fixturesDir(), 'qemu');
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Builds `dir` once: into a private temp dir first, then renamed (parallel suites race safely). */
export async function buildOnceIn(dir: string, build: (into: string) => Promise<void>): Promise<string> {
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

/** virtio disk support, in load order (dependencies first): lets a fixture initramfs see /dev/vda*. */
export const VIRTIO_BLK_MODULES = [
  'drivers/virtio/virtio_ring.ko',
  'drivers/virtio/virtio.ko',
  'drivers/virtio/virtio_pci_legacy_dev.ko',
  'drivers/virtio/virtio_pci_modern_dev.ko',
  'drivers/virtio/virtio_pci.ko',
  'drivers/block/virtio_blk.ko',
];

export interface DebianKernel {
  vmlinuz: string;
  release: string;
  /** VIRTIO_BLK_MODULES, in order. */
  virtioModules: string[];
}

/** Debian's kernel image (vmlinuz) and the virtio-blk modules, extracted once. */
export async function debianKernel(): Promise<DebianKernel> {
  const pkg = await kernelPackageName();
  const release = pkg.replace(/^linux-image-/, '');
  const moduleFile = (path: string) => path.replaceAll('/', '_');
  const dir = await buildOnceIn(join(qemuFixturesDir(), `debian-kernel-${release}`), async (into) => {
    const unpacked = join(into, 'deb');
    await extractDeb(await fetchDeb(pkg), unpacked);
    await copyFile(join(unpacked, 'boot', `vmlinuz-${release}`), join(into, 'vmlinuz'));
    for (const module of VIRTIO_BLK_MODULES) {
      await copyFile(join(unpacked, 'lib', 'modules', release, 'kernel', module), join(into, moduleFile(module)));
    }
    await rm(unpacked, { recursive: true, force: true });
  });
  return {
    vmlinuz: join(dir, 'vmlinuz'),
    release,
    virtioModules: VIRTIO_BLK_MODULES.map((module) => join(dir, moduleFile(module))),
  };
}

/** busybox from Debian's busybox-static, extracted once. */
export async function busyboxStatic(): Promise<string> {
  const dir = await buildOnceIn(join(qemuFixturesDir(), 'busybox-static'), async (into) => {
    await extractDeb(await fetchDeb('busybox-static'), join(into, 'deb'));
    await copyFile(join(into, 'deb', 'bin', 'busybox'), join(into, 'busybox'));
    await rm(join(into, 'deb'), { recursive: true, force: true });
  });
  return join(dir, 'busybox');
}

/**
 * An /init that mounts the pseudo filesystems, loads the modules listed in /lib/modules/order
 * (if any) and runs a shell on the console. Prints `initramfs: ` lines like the real initramfs.
 */
export const SHELL_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
if [ -f /lib/modules/order ]; then
  while read -r module; do insmod "/lib/modules/$module" || echo "initramfs: insmod $module failed"; done </lib/modules/order
fi
echo "initramfs: fixture shell on the console"
exec setsid cttyhack sh
`;

/** An /init that exits: the kernel panics ("Attempted to kill init"). */
export const EXITING_INIT = `#!/bin/busybox sh
echo "initramfs: exiting on purpose"
exit 1
`;

/**
 * A newc cpio with busybox, the given /init and optional kernel modules (loaded in the given
 * order by SHELL_INIT), built with GNU cpio (needs root for the /dev/console node).
 */
export async function buildInitramfs(init: string, out: string, modules: string[] = []): Promise<string> {
  const root = await mkdtemp(join(qemuFixturesDir(), '.initramfs-'));
  try {
    for (const dir of ['bin', 'dev', 'proc', 'sys', 'lib/modules']) await mkdir(join(root, dir), { recursive: true });
    await copyFile(await busyboxStatic(), join(root, 'bin', 'busybox'));
    if (modules.length) {
      for (const module of modules) await copyFile(module, join(root, 'lib', 'modules', basename(module)));
      await writeFile(join(root, 'lib', 'modules', 'order'), modules.map((module) => basename(module)).join('\n') + '\n');
    }
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
