// The upper layer of the root, as one plain function of paths: the variant's overlay and any
// number of trees (recipes: root/ + manifest.json) put over the base rootfs WITHOUT touching the
// base's files. Only the base's manifest is read (to resolve paths through its symlinked
// directories, to share its directories, and to find collisions), so the cost is the layer's
// own size plus one pass over the base manifest, never a copy of the system.
//
// Rules (overlayfs joins the images at boot: lowerdir=upper:base):
//   - directories may be shared; a directory that exists in the base carries the base's
//     owner and mode in the layer too (overlayfs shows the upper directory's attributes);
//   - a non-directory path written by two trees is an error naming both trees and the path;
//   - a non-directory path of a tree that the base already has is an error naming the tree, the
//     base's package and the path, unless the tree declares `replaces: [<package>]`;
//   - a type conflict with the base (a file over a directory, a directory over a file) is an error;
//   - the overlay comes last and keeps the semantics it had in the rootfs: its files win over
//     packages and trees, owned by root (modes from the exec bit or `overlayModes`), and a
//     path the variant's settings generate (/etc/hostname...) must not be in it.
// Output: root/ (only the layer's paths and their parent directories) and manifest.json in the
// rootfs format, so the squashfs and erofs nodes take it unchanged. Sorted, times = the epoch.
import { lutimes } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FORMAT, MANIFEST_VERSION, readManifest, writeManifest, type TreeManifest } from '../shared/manifest.js';
import { RootfsConfigError, RootfsError } from '../rootfs/errors.js';
import { writeTreeToDisk } from '../rootfs/materialize.js';
import { applyOverlay, type OverlayMode } from '../rootfs/overlay.js';
import { GENERATED_OWNER, overlayOwner, RootTree, toManifestEntry, type TreeNode } from '../rootfs/tree.js';

export class LayerError extends RootfsError {
  override name = 'LayerError';
}

export interface LayerTreeInput {
  /** The tree's name in messages and in the manifest's `package` (`recipe:hello`). */
  name: string;
  /** A directory holding root/ and manifest.json (stages/shared/manifest.ts). */
  dir: string;
  /** Base packages whose files this tree may take over. */
  replaces?: readonly string[];
}

export interface BuildLayerOptions {
  variant: string;
  /** The base rootfs output directory: only its manifest.json is read. */
  baseDir: string;
  /** The variant's overlay directory, if it has one. */
  overlayDir?: string;
  overlayModes?: Readonly<Record<string, OverlayMode>>;
  trees: readonly LayerTreeInput[];
  /** Fresh directory: receives root/ and manifest.json. */
  outDir: string;
  sourceDateEpoch: number;
  log?: (line: string) => void;
}

export interface LayerResult {
  manifest: TreeManifest;
  /** `/path: tree replaces package` for every base file a tree took over. */
  replaced: string[];
  /** Non-directory paths the overlay wrote. */
  overlaid: string[];
}

