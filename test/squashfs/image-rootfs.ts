// A rootfs for the root-image suites: demo packages plus one package holding what an image
// format has to carry: device nodes, a fifo, a setuid file, a non-root owner, a sticky
// directory, and a hardlink whose path sorts before its target's.
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { buildRootfs, hostRunner, type RootfsConfig } from '../../stages/rootfs.js';
import { buildAndUnpack, customSpec, DEMO_EPOCH, demoPackages } from '../rootfs/packages.js';

export const IMAGE_TEST_CONFIG: RootfsConfig = {
  variant: 'demo',
  osRelease: { ID: 'demo', NAME: 'Pipeline Demo' },
  hostname: 'demo',
  init: 'busybox',
  rootPassword: 'empty',
  console: { autologin: 'root' },
};

/** Builds the rootfs under `work/rootfs` from the named demo packages + special-files; returns its directory. */
export async function buildImageTestRootfs(work: string, names: readonly string[]): Promise<string> {
  const demo = await demoPackages();
  const special = await buildAndUnpack(
    customSpec('special-files', [
      { path: 'dev', type: 'dir', mode: 0o755 },
      { path: 'dev/console', type: 'char', mode: 0o600, devmajor: 5, devminor: 1 },
      { path: 'dev/loop0', type: 'block', mode: 0o660, gid: 6, gname: 'disk', devmajor: 7, devminor: 0 },
      { path: 'run', type: 'dir', mode: 0o755 },
      { path: 'run/initctl', type: 'fifo', mode: 0o600 },
      { path: 'usr', type: 'dir', mode: 0o755 },
      { path: 'usr/bin', type: 'dir', mode: 0o755 },
      { path: 'usr/bin/su-test', type: 'file', mode: 0o4755, content: '#!/bin/sh\n' },
      { path: 'usr/bin/zz-first', type: 'file', mode: 0o755, content: 'shared inode\n' },
      { path: 'usr/bin/aa-link', type: 'hardlink', mode: 0o755, linkTarget: 'usr/bin/zz-first' },
      { path: 'var', type: 'dir', mode: 0o755 },
      { path: 'var/spool', type: 'dir', mode: 0o755 },
      { path: 'var/spool/cron', type: 'dir', mode: 0o1730, uid: 42, gid: 42, uname: 'cron', gname: 'shadow' },
    ]),
    join(work, 'pkg'),
    // Unsorted on purpose: the hardlink's path sorts before its target's, the case a tar stream must reorder.
    { keepOrder: true },
  );
  const rootfs = join(work, 'rootfs');
  await mkdir(rootfs);
  await buildRootfs({
    packages: [...names.map((name) => ({ name, dir: demo.get(name)!.dir })), { name: 'special-files', dir: special.dir }],
    config: IMAGE_TEST_CONFIG,
    outDir: rootfs,
    tmpDir: await mkdtemp(join(work, 'tmp-')),
    sourceDateEpoch: DEMO_EPOCH,
    runner: hostRunner(),
  });
  return rootfs;
}
