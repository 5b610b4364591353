// Before (and while) mksquashfs reads a rootfs tree from disk, the tree must be exactly what its
// manifest says: the same paths (nothing more: mksquashfs would pack anything it finds), the same
// types, file sizes, symlink targets and hardlink groups, and no special files (the pseudo file
// creates those). That is what the disk contributes to the image; modes, owners and times are
// recorded, not checked: the pseudo file corrects them.
//
// Two steps, so the second can run while mksquashfs works: statTree gives what the pseudo-file
// plan needs; checkNamesAndTargets only verifies. Synchronous on purpose: hundreds to thousands
// of lstat calls are cheaper without promises.
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import type { ManifestEntry, TreeManifest } from '../shared/manifest.js';
import { TreeMismatchError } from './errors.js';

/** What mksquashfs will read from one inode on disk. */
export interface DiskInode {
  /** Permission bits incl. setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time, whole seconds. */
  mtime: number;
  ino: number;
  dev: number;
}

export interface DiskFacts {
  root: DiskInode;
  /** Files, hardlinks, directories and symlinks by manifest path. */
  entries: Map<string, DiskInode>;
}

const SPECIAL_TYPES = new Set<ManifestEntry['type']>(['char', 'block', 'fifo']);
const NO_THROW = { throwIfNoEntry: false } as const;

type Fail = (path: string, problem: string) => never;

function failer(rootDir: string): Fail {
  return (path, problem) => {
    throw new TreeMismatchError(rootDir, path, problem);
  };
}

/** Both steps: the facts, after the whole comparison. Throws TreeMismatchError at the first difference. */
export function readDiskFacts(rootDir: string, manifest: TreeManifest): DiskFacts {
  const facts = statTree(rootDir, manifest);
  checkNamesAndTargets(rootDir, manifest);
  return facts;
}

/**
 * Every manifest path that lives on disk (not devices and fifos) exists with its type; files
 * have their size and hardlink group (one inode per group, one group per inode). Returns what
 * mksquashfs will read from each.
 */
export function statTree(rootDir: string, manifest: TreeManifest): DiskFacts {
  const fail = failer(rootDir);
  const rootStats = lstatSync(rootDir, NO_THROW);
  if (!rootStats?.isDirectory()) fail('', 'is not a directory');
  const byPath = new Map(manifest.entries.map((entry) => [entry.path, entry]));
  const entries = new Map<string, DiskInode>();
  // Hardlink groups (keyed by the manifest's file path): the inode and the first name met.
  const groupOfInode = new Map<number, string>();
  const inodeOfGroup = new Map<string, { ino: number; seenAs: string }>();

  for (const entry of manifest.entries) {
    if (SPECIAL_TYPES.has(entry.type)) continue; // must be absent: checkNamesAndTargets sees to that
    const st = lstatSync(`${rootDir}/${entry.path}`, NO_THROW);
    if (!st) fail(entry.path, `is in the manifest (${entry.type}) but not on disk`);
    const stats = st as Stats;
    if (entry.type === 'dir') {
      if (!stats.isDirectory()) fail(entry.path, `is a ${kindOf(stats)} on disk, the manifest says directory`);
    } else if (entry.type === 'symlink') {
      if (!stats.isSymbolicLink()) fail(entry.path, `is a ${kindOf(stats)} on disk, the manifest says symlink`);
    } else {
      if (!stats.isFile()) fail(entry.path, `is a ${kindOf(stats)} on disk, the manifest says regular file`);
      const group = entry.type === 'file' ? entry.path : entry.link!;
      const size = byPath.get(group)!.size!;
      if (stats.size !== size) fail(entry.path, `is ${stats.size} bytes on disk, the manifest says ${size}`);
      const known = inodeOfGroup.get(group);
      if (known === undefined) {
        const other = groupOfInode.get(stats.ino);
        if (other !== undefined) fail(entry.path, `is one inode on disk with ${inodeOfGroup.get(other)!.seenAs}, which the manifest keeps as a separate file`);
        inodeOfGroup.set(group, { ino: stats.ino, seenAs: entry.path });
        groupOfInode.set(stats.ino, group);
      } else if (known.ino !== stats.ino) {
        fail(entry.path, `is not the same inode on disk as ${known.seenAs}, though the manifest makes them hardlinks`);
      }
    }
    entries.set(entry.path, inodeOf(stats));
  }
  return { root: inodeOf(rootStats!), entries };
}

/**
 * Nothing on disk beyond the manifest (no extra names, no special files, only UTF-8 names) and
 * every symlink points where the manifest says. Expects statTree to have passed.
 */
export function checkNamesAndTargets(rootDir: string, manifest: TreeManifest): void {
  const fail = failer(rootDir);
  const byPath = new Map(manifest.entries.map((entry) => [entry.path, entry]));
  const check = (dir: string) => {
    for (const name of listNames(rootDir, dir, fail)) {
      const path = dir === '' ? name : `${dir}/${name}`;
      const entry = byPath.get(path);
      if (!entry) fail(path, 'is on disk but not in the manifest');
      if (SPECIAL_TYPES.has(entry!.type)) fail(path, `exists on disk, but the manifest makes it a ${entry!.type} (the pseudo file creates it)`);
    }
  };
  check('');
  for (const entry of manifest.entries) {
    if (entry.type === 'dir') check(entry.path);
    if (entry.type !== 'symlink') continue;
    const path = `${rootDir}/${entry.path}`;
    const target = readlinkSync(path);
    // U+FFFD: the target is not UTF-8 on disk (or says U+FFFD itself): compare the bytes.
    const same = target.includes('\uFFFD') ? readlinkSync(path, { encoding: 'buffer' }).equals(Buffer.from(entry.target!)) : target === entry.target;
    if (!same) fail(entry.path, `links to ${JSON.stringify(target)} on disk, the manifest says ${JSON.stringify(entry.target)}`);
  }
}

function listNames(rootDir: string, dir: string, fail: Fail): string[] {
  const path = dir === '' ? rootDir : `${rootDir}/${dir}`;
  const names = readdirSync(path);
  // A name that is not UTF-8 decodes with U+FFFD and could never match a manifest path honestly.
  if (names.some((name) => name.includes('\uFFFD'))) {
    for (const raw of readdirSync(path, { encoding: 'buffer' })) {
      if (!Buffer.from(raw.toString('utf8')).equals(raw)) fail(dir, `holds a name that is not UTF-8 (${JSON.stringify(raw.toString('latin1'))})`);
    }
  }
  return names;
}

function inodeOf(st: Stats): DiskInode {
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000), ino: st.ino, dev: st.dev };
}

function kindOf(st: Stats): string {
  if (st.isFile()) return 'regular file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}
