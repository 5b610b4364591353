// filesystem.erofs from a rootfs output: the same contract as the squashfs node, with mkfs.erofs.
//
// Debian 12's erofs-utils 1.5 reads only a directory (tar input came in later versions) and knows
// the compressors lz4hc and lz4 (no zstd). So the node stages a copy of the tree with the
// manifest's exact modes (setuid included) and builds from that, which decides what the image
// can carry:
//   - owners: `flatten-to-root` (default) gives every path root:root via --all-root, and logs
//     how many paths had another owner (Alpine's /etc/shadow is root:shadow; root reads it
//     either way). `exact` chowns the staged copy and needs the build to run as root;
//     without root it is an error, never a silent flattening.
//   - device nodes and fifos: made in the staged copy with mknod, which needs root for devices
//     (error otherwise; fifos work rootless).
//   - extended attributes (security.capability): not carried; a manifest with any is an error.
// Either the image is what the manifest says (minus documented owner flattening) or the node fails.
import { chmod, constants, copyFile, lchown, link, mkdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeSpec } from '../graph/node.js';
import { readManifest, type ManifestEntry, type TreeManifest } from './shared/manifest.js';
import { uuidFromContent } from './rootfs/content-uuid.js';
import type { Runner } from './shared/host-runner.js';

export { uuidFromContent };
import { epochEnv, parseSourceDateEpoch, type StampsTime } from './shared/source-date-epoch.js';
import type { StageKind } from './kind.js';

export const EROFS_FILE = 'filesystem.erofs';
/** The upper layer's image as EROFS: /live/overlayfs.erofs on the medium. */
export const EROFS_UPPER_FILE = 'overlayfs.erofs';
export const EROFS_KIND_VERSION = 1;

export type ErofsOwnership = 'flatten-to-root' | 'exact';
export type ErofsCompression = 'lz4hc' | 'lz4';

/**
 * lz4hc level 9 with mkfs.erofs's default 4 KiB physical clusters, by measurement (one core:
 * mkfs.erofs 1.5 compresses on one thread). Debian's 400 MB kernel tree: lz4 193 MB 2.1 s;
 * lz4hc 9 168 MB 10.9 s; lz4hc 12 168 MB 35 s; lz4hc 12 -C64K 153 MB 70 s; -C1M 152 MB 102 s.
 * The 18 MB demo rootfs: lz4 13.5 MB 0.3 s; lz4hc 9 12.9 MB 2.9 s; lz4hc 12 -C64K 12.4 MB 6 s.
 * Level 12 costs 3x for nothing; bigger clusters buy 9 % for 6-10x the time on every build.
 */
export const EROFS_DEFAULT = { compression: 'lz4hc' as ErofsCompression, level: 9, clusterBytes: 4096 };

export class ErofsError extends Error {
  override name = 'ErofsError';
}

export interface BuildErofsOptions {
  /** A rootfs output directory: root/ and manifest.json. */
  rootfsDir: string;
  output: string;
  /** Scratch directory for the staged copy (removed afterwards). */
  workDir: string;
  sourceDateEpoch: number;
  runner: Runner;
  ownership?: ErofsOwnership;
  compression?: ErofsCompression;
  /** lz4hc level 1..12 (ignored for lz4). */
  level?: number;
  /** Physical cluster size (-C): larger compresses better, reads more per random access. */
  clusterBytes?: number;
  /** Filesystem UUID; default derived from the manifest, so equal inputs give equal images. */
  uuid?: string;
}

export interface ErofsResult {
  bytes: number;
  seconds: number;
  /** Paths whose non-root owner was flattened to root (flatten-to-root only). */
  flattened: string[];
}