export async function buildLayer(options: BuildLayerOptions): Promise<LayerResult> {
  const log = options.log ?? (() => undefined);
  const names = options.trees.map((t) => t.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) throw new LayerError(`layer of ${options.variant}: two trees are named ${duplicate}`);

  const base = await readManifest(join(options.baseDir, 'manifest.json'));
  const tree = new RootTree();
  for (const entry of base.entries) tree.set({ ...entry });
  const generated = new Set(base.entries.filter((e) => e.package === GENERATED_OWNER && e.type !== 'dir').map((e) => e.path));

  /** Paths the layer writes (besides the parents of these), and which tree wrote each. */
  const writer = new Map<string, string>();
  const replaced: string[] = [];

  for (const input of options.trees) {
    const manifest = await readManifest(join(input.dir, 'manifest.json'));
    const replaces = new Set(input.replaces ?? []);
    for (const entry of manifest.entries) {
      const path = tree.resolve(entry.path);
      const node: TreeNode = { ...entry, path, package: input.name };
      if (entry.type === 'file') node.source = { file: join(input.dir, 'root', entry.path) };
      if (entry.type === 'hardlink') node.link = tree.resolve(entry.link!);
      tree.ensureParents(path, input.name);
      const existing = tree.get(path);
      if (existing === undefined) {
        tree.set(node);
        writer.set(path, input.name);
        continue;
      }
      const owner = writer.get(path) ?? existing.package ?? '(unknown)';
      const where = writer.has(path) ? `tree ${owner}` : `package ${owner} in the base root filesystem`;
      if (node.type === 'dir') {
        if (existing.type === 'dir') continue; // shared: the first one's attributes stay
        // A directory over a symlink to a directory (lib -> usr/lib): kept, as the rootfs merge does.
        if (existing.type === 'symlink' && tree.get(tree.resolve(`${path}/.`).replace(/\/\.$/, ''))?.type === 'dir') continue;
        throw new LayerError(`${input.name}: /${path} is a directory in ${input.name}, but ${where} installs a ${existing.type} there`);
      }
      if (existing.type === 'dir') {
        throw new LayerError(`${input.name}: /${path} is a ${node.type} in ${input.name}, but ${where} installs a directory there`);
      }
      if (writer.has(path)) {
        throw new LayerError(`/${path} is written by two trees of the layer: ${owner} and ${input.name}`);
      }
      if (!replaces.has(owner)) {
        throw new LayerError(
          `${input.name}: /${path} is already installed by package ${owner} in the base root filesystem; ` +
            `declare replaces: ['${owner}'] on ${input.name} to take it over, or drop the file`,
        );
      }
      tree.set(node);
      writer.set(path, input.name);
      replaced.push(`/${path}: ${input.name} replaces ${owner}`);
    }
  }
  for (const line of replaced) log(`replaces: ${line}`);

  let overlaid: string[] = [];
  if (options.overlayDir) {
    const owner = overlayOwner(options.variant);
    const before = new Map([...writer.keys()].map((p) => [p, tree.get(p)!]));
    const written = await applyOverlay(tree, options.overlayDir, options.variant, options.overlayModes);
    overlaid = [...written].sort();
    for (const path of overlaid) {
      if (generated.has(path)) {
        throw new RootfsConfigError(
          `variant ${options.variant}: /${path} is both in the overlay and generated from the variant's settings; drop it from the overlay or from the settings`,
        );
      }
      const was = before.get(path);
      if (was && was !== tree.get(path)) log(`overlay: /${path} replaces the file of ${was.package}`);
    }
    // What the overlay made or changed: its files, new directories and directories given a mode.
    for (const node of tree.entries()) if (node.package === owner) writer.set(node.path, owner);
  }

  // The layer: what was written, with every parent directory (the base's, or one made here).
  const layer = new RootTree();
  for (const path of writer.keys()) {
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!layer.has(p)) layer.set(tree.get(p)!);
    }
  }
  for (const node of layer.entries()) {
    if (node.type !== 'hardlink') continue;
    const target = layer.get(node.link!);
    if (target?.type !== 'file' || target.package !== node.package) {
      throw new LayerError(`${node.package}: /${node.path} is a hardlink to /${node.link}, which is not a file of the same tree (a hardlink cannot cross layers)`);
    }
  }
  const rootDir = join(options.outDir, 'root');
  await writeTreeToDisk(layer, rootDir);
  const entries = layer.entries();
  for (const entry of entries) {
    if (entry.type === 'file' || entry.type === 'dir' || entry.type === 'symlink' || entry.type === 'hardlink') {
      await lutimes(join(rootDir, entry.path), options.sourceDateEpoch, options.sourceDateEpoch);
    }
  }
  await lutimes(rootDir, options.sourceDateEpoch, options.sourceDateEpoch);
  const manifest: TreeManifest = { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, entries: entries.map(toManifestEntry) };
  await writeManifest(join(options.outDir, 'manifest.json'), manifest);
  log(`layer: ${entries.length} entries (${writer.size} written) from ${options.trees.length} trees${options.overlayDir ? ' and the overlay' : ''}`);
  return { manifest, replaced, overlaid };
}
