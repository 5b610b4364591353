// Debian's kernel and static busybox, unpacked once under out/fixtures/initramfs, as the
// initramfs inputs of the tests (the real build takes them from unpacked variant packages).
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { extractDeb, fetchDeb, kernelPackageName } from '../../fixtures/debs.js';
import { fixturesDir } from '../../fixtures/paths.js';

export interface DebianKernel {
  /** Unpacked package root (lib/modules/<release>, boot/vmlinuz-<release>). */
  root: string;
  release: string;
  vmlinuz: string;
}

/** Unpacks a .deb into dir once; a concurrent or killed unpack never leaves a half tree there. */
async function unpackedOnce(pkg: string, dir: string): Promise<string> {
  if (existsSync(dir)) return dir;
  const deb = await fetchDeb(pkg);
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await extractDeb(deb, partial);
  try {
    await rename(partial, dir);
  } catch (err) {
    // Another test process won the race: use its tree.
    await rm(partial, { recursive: true, force: true });
    if (!existsSync(dir)) throw err;
  }
  return dir;
}

export async function debianKernel(): Promise<DebianKernel> {
  const pkg = await kernelPackageName();
  const root = await unpackedOnce(pkg, join(fixturesDir(), 'initramfs', pkg));
  const release = (await readdir(join(root, 'lib', 'modules')))[0];
  return { root, release, vmlinuz: join(root, 'boot', `vmlinuz-${release}`) };
}

/** Path of Debian's static busybox binary. */
export async function debianBusybox(): Promise<string> {
  const root = await unpackedOnce('busybox-static', join(fixturesDir(), 'initramfs', 'busybox-static'));
  return join(root, 'bin', 'busybox');
}
