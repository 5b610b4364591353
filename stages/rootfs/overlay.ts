// The variant's overlay (variants/overlays/<name>/): files copied over the merged packages.
// Git keeps only content and the executable bit, so that is all an overlay says: owner root,
// files 0755 when executable else 0644, directories 0755, symlinks as they are. A variant that
// needs another mode or owner (a 0600 doas.conf) says so per path in `overlayModes`.
import { sha256File } from '../../graph/hash.js';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { compareManifestPaths } from '../shared/manifest.js';
import { RootfsConfigError, RootfsError } from './errors.js';
import { overlayOwner, type RootTree, type TreeNode } from './tree.js';

export interface OverlayMode {
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
}

/** Applies the overlay; returns the tree paths it wrote (generated files must not collide with them). */
export async function applyOverlay(
  tree: RootTree,
  overlayDir: string,
  variant: string,
  modes: Readonly<Record<string, OverlayMode>> = {},
): Promise<Set<string>> {
  const owner = overlayOwner(variant);
  const written = new Set<string>();
  const used = new Set<string>();
  const walk = async (relative: string): Promise<void> => {
    const names = (await readdir(join(overlayDir, relative))).sort(compareManifestPaths);
    for (const name of names) {
      const rel = relative ? `${relative}/${name}` : name;
      const full = join(overlayDir, rel);
      const info = await lstat(full);
      const path = tree.resolve(rel);
      tree.ensureParents(path, owner);
      const existing = tree.get(path);
      const override = modes[rel];
      if (override) used.add(rel);
      if (info.isDirectory()) {
        if (existing && existing.type !== 'dir') {
          throw new RootfsError(`overlay ${overlayDir}: ${rel} is a directory, but ${existing.package} installs a ${existing.type} at /${path}`);
        }
        if (!existing || override) {
          tree.set(withOverride({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, uname: 'root', gname: 'root', package: owner }, override));
        }
        await walk(rel);
        continue;
      }
      if (existing?.type === 'dir') {
        throw new RootfsError(`overlay ${overlayDir}: ${rel} would replace the directory /${path} that ${existing.package} installs`);
      }
      let node: TreeNode;
      if (info.isSymbolicLink()) {
        node = { path, type: 'symlink', mode: 0o777, uid: 0, gid: 0, uname: 'root', gname: 'root', target: await readlink(full), package: owner };
      } else if (info.isFile()) {
        node = {
          path,
          type: 'file',
          mode: info.mode & 0o111 ? 0o755 : 0o644,
          uid: 0,
          gid: 0,
          uname: 'root',
          gname: 'root',
          size: info.size,
          sha256: await sha256File(full),
          source: { file: full },
          package: owner,
        };
      } else {
        throw new RootfsError(`overlay ${overlayDir}: ${rel} is neither a file, a directory nor a symlink (git cannot hold it either)`);
      }
      tree.set(withOverride(node, override));
      written.add(path);
    }
  };
  await walk('');
  const unused = Object.keys(modes).filter((path) => !used.has(path));
  if (unused.length > 0) {
    throw new RootfsConfigError(`overlayModes names ${unused.map((p) => JSON.stringify(p)).join(', ')}, not in the overlay ${overlayDir}`);
  }
  return written;
}

function withOverride(node: TreeNode, override: OverlayMode | undefined): TreeNode {
  if (!override) return node;
  if (override.mode !== undefined && (!Number.isInteger(override.mode) || override.mode < 0 || override.mode > 0o7777)) {
    throw new RootfsConfigError(`overlayModes["${node.path}"].mode must be an integer 0..0o7777`);
  }
  return {
    ...node,
    mode: override.mode ?? node.mode,
    uid: override.uid ?? node.uid,
    gid: override.gid ?? node.gid,
    uname: override.uname ?? (override.uid !== undefined && override.uid !== 0 ? '' : node.uname),
    gname: override.gname ?? (override.gid !== undefined && override.gid !== 0 ? '' : node.gname),
  };
}

