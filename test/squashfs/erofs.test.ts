// The erofs root image (erofs-utils 1.5): built from the staged tree, checked by fsck.erofs,
// read back with dump.erofs; owners flattened (documented) or exact (root only); what it cannot
// carry is an error.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildErofs, erofsLimits, ErofsError, uuidFromContent } from '../../stages/erofs.js';
import { readManifest, type TreeManifest } from '../../stages/shared/manifest.js';
import { hostRunner } from '../../stages/rootfs.js';
import { fixturesDir } from '../../fixtures/paths.js';
import { DEMO_EPOCH } from '../rootfs/packages.js';
import { buildImageTestRootfs } from './image-rootfs.js';

const runner = hostRunner();
const isRoot = process.getuid!() === 0;
let work: string;
let rootfs: string;
let manifest: TreeManifest;

beforeAll(async () => {
  await mkdir(fixturesDir(), { recursive: true });
  work = await mkdtemp(join(fixturesDir(), '.erofs-test-'));
  rootfs = await buildImageTestRootfs(work, ['alpine-baselayout', 'busybox', 'alpine-base']);
  manifest = await readManifest(join(rootfs, 'manifest.json'));
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * Owner, type and size from `dump.erofs --path`; the mode from the inode itself (dump.erofs 1.5
 * prints only the 0777 bits): i_mode is the u16 at byte 4 of the inode, which sits at
 * metadata-start-block * 4096 + NID * 32.
 */
function inode(image: string, path: string): { uid: number; gid: number; mode: number; kind: string; size: number } {
  const text = execFileSync('dump.erofs', [`--path=/${path}`, image], { encoding: 'utf8' });
  const owner = /Uid: (\d+)\s+Gid: (\d+)/.exec(text);
  const kind = /Size: (\d+)\s+On-disk size: \d+\s+(.+)$/m.exec(text);
  const nid = /NID: (\d+)/.exec(text);
  if (!owner || !kind || !nid) throw new Error(`dump.erofs --path=/${path}: unexpected output\n${text}`);
  const superblock = execFileSync('dump.erofs', ['-s', image], { encoding: 'utf8' });
  const metaBlock = Number(/inode metadata start block:\s+(\d+)/.exec(superblock)![1]);
  const raw = readFileSync(image);
  const mode = raw.readUInt16LE(metaBlock * 4096 + Number(nid[1]) * 32 + 4) & 0o7777;
  return { uid: Number(owner[1]), gid: Number(owner[2]), mode, kind: kind[2].trim(), size: Number(kind[1]) };
}

describe('erofs root image', () => {
  it('builds with owners flattened to root; fsck.erofs and dump.erofs read it; two builds are identical', async () => {
    const a = join(work, 'a.erofs');
    const b = join(work, 'b.erofs');
    if (!isRoot) {
      // The tree has device nodes: without root the node refuses instead of dropping them.
      await expect(buildErofs({ rootfsDir: rootfs, output: a, workDir: join(work, 'wa'), sourceDateEpoch: DEMO_EPOCH, runner })).rejects.toThrow(/device node/);
      return;
    }
    const result = await buildErofs({ rootfsDir: rootfs, output: a, workDir: join(work, 'wa'), sourceDateEpoch: DEMO_EPOCH, runner });
    await buildErofs({ rootfsDir: rootfs, output: b, workDir: join(work, 'wb'), sourceDateEpoch: DEMO_EPOCH, runner });
    expect((await readFile(a)).equals(await readFile(b))).toBe(true);
    expect(result.flattened.sort()).toEqual(['etc/shadow', 'var/spool/cron', 'dev/loop0'].sort());
    execFileSync('fsck.erofs', [a]);
    const superblock = execFileSync('dump.erofs', ['-s', a], { encoding: 'utf8' });
    expect(superblock).toMatch(/Filesystem created:\s+Thu Jan  1 00:00:00 2026/);
    expect(superblock).toContain(uuidFromContent(Buffer.concat([await readFile(join(rootfs, 'manifest.json')), Buffer.from(JSON.stringify({ compression: 'lz4hc', level: 9 }))])));
    expect(inode(a, 'etc/shadow')).toMatchObject({ uid: 0, gid: 0, mode: 0o640, kind: 'regular file' });
    expect(inode(a, 'usr/bin/su-test')).toMatchObject({ uid: 0, mode: 0o4755 });
    expect(inode(a, 'var/spool/cron')).toMatchObject({ uid: 0, gid: 0, mode: 0o1730 });
    expect(inode(a, 'tmp')).toMatchObject({ mode: 0o1777 });
    expect(inode(a, 'bin/ls')).toMatchObject({ kind: 'symlink file', size: '/bin/busybox'.length });
    expect(inode(a, 'dev/console')).toMatchObject({ kind: 'char dev', mode: 0o600 });
    expect(inode(a, 'run/initctl').kind).toMatch(/fifo/i);
    const busybox = manifest.entries.find((e) => e.path === 'bin/busybox')!;
    expect(inode(a, 'bin/busybox')).toMatchObject({ size: busybox.size, mode: 0o755 });
    // The extracted tree has the tree's content.
    const extracted = join(work, 'extracted');
    execFileSync('fsck.erofs', [`--extract=${extracted}`, a]);
    expect(await readFile(join(extracted, 'etc/hostname'), 'utf8')).toBe('demo\n');
    expect(await readFile(join(extracted, 'usr/bin/aa-link'), 'utf8')).toBe('shared inode\n');
  });

  it('exact ownership keeps non-root owners (as root; refused otherwise)', async () => {
    const image = join(work, 'exact.erofs');
    if (!isRoot) {
      await expect(buildErofs({ rootfsDir: rootfs, output: image, workDir: join(work, 'we'), sourceDateEpoch: DEMO_EPOCH, runner, ownership: 'exact' })).rejects.toThrow(/needs a build running as root/);
      return;
    }
    const result = await buildErofs({ rootfsDir: rootfs, output: image, workDir: join(work, 'we'), sourceDateEpoch: DEMO_EPOCH, runner, ownership: 'exact' });
    expect(result.flattened).toEqual([]);
    execFileSync('fsck.erofs', [image]);
    expect(inode(image, 'etc/shadow')).toMatchObject({ uid: 0, gid: 42, mode: 0o640 });
    expect(inode(image, 'var/spool/cron')).toMatchObject({ uid: 42, gid: 42, mode: 0o1730 });
    expect(inode(image, 'dev/loop0')).toMatchObject({ gid: 6, mode: 0o660 });
    expect(inode(image, 'usr/bin/su-test')).toMatchObject({ uid: 0, mode: 0o4755 });
  });

  it('names what it cannot carry: xattrs always; devices and exact owners without root', () => {
    const withXattr: TreeManifest = {
      ...manifest,
      entries: manifest.entries.map((e) => (e.path === 'bin/busybox' ? { ...e, xattrs: { 'security.capability': 'AQAAAgAgAAAAAAAAAAAAAAAAAAA=' } } : e)),
    };
    expect(erofsLimits(withXattr, 'flatten-to-root', true).errors).toEqual([
      '/bin/busybox has extended attributes (security.capability), which the erofs image cannot carry',
    ]);
    const rootless = erofsLimits(manifest, 'exact', false).errors;
    expect(rootless).toContain('/dev/console is a device node (5,1): only a build running as root can make it for mkfs.erofs');
    expect(rootless).toContain('/etc/shadow is owned by 0:42: exact ownership needs a build running as root');
    expect(erofsLimits(manifest, 'flatten-to-root', false).flattened).toContain('etc/shadow');
  });

  it('refuses a manifest it cannot carry and leaves no image', async () => {
    const bad = join(work, 'bad-rootfs');
    await mkdir(bad);
    execFileSync('cp', ['-a', join(rootfs, 'root'), join(bad, 'root')]);
    const text = (await readFile(join(rootfs, 'manifest.json'), 'utf8')).replace(
      '"path":"bin/busybox","type":"file"',
      '"path":"bin/busybox","type":"file","xattrs":{"security.capability":"AQAAAg=="}',
    );
    await writeFile(join(bad, 'manifest.json'), text);
    const image = join(work, 'bad.erofs');
    await expect(buildErofs({ rootfsDir: bad, output: image, workDir: join(work, 'wbad'), sourceDateEpoch: DEMO_EPOCH, runner })).rejects.toBeInstanceOf(ErofsError);
    expect(existsSync(image)).toBe(false);
  });
});
