// Picking up what an install script did to the tree. A snapshot (lstat of every path) is taken
// before the script and compared after it: ctime moves on every write, chmod, chown and link
// count change, so an unchanged stat means an untouched path, and the manifest entry stays as the
// package gave it. New paths enter the manifest with the disk's mode and owner (the builder's uid,
// which is root inside the chroot's user namespace, counts as root); changed paths keep the
// package's owner and mode unless the script changed exactly those.
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestEntryType } from '../shared/manifest.js';
import { sha256File } from '../../graph/hash.js';
import type { RootTree, TreeNode } from './tree.js';

export interface DiskState {
  type: ManifestEntryType | 'socket';
  ino: bigint;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  rdev: number;
}

export type TreeSnapshot = Map<string, DiskState>;

export async function snapshotTree(rootDir: string): Promise<TreeSnapshot> {
  const out: TreeSnapshot = new Map();
  const walk = async (relative: string): Promise<void> => {
    const names = await readdir(relative ? join(rootDir, relative) : rootDir);
    for (const name of names) {
      const path = relative ? `${relative}/${name}` : name;
      const st = await lstat(join(rootDir, path), { bigint: true });
      const type: DiskState['type'] = st.isDirectory()
        ? 'dir'
        : st.isSymbolicLink()
          ? 'symlink'
          : st.isFile()
            ? 'file'
            : st.isCharacterDevice()
              ? 'char'
              : st.isBlockDevice()
                ? 'block'
                : st.isFIFO()
                  ? 'fifo'
                  : 'socket';
      out.set(path, {
        type,
        ino: st.ino,
        size: Number(st.size),
        mtimeNs: st.mtimeNs,
        ctimeNs: st.ctimeNs,
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        nlink: Number(st.nlink),
        rdev: Number(st.rdev),
      });
      if (type === 'dir') await walk(path);
    }
  };
  await walk('');
  return out;
}

function same(a: DiskState, b: DiskState): boolean {
  return (
    a.type === b.type &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs &&
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.nlink === b.nlink
  );
}

export interface ScriptChanges {
  added: string[];
  changed: string[];
  removed: string[];
  /** Paths whose owner now comes from the disk: their names are looked up in the final /etc/passwd. */
  ownedFromDisk: string[];
  /** Sockets a script left behind: not part of an image, not recorded. */
  ignored: string[];
}

export interface ApplyChangesOptions {
  /** Who the new paths belong to in the manifest (the package whose script ran). */
  owner: string;
  /** The host uid/gid that is root inside the chroot (the builder's own ids when rootless, else 0). */
  rootUid: number;
  rootGid: number;
}

/** Updates the tree from what changed on disk between two snapshots. */
export async function applyDiskChanges(
  tree: RootTree,
  rootDir: string,
  before: TreeSnapshot,
  after: TreeSnapshot,
  options: ApplyChangesOptions,
): Promise<ScriptChanges> {
  const mapUid = (uid: number) => (uid === options.rootUid ? 0 : uid);
  const mapGid = (gid: number) => (gid === options.rootGid ? 0 : gid);
  const changes: ScriptChanges = { added: [], changed: [], removed: [], ownedFromDisk: [], ignored: [] };
  for (const path of before.keys()) {
    if (!after.has(path) && tree.has(path)) {
      tree.delete(path);
      changes.removed.push(path);
    }
  }
  const touched = new Set<string>();
  for (const [path, st] of [...after.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const prev = before.get(path);
    if (prev && same(prev, st)) continue;
    if (st.type === 'socket') {
      changes.ignored.push(path);
      continue;
    }
    touched.add(path);
    const existing = tree.get(path);
    const sameKind = existing && prev && prev.type === st.type && (existing.type === st.type || (existing.type === 'hardlink' && st.type === 'file'));
    if (!sameKind) {
      const node: TreeNode = {
        path,
        type: st.type,
        mode: st.mode,
        uid: mapUid(st.uid),
        gid: mapGid(st.gid),
        uname: '',
        gname: '',
        package: options.owner,
      };
      await describeContent(node, st, rootDir);
      tree.set(node);
      changes.added.push(path);
      changes.ownedFromDisk.push(path);
      continue;
    }
    const node = existing!;
    if (st.mode !== prev!.mode) node.mode = st.mode;
    if (st.uid !== prev!.uid || st.gid !== prev!.gid) {
      node.uid = mapUid(st.uid);
      node.gid = mapGid(st.gid);
      node.uname = '';
      node.gname = '';
      changes.ownedFromDisk.push(path);
    }
    if (st.type === 'file') {
      const contentMoved = st.ino !== prev!.ino || st.size !== prev!.size || st.mtimeNs !== prev!.mtimeNs || node.type === 'hardlink';
      if (contentMoved) {
        const previous = node.sha256;
        node.type = 'file';
        delete node.link;
        await describeContent(node, st, rootDir);
        if (node.sha256 !== previous) delete node.packageDigest;
      }
    } else if (st.type === 'symlink') {
      node.target = await readlink(join(rootDir, path));
    }
    changes.changed.push(path);
  }
  await regroupHardlinks(tree, rootDir, after, touched);
  return changes;
}

async function describeContent(node: TreeNode, st: DiskState, rootDir: string): Promise<void> {
  const full = join(rootDir, node.path);
  if (st.type === 'file') {
    node.size = st.size;
    node.sha256 = await sha256File(full);
  } else if (st.type === 'symlink') {
    node.target = await readlink(full);
  } else if (st.type === 'char' || st.type === 'block') {
    // Linux dev_t: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31.
    node.devmajor = ((st.rdev >>> 8) & 0xfff) | (Math.floor(st.rdev / 2 ** 32) & ~0xfff);
    node.devminor = (st.rdev & 0xff) | ((st.rdev >>> 12) & ~0xff);
  }
}

/** Files sharing an inode become one file (the first path) and hardlinks to it, where a script touched the group. */
async function regroupHardlinks(tree: RootTree, rootDir: string, after: TreeSnapshot, touched: Set<string>): Promise<void> {
  const groups = new Map<bigint, string[]>();
  for (const [path, st] of after) {
    if (st.type === 'file' && st.nlink > 1) {
      const members = groups.get(st.ino) ?? [];
      members.push(path);
      groups.set(st.ino, members);
    }
  }
  for (const members of groups.values()) {
    if (members.length < 2 || !members.some((m) => touched.has(m))) continue;
    members.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const [primaryPath, ...others] = members;
    const primary = tree.get(primaryPath)!;
    if (primary.type !== 'file' || primary.sha256 === undefined) {
      primary.type = 'file';
      delete primary.link;
      await describeContent(primary, after.get(primaryPath)!, rootDir);
    }
    for (const path of others) {
      const node = tree.get(path)!;
      node.type = 'hardlink';
      node.link = primaryPath;
      delete node.size;
      delete node.sha256;
      delete node.packageDigest;
    }
  }
}
