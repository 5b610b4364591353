// The squashfs node's builder on a real rootfs (demo packages + a package with device nodes, a
// fifo, a setuid file, non-root owners and a hardlink): `unsquashfs -lln` must list exactly what
// the manifest says, and two builds must be byte-identical.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest, type TreeManifest } from '../../stages/shared/manifest.js';
import { hostRunner } from '../../stages/rootfs.js';
import { buildSquashfs, SquashfsError, SQUASHFS_ZSTD_LEVEL } from '../../stages/squashfs.js';
import { benchmarkSquashfs } from '../../bench/squashfs-vs-hand.js';
import { fixturesDir } from '../../fixtures/paths.js';
import { DEMO_EPOCH, DEMO_ORDER } from '../rootfs/packages.js';
import { buildImageTestRootfs } from './image-rootfs.js';
import { expectListingMatchesManifest, listImage } from './listing.js';

const runner = hostRunner();
let work: string;
let rootfs: string;
let manifest: TreeManifest;

beforeAll(async () => {
  await mkdir(fixturesDir(), { recursive: true });
  work = await mkdtemp(join(fixturesDir(), '.squashfs-test-'));
  rootfs = await buildImageTestRootfs(work, DEMO_ORDER);
  manifest = await readManifest(join(rootfs, 'manifest.json'));
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('squashfs from a rootfs manifest', () => {
  it('lists exactly the manifest: owners, modes, symlinks, devices, fifos, hardlinks', async () => {
    const image = join(work, 'a.squashfs');
    const built = await buildSquashfs({ rootfsDir: rootfs, output: image, sourceDateEpoch: DEMO_EPOCH, runner });
    expect(built.route).toBe('pseudo');
    const listed = listImage(image);
    expectListingMatchesManifest(listed, manifest);
    // Every time is the epoch (2026-01-01), whether the disk or a pseudo definition gave it.
    expect([...listed.values()].filter((e) => e.time !== '2026-01-01 00:00')).toEqual([]);
    expect(listed.get('dev/console')).toMatchObject({ type: 'char', mode: 0o600, dev: [5, 1] });
    expect(listed.get('dev/loop0')).toMatchObject({ type: 'block', gid: 6, dev: [7, 0] });
    expect(listed.get('run/initctl')).toMatchObject({ type: 'fifo', mode: 0o600 });
    expect(listed.get('usr/bin/su-test')).toMatchObject({ mode: 0o4755, uid: 0 });
    expect(listed.get('var/spool/cron')).toMatchObject({ mode: 0o1730, uid: 42, gid: 42 });
    expect(listed.get('etc/shadow')).toMatchObject({ mode: 0o640, gid: 42 });
    expect(listed.get('bin/ls')).toMatchObject({ type: 'symlink', target: '/bin/busybox' });

    // One inode per entry, except that the two hardlinked names share one (+1 for the root).
    const stat = execFileSync('unsquashfs', ['-stat', image], { encoding: 'utf8' });
    const hardlinks = manifest.entries.filter((e) => e.type === 'hardlink').length;
    expect(hardlinks).toBe(1);
    expect(Number(/Number of inodes (\d+)/.exec(stat)![1])).toBe(manifest.entries.length + 1 - hardlinks);
    expect(stat).toMatch(/Compression zstd/);
    expect(stat).toMatch(/Block size 1048576/);
    expect(stat).toMatch(/Creation or last append time Thu Jan  1 00:00:00 2026/);

    // Contents: the extracted hardlink pair shares content with the tree.
    const extracted = join(work, 'extracted');
    execFileSync('unsquashfs', ['-d', extracted, '-no-progress', image, '/usr/bin/aa-link', '/etc/hostname']);
    expect(readFileSync(join(extracted, 'usr/bin/aa-link'), 'utf8')).toBe('shared inode\n');
    expect(readFileSync(join(extracted, 'etc/hostname'), 'utf8')).toBe('demo\n');
  });

  it('two builds are byte-identical', async () => {
    const a = join(work, 'r1.squashfs');
    const b = join(work, 'r2.squashfs');
    await buildSquashfs({ rootfsDir: rootfs, output: a, sourceDateEpoch: DEMO_EPOCH, runner });
    await buildSquashfs({ rootfsDir: rootfs, output: b, sourceDateEpoch: DEMO_EPOCH, runner });
    expect((await readFile(a)).equals(await readFile(b))).toBe(true);
  });

  it('the pseudo route and the tar route write the same bytes', async () => {
    const pseudo = join(work, 'pseudo.squashfs');
    const tar = join(work, 'tar.squashfs');
    expect((await buildSquashfs({ rootfsDir: rootfs, output: pseudo, sourceDateEpoch: DEMO_EPOCH, runner, route: 'pseudo' })).route).toBe('pseudo');
    expect((await buildSquashfs({ rootfsDir: rootfs, output: tar, sourceDateEpoch: DEMO_EPOCH, runner, route: 'tar' })).route).toBe('tar');
    expect((await readFile(pseudo)).equals(await readFile(tar))).toBe(true);
  });

  it('a tree that disagrees with its manifest fails and leaves no image', async () => {
    const broken = join(work, 'broken');
    await cp(rootfs, broken, { recursive: true, verbatimSymlinks: true });
    appendFileSync(join(broken, 'root/etc/motd'), 'grown after the manifest was written\n');
    const image = join(work, 'broken.squashfs');
    await expect(buildSquashfs({ rootfsDir: broken, output: image, sourceDateEpoch: DEMO_EPOCH, runner })).rejects.toBeInstanceOf(SquashfsError);
    await expect(buildSquashfs({ rootfsDir: broken, output: image, sourceDateEpoch: DEMO_EPOCH, runner })).rejects.toThrow(/etc\/motd/);
    expect(existsSync(image)).toBe(false);
    // The tar route finds it too, while streaming.
    await expect(buildSquashfs({ rootfsDir: broken, output: image, sourceDateEpoch: DEMO_EPOCH, runner, route: 'tar' })).rejects.toThrow(/etc\/motd/);
    expect(existsSync(image)).toBe(false);
  });

  it('benchmark: the node against the same mksquashfs run by hand on the tree', async () => {
    const result = await benchmarkSquashfs({ rootfsDir: rootfs, workDir: join(work, 'bench'), sourceDateEpoch: DEMO_EPOCH, runner, runs: 5 });
    console.log(
      `squashfs benchmark (demo rootfs, zstd ${SQUASHFS_ZSTD_LEVEL}, ${result.route} route, medians of ${result.runs}): node ${result.nodeSeconds.toFixed(3)} s, by hand ${result.handSeconds.toFixed(3)} s, ` +
        `ratio ${result.ratio.toFixed(2)}; ${result.nodeBytes} vs ${result.handBytes} bytes`,
    );
    expect(result.level).toBe(SQUASHFS_ZSTD_LEVEL);
    expect(result.route).toBe('pseudo');
    // Same data, same compression: sizes within 1 % (the images differ only in owners and special files).
    expect(Math.abs(result.nodeBytes - result.handBytes) / result.handBytes).toBeLessThan(0.01);
  });
});
