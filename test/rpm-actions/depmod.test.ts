// depmod over a root holding a few real modules of Debian's kernel package (the fixture the
// initramfs tests unpack), laid out as EL's kernel-core installs them: usr/lib/modules/KVER,
// reached through /lib -> usr/lib, one module xz-compressed as EL ships them.
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rpmAction } from '../../stages/rootfs/rpm-actions/index.js';
import { debianKernel, type DebianKernel } from '../initramfs/debian-inputs.js';
import { context, copyInto, emptyRoot, treeListing } from './roots.js';

let kernel: DebianKernel;
beforeAll(async () => {
  kernel = await debianKernel();
}, 600_000);

async function modulesRoot(): Promise<string> {
  const root = await emptyRoot();
  const src = join(kernel.root, 'lib/modules', kernel.release);
  const dest = `usr/lib/modules/${kernel.release}`;
  for (const name of ['fat.ko', 'vfat.ko', 'msdos.ko']) await copyInto(root, join(src, 'kernel/fs/fat', name), `${dest}/kernel/fs/fat/${name}`);
  execFileSync('xz', ['--check=crc32', join(root, dest, 'kernel/fs/fat/msdos.ko')]);
  for (const name of ['modules.builtin', 'modules.builtin.modinfo']) await copyInto(root, join(src, name), `${dest}/${name}`);
  await writeFile(join(root, dest, 'modules.order'), 'kernel/fs/fat/fat.ko\nkernel/fs/fat/vfat.ko\nkernel/fs/fat/msdos.ko\n');
  return root;
}

describe('depmod', () => {
  it('indexes the modules: dependencies, aliases, symbols, builtin', async () => {
    const root = await modulesRoot();
    const log: string[] = [];
    expect(await rpmAction('depmod').run(root, context(log))).toMatchObject({ ran: true, summary: `module indexes for ${kernel.release}` });
    const dir = join(root, 'usr/lib/modules', kernel.release);
    expect(await readFile(join(dir, 'modules.dep'), 'utf8')).toBe(
      'kernel/fs/fat/fat.ko:\nkernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko\nkernel/fs/fat/msdos.ko.xz: kernel/fs/fat/fat.ko\n',
    );
    expect(await readFile(join(dir, 'modules.alias'), 'utf8')).toMatch(/^alias fs-vfat vfat$/m);
    expect(await readFile(join(dir, 'modules.alias'), 'utf8')).toMatch(/^alias fs-msdos msdos$/m);
    expect(await readFile(join(dir, 'modules.symbols'), 'utf8')).toMatch(/^alias symbol:fat_fill_super fat$/m);
    for (const index of ['modules.dep.bin', 'modules.alias.bin', 'modules.symbols.bin', 'modules.builtin.bin', 'modules.builtin.alias.bin']) {
      expect((await readFile(join(dir, index))).length, index).toBeGreaterThan(0);
    }
    // modprobe reads the new index through the root, as the booted system will.
    const runner = context().runner;
    const { stdout } = await runner.exec('modprobe', ['-d', root, '-S', kernel.release, '--show-depends', 'vfat'], { captureStdout: true });
    expect(stdout.split("\n").map((line) => line.trimEnd()).filter(Boolean)).toEqual([
      `insmod ${root}/lib/modules/${kernel.release}/kernel/fs/fat/fat.ko`,
      `insmod ${root}/lib/modules/${kernel.release}/kernel/fs/fat/vfat.ko`,
    ]);

    const listing = await treeListing(root);
    await rpmAction('depmod').run(root, context());
    expect(await treeListing(root)).toEqual(listing);
    const other = await modulesRoot();
    await rpmAction('depmod').run(other, context());
    expect(await treeListing(other)).toEqual(listing);
  });

  it("reads the root's depmod.d (passed with -C)", async () => {
    const root = await modulesRoot();
    await mkdir(join(root, 'etc/depmod.d'));
    // EL's dist.conf style: a search order; `override` moves vfat under extra/.
    await mkdir(join(root, 'usr/lib/modules', kernel.release, 'extra'));
    await copyInto(root, join(kernel.root, 'lib/modules', kernel.release, 'kernel/fs/fat/vfat.ko'), `usr/lib/modules/${kernel.release}/extra/vfat.ko`);
    await writeFile(join(root, 'etc/depmod.d/dist.conf'), 'search extra built-in\n');
    await rpmAction('depmod').run(root, context());
    const dep = await readFile(join(root, 'usr/lib/modules', kernel.release, 'modules.dep'), 'utf8');
    expect(dep).toMatch(/^extra\/vfat\.ko: kernel\/fs\/fat\/fat\.ko$/m);
    expect(dep).not.toMatch(/^kernel\/fs\/fat\/vfat\.ko/m);
  });

  it('does nothing without kernels, and says why it cannot reach one without /lib -> usr/lib', async () => {
    const log: string[] = [];
    expect(await rpmAction('depmod').run(await emptyRoot(), context(log))).toMatchObject({ ran: false });
    expect(log).toContain('rpm-actions: depmod: no kernel under usr/lib/modules: no module index built');
    const root = await modulesRoot();
    await unlink(join(root, 'lib'));
    await expect(rpmAction('depmod').run(root, context())).rejects.toThrow(
      new RegExp(`kernel ${kernel.release.replace(/\./g, '\\.')}: /usr/lib/modules/.* is not reachable as /lib/modules/.*needs the /lib -> usr/lib link`),
    );
    await rm(root, { recursive: true });
  });
});
