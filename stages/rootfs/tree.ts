// The root tree being assembled, in memory: one manifest entry per path, plus where a regular
// file's bytes come from (a package's unpacked tree, the overlay, or generated text). Paths go
// through symlinked parent directories the way they would on disk (a package file under `lib/`
// lands in `usr/lib/` when another package made `lib` a symlink to `usr/lib`), so the manifest
// and the disk never disagree about where a file is.
import { compareManifestPaths, type ManifestEntry } from '../shared/manifest.js';
import { RootfsError } from './errors.js';

export type ContentSource = { file: string } | { bytes: Buffer };

export interface TreeNode extends ManifestEntry {
  /** Regular files: where the bytes come from when the tree is written to disk. */
  source?: ContentSource;
}

/** Who installs what a build adds itself (not a package). */
export const GENERATED_OWNER = 'pipeline:generated';
export const overlayOwner = (variant: string): string => `pipeline:overlay:${variant}`;

const MAX_SYMLINK_HOPS = 40;

export class RootTree {
  private readonly nodes = new Map<string, TreeNode>();

  get(path: string): TreeNode | undefined {
    return this.nodes.get(path);
  }

  has(path: string): boolean {
    return this.nodes.has(path);
  }

  get size(): number {
    return this.nodes.size;
  }

  /** Puts a node at its path (replacing what was there). The caller resolved the path. */
  set(node: TreeNode): void {
    this.nodes.set(node.path, node);
  }

  /** Removes a path and everything below it. */
  delete(path: string): void {
    this.nodes.delete(path);
    const prefix = `${path}/`;
    for (const key of [...this.nodes.keys()]) if (key.startsWith(prefix)) this.nodes.delete(key);
  }

  /** Entries in manifest order (bytewise by path: parents before children). */
  entries(): TreeNode[] {
    return [...this.nodes.values()].sort((a, b) => compareManifestPaths(a.path, b.path));
  }

  /**
   * The path with every symlinked parent directory followed, as a chroot would (absolute
   * targets start at the tree root, `..` stops at the root). The last component is kept as is.
   */
  resolve(path: string): string {
    let parts = path.split('/');
    let hops = 0;
    for (let i = 0; i < parts.length - 1; ) {
      const node = this.nodes.get(parts.slice(0, i + 1).join('/'));
      if (node?.type !== 'symlink') {
        i++;
        continue;
      }
      if (++hops > MAX_SYMLINK_HOPS) throw new RootfsError(`/${path}: too many levels of symbolic links in its parent directories`);
      const target = node.target!;
      const base = target.startsWith('/') ? [] : parts.slice(0, i);
      parts = normalizeParts([...base, ...target.split('/'), ...parts.slice(i + 1)]);
      i = 0;
    }
    if (parts.length === 0) throw new RootfsError(`/${path}: resolves to the root directory itself`);
    return parts.join('/');
  }

  /**
   * Makes sure every parent of `path` is a directory, adding missing ones (0755 root) owned by
   * `owner`. A parent that is a file or device is an error naming both owners.
   */
  ensureParents(path: string, owner: string): void {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const node = this.nodes.get(parent);
      if (node === undefined) {
        this.nodes.set(parent, { path: parent, type: 'dir', mode: 0o755, uid: 0, gid: 0, uname: 'root', gname: 'root', package: owner });
      } else if (node.type !== 'dir') {
        throw new RootfsError(
          `/${path} (from ${owner}) needs /${parent} to be a directory, but ${node.package ?? 'the tree'} installs a ${node.type} there`,
        );
      }
    }
  }
}

function normalizeParts(parts: string[]): string[] {
  const out: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

/** The manifest entry of a node, without the build-only fields. */
export function toManifestEntry(node: TreeNode): ManifestEntry {
  const { source: _source, ...entry } = node;
  return entry;
}
