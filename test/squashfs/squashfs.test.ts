// The squashfs node's builder on a real rootfs (demo packages + a package with device nodes, a
// fifo, a setuid file, non-root owners and a hardlink): `unsquashfs -lln` must list exactly what
// the manifest says, and two builds must be byte-identical.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest, type ManifestEntry, type TreeManifest } from '../../stages/manifest.js';
import { hostRunner } from '../../stages/rootfs.js';
import { benchmarkSquashfs, buildSquashfs, SquashfsError, SQUASHFS_ZSTD_LEVEL } from '../../stages/squashfs.js';
import { fixturesDir } from '../fixtures/paths.js';
import { DEMO_EPOCH, DEMO_ORDER } from '../rootfs/packages.js';
import { buildImageTestRootfs } from './image-rootfs.js';

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

interface Listed {
  path: string;
  type: ManifestEntry['type'];
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  dev?: [number, number];
  target?: string;
}

const TYPE_CHARS: Record<string, ManifestEntry['type']> = { '-': 'file', d: 'dir', l: 'symlink', c: 'char', b: 'block', p: 'fifo' };

function permBits(perm: string): number {
  let mode = 0;
  const bit = (i: number, value: number) => (perm[i] !== '-' && perm[i] !== 'S' && perm[i] !== 'T' ? value : 0);
  mode |= bit(1, 0o400) | bit(2, 0o200) | bit(3, 0o100) | bit(4, 0o40) | bit(5, 0o20) | bit(6, 0o10) | bit(7, 0o4) | bit(8, 0o2) | bit(9, 0o1);
  if (perm[3] === 's' || perm[3] === 'S') mode |= 0o4000;
  if (perm[6] === 's' || perm[6] === 'S') mode |= 0o2000;
  if (perm[9] === 't' || perm[9] === 'T') mode |= 0o1000;
  return mode;
}

/** `unsquashfs -lln` (numeric owners) parsed. */
function listImage(image: string): Map<string, Listed> {
  const text = execFileSync('unsquashfs', ['-lln', image], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = new Map<string, Listed>();
  for (const line of text.split('\n')) {
    const m = /^(\S{10}) (\d+)\/(\d+)\s+(\d+|\d+,\s*\d+) \S+ \S+ squashfs-root(?:\/(.*))?$/.exec(line);
    if (!m) continue;
    const type = TYPE_CHARS[m[1][0]];
    let path = m[5] ?? '';
    let target: string | undefined;
    if (type === 'symlink') [path, target] = [path.slice(0, path.indexOf(' -> ')), path.slice(path.indexOf(' -> ') + 4)];
    const listed: Listed = { path, type, mode: permBits(m[1]), uid: Number(m[2]), gid: Number(m[3]), target };
    if (m[4].includes(',')) listed.dev = m[4].split(',').map((n) => Number(n.trim())) as [number, number];
    else listed.size = Number(m[4]);
    out.set(path, listed);
  }
  return out;
}

describe('squashfs from a rootfs manifest', () => {
  it('lists exactly the manifest: owners, modes, symlinks, devices, fifos, hardlinks', async () => {
    const image = join(work, 'a.squashfs');
    await buildSquashfs({ rootfsDir: rootfs, output: image, sourceDateEpoch: DEMO_EPOCH, runner });
    const listed = listImage(image);
    expect(listed.get('')).toMatchObject({ type: 'dir', mode: 0o755, uid: 0, gid: 0 });
    expect(listed.size).toBe(manifest.entries.length + 1);
    const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
    for (const entry of manifest.entries) {
      const got = listed.get(entry.path);
      expect(got, entry.path).toBeDefined();
      const file = entry.type === 'hardlink' ? byPath.get(entry.link!)! : entry;
      expect({ type: got!.type, uid: got!.uid, gid: got!.gid }, entry.path).toEqual({
        type: entry.type === 'hardlink' ? 'file' : entry.type,
        uid: file.uid,
        gid: file.gid,
      });
      if (entry.type !== 'symlink') expect(got!.mode.toString(8), entry.path).toBe(file.mode.toString(8));
      if (entry.type === 'file' || entry.type === 'hardlink') expect(got!.size, entry.path).toBe(file.size);
      if (entry.type === 'symlink') expect(got!.target, entry.path).toBe(entry.target);
      if (entry.type === 'char' || entry.type === 'block') expect(got!.dev, entry.path).toEqual([entry.devmajor, entry.devminor]);
    }
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

  it('a tree that disagrees with its manifest fails and leaves no image', async () => {
    const broken = join(work, 'broken');
    await cp(rootfs, broken, { recursive: true, verbatimSymlinks: true });
    appendFileSync(join(broken, 'root/etc/motd'), 'grown after the manifest was written\n');
    const image = join(work, 'broken.squashfs');
    await expect(buildSquashfs({ rootfsDir: broken, output: image, sourceDateEpoch: DEMO_EPOCH, runner })).rejects.toBeInstanceOf(SquashfsError);
    await expect(buildSquashfs({ rootfsDir: broken, output: image, sourceDateEpoch: DEMO_EPOCH, runner })).rejects.toThrow(/etc\/motd/);
    expect(existsSync(image)).toBe(false);
  });

  it('benchmark: the node against the same mksquashfs run by hand on the tree', async () => {
    const result = await benchmarkSquashfs({ rootfsDir: rootfs, workDir: join(work, 'bench'), sourceDateEpoch: DEMO_EPOCH, runner, runs: 3 });
    console.log(
      `squashfs benchmark (demo rootfs, zstd ${SQUASHFS_ZSTD_LEVEL}): node ${result.nodeSeconds.toFixed(3)} s, by hand ${result.handSeconds.toFixed(3)} s, ` +
        `ratio ${result.ratio.toFixed(2)}; ${result.nodeBytes} vs ${result.handBytes} bytes`,
    );
    expect(result.level).toBe(SQUASHFS_ZSTD_LEVEL);
    // Same data, same compression: sizes within 1 % (the images differ only in owners and special files).
    expect(Math.abs(result.nodeBytes - result.handBytes) / result.handBytes).toBeLessThan(0.01);
  });
});