/** What the manifest holds that this erofs build cannot carry (or only as root). */
export function erofsLimits(manifest: TreeManifest, ownership: ErofsOwnership, isRoot: boolean): { errors: string[]; flattened: string[] } {
  const errors: string[] = [];
  const flattened: string[] = [];
  for (const entry of manifest.entries) {
    if (entry.xattrs && Object.keys(entry.xattrs).length > 0) {
      errors.push(`/${entry.path} has extended attributes (${Object.keys(entry.xattrs).join(', ')}), which the erofs image cannot carry`);
    }
    if ((entry.type === 'char' || entry.type === 'block') && !isRoot) {
      errors.push(`/${entry.path} is a device node (${entry.devmajor},${entry.devminor}): only a build running as root can make it for mkfs.erofs`);
    }
    if (entry.uid !== 0 || entry.gid !== 0) {
      if (ownership === 'flatten-to-root') flattened.push(entry.path);
      else if (!isRoot) errors.push(`/${entry.path} is owned by ${entry.uid}:${entry.gid}: exact ownership needs a build running as root`);
    }
  }
  return { errors, flattened };
}

export async function buildErofs(options: BuildErofsOptions): Promise<ErofsResult> {
  const started = performance.now();
  const ownership = options.ownership ?? 'flatten-to-root';
  const compression = options.compression ?? EROFS_DEFAULT.compression;
  const level = options.level ?? EROFS_DEFAULT.level;
  if (compression === 'lz4hc' && (!Number.isInteger(level) || level < 1 || level > 12)) throw new ErofsError(`lz4hc level ${level} is outside 1..12`);
  const manifestPath = join(options.rootfsDir, 'manifest.json');
  const manifest = await readManifest(manifestPath);
  const isRoot = process.getuid!() === 0;
  const { errors, flattened } = erofsLimits(manifest, ownership, isRoot);
  if (errors.length > 0) {
    const shown = errors.slice(0, 5).join('; ');
    throw new ErofsError(`${options.rootfsDir}: ${errors.length} path(s) the erofs image cannot carry: ${shown}${errors.length > 5 ? '; ...' : ''}. Use the squashfs root image, or build as root`);
  }
  const staged = join(options.workDir, 'erofs-tree');
  await rm(staged, { recursive: true, force: true });
  try {
    await stageTree(manifest, join(options.rootfsDir, 'root'), staged, ownership === 'exact', options.runner);
    const uuid = options.uuid ?? uuidFromContent(Buffer.concat([await readFile(manifestPath), Buffer.from(JSON.stringify({ compression, level }))]));
    const args = [
      compression === 'lz4hc' ? `-zlz4hc,${level}` : '-zlz4',
      `-C${options.clusterBytes ?? EROFS_DEFAULT.clusterBytes}`,
      `-T${options.sourceDateEpoch}`,
      `-U${uuid}`,
      '-x-1',
      ...(ownership === 'flatten-to-root' ? ['--all-root'] : []),
      '--quiet',
      options.output,
      staged,
    ];
    try {
      await options.runner.exec('mkfs.erofs', args, { env: { SOURCE_DATE_EPOCH: String(options.sourceDateEpoch) } });
    } catch (err) {
      await rm(options.output, { force: true });
      throw err;
    }
  } finally {
    await rm(staged, { recursive: true, force: true });
  }
  if (flattened.length > 0) {
    options.runner.log(`erofs: ${flattened.length} path(s) with a non-root owner flattened to root:root (first: /${flattened.slice(0, 5).join(', /')})`);
  }
  const { size } = await stat(options.output);
  return { bytes: size, seconds: (performance.now() - started) / 1000, flattened };
}

