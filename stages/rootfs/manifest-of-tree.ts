// A manifest for a plain directory tree, owned by root, modes as on disk: turns any tree (an
// extracted kernel package, a test tree) into a rootfs-shaped input for the image builders and
// their benchmarks.
import { MANIFEST_FORMAT, MANIFEST_VERSION, type TreeManifest } from '../shared/manifest.js';
import { applyDiskChanges, snapshotTree } from './tree-scan.js';
import { RootTree, toManifestEntry } from './tree.js';

export async function manifestOfTree(rootDir: string, owner = 'tree'): Promise<TreeManifest> {
  const tree = new RootTree();
  const after = await snapshotTree(rootDir);
  // Every path is "new" against an empty snapshot; the disk owner counts as root.
  await applyDiskChanges(tree, rootDir, new Map(), after, { owner, rootUid: process.getuid!(), rootGid: process.getgid!() });
  const entries = tree.entries().map((node) => ({ ...toManifestEntry(node), uid: 0, gid: 0, uname: 'root', gname: 'root' }));
  return { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, entries };
}
