// The pseudo route (mksquashfs reads root/ itself, a pseudo file and an action file correct it) on
// a tree of edge cases: it must list exactly the manifest and write the very bytes the tar route
// writes; where it cannot be exact it hands over to the tar route; a tree that disagrees with its
// manifest fails before anything is packed.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, lchownSync, linkSync, lutimesSync, readdirSync, rmdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostRunner } from '../../stages/shared/host-runner.js';
import { readManifest, writeManifest, type TreeManifest } from '../../stages/shared/manifest.js';
import {
  buildSquashfs,
  escapePseudoPath,
  inSquashfsOrder,
  planPseudoRoute,
  readDiskFacts,
  SquashfsError,
  TreeMismatchError,
  type BuildSquashfsOptions,
} from '../../stages/squashfs.js';
import { fixturesDir } from '../../fixtures/paths.js';
import { EDGE_EPOCH, edgeTreeSpecs, writeEdgeTree } from './edge-tree.js';
import { expectListingMatchesManifest, listImage } from './listing.js';

const runner = hostRunner();
let work: string;
let edge: string;
let manifest: TreeManifest;

beforeAll(async () => {
  await mkdir(fixturesDir(), { recursive: true });
  work = await mkdtemp(join(fixturesDir(), '.squashfs-pseudo-'));
  edge = join(work, 'edge');
  manifest = await writeEdgeTree(edge);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const build = (rootfsDir: string, name: string, extra: Partial<BuildSquashfsOptions> = {}) =>
  buildSquashfs({ rootfsDir, output: join(work, name), sourceDateEpoch: EDGE_EPOCH, runner, ...extra });

/** A copy that keeps hardlinks, modes and times (fs.cp keeps none of the first). */
function copyTree(name: string): string {
  const dest = join(work, name);
  execFileSync('cp', ['-a', edge, dest]);
  return dest;
}

describe('squashfs pseudo route', () => {
  it('lists exactly the manifest and writes the same bytes as the tar route', async () => {
    const pseudo = await build(edge, 'edge-pseudo.squashfs');
    expect(pseudo.route).toBe('pseudo');
    const listed = listImage(join(work, 'edge-pseudo.squashfs'));
    expectListingMatchesManifest(listed, manifest);
    expect([...listed.values()].filter((e) => e.time !== '2026-01-01 00:00')).toEqual([]);
    // The owner is the manifest's number, not the build host's idea of the name `daemon`.
    expect(listed.get('a/b0')).toMatchObject({ uid: 2, gid: 2, mode: 0o600 });
    expect(listed.get('a/b')).toMatchObject({ mode: 0o750, uid: 42, gid: 42 });
    expect(listed.get('a/b/console')).toMatchObject({ type: 'char', gid: 5, dev: [5, 1] });
    expect(listed.get('dev/nvme0n1p1')).toMatchObject({ type: 'block', gid: 6, dev: [259, 1] });
    expect(listed.get('a/b.d')).toMatchObject({ mode: 0o1777 });
    expect(listed.get('a/b.d/z')).toMatchObject({ mode: 0o444 });
    expect(listed.get('e')).toMatchObject({ mode: 0, size: 0 });
    expect(listed.get('empty')).toMatchObject({ mode: 0o500 });
    expect(listed.get('odd names')).toMatchObject({ mode: 0o700, uid: 1000, gid: 1000 });
    expect(listed.get('odd names/quo"te')).toMatchObject({ mode: 0o4711 });
    expect(listed.get('odd names/tab\tx')).toMatchObject({ uid: 3 });
    expect(listed.get('odd names/star*q?[b]')).toMatchObject({ type: 'dir', mode: 0o555 });
    expect(listed.get('odd names/back\\slash')).toMatchObject({ type: 'fifo', mode: 0o620 });
    expect(listed.get("odd names/apo'st")).toMatchObject({ type: 'symlink', uid: 1000, target: '../a' });
    const stat = execFileSync('unsquashfs', ['-stat', join(work, 'edge-pseudo.squashfs')], { encoding: 'utf8' });
    expect(Number(/Number of inodes (\d+)/.exec(stat)![1])).toBe(manifest.entries.length); // + root, - one hardlink

    const tar = await build(edge, 'edge-tar.squashfs', { route: 'tar' });
    expect(tar.route).toBe('tar');
    expect((await readFile(join(work, 'edge-pseudo.squashfs'))).equals(await readFile(join(work, 'edge-tar.squashfs')))).toBe(true);
  });

  it('corrects only what the disk gets wrong', () => {
    const plan = planPseudoRoute(manifest, readDiskFacts(join(edge, 'root'), manifest), EDGE_EPOCH);
    if (plan.route !== 'pseudo') throw new Error(plan.reason);
    const lines = plan.pseudoFile.trimEnd().split('\n');
    expect(lines).toContain(`a/b0 M ${EDGE_EPOCH} 0600 2 2`);
    expect(lines).toContain(`odd\\ names/quo\\"te M ${EDGE_EPOCH} 4711 0 0`);
    expect(lines).toContain(`dev/sda B ${EDGE_EPOCH} 0660 0 6 8 0`);
    expect(lines).toContain(`odd\\ names/back\\\\slash I ${EDGE_EPOCH} 0620 0 0 f`);
    // Both names of the hardlinked inode: 0644 root-owned on disk and in the manifest, so neither.
    expect(lines.filter((l) => l.startsWith('a/b/plain ') || l.startsWith('a/b.d/link '))).toEqual([]);
    expect(lines.some((l) => l.startsWith('zz '))).toBe(false);
    const ino = (path: string) => readDiskFacts(join(edge, 'root'), manifest).entries.get(path)!.ino;
    expect(plan.actionFile).toContain(`chmod(1777)@type(d) && inode(${ino('a/b.d')})`);
    expect(plan.actionFile).toContain(`guid(42,42)@type(d) && inode(${ino('a/b')})`);
    expect(plan.actionFile).not.toContain(`inode(${ino('a')})`);
  });

  it('escapes pseudo-file names with backslashes, and cannot write a newline', () => {
    expect(escapePseudoPath('usr/bin/busybox')).toBe('usr/bin/busybox');
    expect(escapePseudoPath('odd names/#x "y"\\z*')).toBe('odd\\ names/\\#x\\ \\"y\\"\\\\z\\*');
    expect(escapePseudoPath('lib/libc.musl-x86_64.so.1')).toBe('lib/libc.musl-x86_64.so.1');
    expect(escapePseudoPath('\u00fcn\u00ef/\u{1f600}')).toBe('\u00fcn\u00ef/\u{1f600}');
    expect(escapePseudoPath('new\nline')).toBeUndefined();
  });

  it('orders entries the way mksquashfs walks directories', () => {
    const paths = ['a', 'a-b', 'a.c', 'a/z', 'a/b', 'a0', 'a/b/c'];
    const ordered = inSquashfsOrder(paths.map((path) => ({ ...manifest.entries[0], path })));
    expect(ordered.map((e) => e.path)).toEqual(['a', 'a/b', 'a/b/c', 'a/z', 'a-b', 'a.c', 'a0']);
  });

  it('a tree written by a builder that is not root: one owner action for most directories', async () => {
    const tree = copyTree('not-root');
    const root = join(tree, 'root');
    // As root, give every path the uid/gid an unprivileged builder would have left.
    const chownAll = (dir: string) => {
      for (const name of readdirSync(dir, { withFileTypes: true })) {
        lchownSync(join(dir, name.name), 1000, 1000);
        if (name.isDirectory()) chownAll(join(dir, name.name));
      }
    };
    if (process.getuid!() === 0) chownAll(root);
    const plan = planPseudoRoute(manifest, readDiskFacts(root, manifest), EDGE_EPOCH);
    if (plan.route !== 'pseudo') throw new Error(plan.reason);
    expect(plan.actionFile.split('\n')).toContain('guid(0,0)@type(d)');
    await build(tree, 'not-root.squashfs');
    expectListingMatchesManifest(listImage(join(work, 'not-root.squashfs')), manifest);
    await build(edge, 'not-root-tar.squashfs', { route: 'tar' });
    expect((await readFile(join(work, 'not-root.squashfs'))).equals(await readFile(join(work, 'not-root-tar.squashfs')))).toBe(true);
  });
});

describe('squashfs: where the pseudo route cannot be exact, the tar route builds', () => {
  async function treeWith(name: string, extra: ReturnType<typeof edgeTreeSpecs>): Promise<{ dir: string; manifest: TreeManifest }> {
    const dir = join(work, name);
    return { dir, manifest: await writeEdgeTree(dir, [...edgeTreeSpecs(), ...extra]) };
  }

  it('a newline in a name that needs a definition', async () => {
    const { dir, manifest: m } = await treeWith('newline', [{ path: 'odd names/new\nline', type: 'file', mode: 0o644, uid: 9, gid: 9, content: Buffer.from('x\n') }]);
    const result = await build(dir, 'newline.squashfs');
    expect(result).toMatchObject({ route: 'tar', reason: expect.stringMatching(/newline/) });
    const listed = listImage(join(work, 'newline.squashfs'));
    expectListingMatchesManifest(listed, m);
    expect(listed.get('odd names/new\nline')).toMatchObject({ uid: 9, size: 2 });
    await expect(build(dir, 'newline-forced.squashfs', { route: 'pseudo' })).rejects.toThrow(/cannot build this tree exactly.*newline/);
    expect(existsSync(join(work, 'newline-forced.squashfs'))).toBe(false);
  });

  it('a newline in a name that needs no definition stays on the pseudo route', async () => {
    const { dir, manifest: m } = await treeWith('newline-plain', [{ path: 'new\nline', type: 'file', mode: 0o644, uid: 0, gid: 0, content: Buffer.from('x\n') }]);
    expect((await build(dir, 'newline-plain.squashfs')).route).toBe('pseudo');
    expectListingMatchesManifest(listImage(join(work, 'newline-plain.squashfs')), m);
  });

  it('a directory older than SOURCE_DATE_EPOCH on disk', async () => {
    const tree = copyTree('old-dir');
    lutimesSync(join(tree, 'root/a'), EDGE_EPOCH - 3600, EDGE_EPOCH - 3600);
    const result = await build(tree, 'old-dir.squashfs');
    expect(result).toMatchObject({ route: 'tar', reason: expect.stringMatching(/directory a is older/) });
    // The tar route never reads times from the disk: the image is the pristine tree's.
    await build(edge, 'old-dir-reference.squashfs');
    expect((await readFile(join(work, 'old-dir.squashfs'))).equals(await readFile(join(work, 'old-dir-reference.squashfs')))).toBe(true);
    await expect(build(tree, 'old-dir-forced.squashfs', { route: 'pseudo' })).rejects.toBeInstanceOf(SquashfsError);
  });

  it('extended attributes (4.5.1 pseudo files cannot set them)', async () => {
    const tree = copyTree('xattrs');
    const m = await readManifest(join(tree, 'manifest.json'));
    m.entries.find((e) => e.path === 'a/b/su')!.xattrs = { 'security.capability': Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).toString('base64') };
    await writeManifest(join(tree, 'manifest.json'), m);
    const result = await build(tree, 'xattrs.squashfs');
    expect(result).toMatchObject({ route: 'tar', reason: expect.stringMatching(/a\/b\/su has extended attributes/) });
    const stat = execFileSync('unsquashfs', ['-stat', join(work, 'xattrs.squashfs')], { encoding: 'utf8' });
    expect(stat).toMatch(/Number of xattr ids 1/);
  });
});

describe('squashfs: a tree that disagrees with its manifest fails before packing', () => {
  const cases: Array<[string, (root: string) => void, RegExp]> = [
    ['a file the manifest does not list', (root) => writeFileSync(join(root, 'a/stray'), 'x'), /a\/stray: is on disk but not in the manifest/],
    ['a missing file', (root) => unlinkSync(join(root, 'a/b-c')), /a\/b-c: is in the manifest \(file\) but not on disk/],
    ['a symlink with another target', (root) => (unlinkSync(join(root, 'zz')), symlinkSync('/elsewhere', join(root, 'zz'))), /zz: links to "\/elsewhere" on disk/],
    ['a hardlink broken into a copy', (root) => (unlinkSync(join(root, 'a/b.d/link')), copyFileSync(join(root, 'a/b/plain'), join(root, 'a/b.d/link'))), /a\/b\/plain: is not the same inode on disk as a\/b.d\/link, though the manifest makes them hardlinks/],
    ['two files joined into one inode', (root) => (unlinkSync(join(root, 'odd names/-dash')), linkSync(join(root, 'odd names/#hash'), join(root, 'odd names/-dash'))), /one inode on disk with odd names\/#hash/],
    ['a special file on disk', (root) => execFileSync('mkfifo', [join(root, 'run/initctl')]), /run\/initctl: exists on disk, but the manifest makes it a fifo/],
    ['a name that is not UTF-8', (root) => writeFileSync(Buffer.from(`${root}/a/\xff`, 'latin1'), 'x'), /a: holds a name that is not UTF-8/],
    ['a directory that is a file', (root) => (rmdirSync(join(root, 'empty')), writeFileSync(join(root, 'empty'), '')), /empty: is a regular file on disk, the manifest says directory/],
  ];
  for (const [what, breakIt, message] of cases) {
    it(what, async () => {
      const tree = copyTree(`broken-${what.replace(/\W+/g, '-')}`);
      breakIt(join(tree, 'root'));
      const output = `broken-${what.replace(/\W+/g, '-')}.squashfs`;
      const failure = build(tree, output);
      await expect(failure).rejects.toBeInstanceOf(TreeMismatchError);
      await expect(build(tree, output)).rejects.toThrow(message);
      expect(existsSync(join(work, output))).toBe(false);
      rmSync(tree, { recursive: true, force: true });
    });
  }
});