/** A copy of the tree with the manifest's modes (and owners, when exact), devices and fifos made. */
async function stageTree(manifest: TreeManifest, rootDir: string, staged: string, exactOwners: boolean, runner: Runner): Promise<void> {
  await mkdir(staged, { recursive: true, mode: 0o755 });
  await chmod(staged, 0o755);
  const dirs: ManifestEntry[] = [];
  const owned: ManifestEntry[] = [];
  for (const entry of manifest.entries) {
    const dest = join(staged, entry.path);
    switch (entry.type) {
      case 'dir':
        await mkdir(dest, { mode: 0o700 });
        dirs.push(entry);
        break;
      case 'file':
        await copyFile(join(rootDir, entry.path), dest, constants.COPYFILE_FICLONE);
        break;
      case 'symlink':
        await symlink(entry.target!, dest);
        break;
      case 'hardlink':
        break; // below, once every file exists
      case 'char':
      case 'block':
        await runner.exec('mknod', ['-m', '0600', dest, entry.type === 'char' ? 'c' : 'b', String(entry.devmajor), String(entry.devminor)]);
        break;
      case 'fifo':
        await runner.exec('mknod', ['-m', '0600', dest, 'p']);
        break;
    }
    owned.push(entry);
  }
  for (const entry of manifest.entries) if (entry.type === 'hardlink') await link(join(staged, entry.link!), join(staged, entry.path));
  // chown before chmod (chown clears setuid bits); directories last, deepest first, so a
  // read-only directory does not block its own contents.
  if (exactOwners) {
    await lchown(staged, 0, 0);
    for (const entry of owned) await lchown(join(staged, entry.path), entry.uid, entry.gid);
  }
  for (const entry of owned) {
    if (entry.type !== 'dir' && entry.type !== 'symlink' && entry.type !== 'hardlink') await chmod(join(staged, entry.path), entry.mode & 0o7777);
  }
  for (const entry of dirs.reverse()) await chmod(join(staged, entry.path), entry.mode & 0o7777);
}

export interface ErofsNodeOptions extends StampsTime {
  variant: string;
  /** The rootfs node's id (or any node whose output is root/ + manifest.json: the upper layer). */
  rootfs: string;
  /** Node id (default `erofs:<variant>`). */
  id?: string;
  /** Image file name in the output (default filesystem.erofs). */
  file?: string;
  ownership?: ErofsOwnership;
  compression?: ErofsCompression;
  level?: number;
  clusterBytes?: number;
}

/** The root image as EROFS, from a staged copy of the rootfs tree. */
export const EROFS_STAGE: StageKind = {
  kind: 'erofs',
  version: EROFS_KIND_VERSION,
  summary: 'root image (erofs)',
  tools: [{ name: 'mkfs.erofs', debianPackage: 'erofs-utils', versionArgs: ['--help'] }, { name: 'mknod', debianPackage: 'coreutils', versionArgs: ['--version'] }],
};

/** `erofs:<variant>`: the root image as EROFS (the variant picks this or squashfs). */
export function erofsNode(options: ErofsNodeOptions): NodeSpec {
  const settings = {
    ownership: options.ownership ?? 'flatten-to-root',
    compression: options.compression ?? EROFS_DEFAULT.compression,
    level: options.level ?? EROFS_DEFAULT.level,
    clusterBytes: options.clusterBytes ?? EROFS_DEFAULT.clusterBytes,
  } as const;
  const file = options.file ?? EROFS_FILE;
  return {
    id: options.id ?? `erofs:${options.variant}`,
    kind: EROFS_STAGE.kind,
    version: EROFS_KIND_VERSION,
    deps: { rootfs: options.rootfs },
    params: { ...settings, file },
    tools: ['mkfs.erofs', 'mknod'],
    env: epochEnv(options),
    // mkfs.erofs 1.5 compresses on one thread; the weight leaves the other cores to other nodes.
    weight: 1,
    description: `${file} (${settings.compression}${settings.compression === 'lz4hc' ? ` -${settings.level}` : ''}, owners ${settings.ownership}) of ${options.variant}`,
    async run(ctx) {
      const result = await buildErofs({
        rootfsDir: ctx.dep('rootfs'),
        output: join(ctx.out, file),
        workDir: ctx.tmp,
        sourceDateEpoch: parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH, ctx.id),
        runner: ctx,
        ...settings,
      });
      ctx.log(`${file}: ${result.bytes} bytes in ${result.seconds.toFixed(2)} s`);
    },
  };
}
