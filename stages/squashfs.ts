// filesystem.squashfs from a rootfs output (root/ + manifest.json; the manifest is the truth for
// owners, modes, devices, fifos, symlinks and hardlinks). Two routes give the same bytes:
//  - pseudo (the usual one): after checking the disk against the manifest (squashfs/disk-check.ts),
//    mksquashfs reads root/ itself with its own threads; a pseudo file and an action file correct
//    what the disk cannot carry (squashfs/pseudo-file.ts). Nothing to stream from JavaScript, so
//    the node costs about what mksquashfs run by hand costs.
//  - tar: the manifest as a tar stream into `mksquashfs - OUT -tar` (stages/rootfs/image-tar.ts), in
//    mksquashfs's own directory order (squashfs/order.ts). For trees the pseudo route cannot
//    express: extended attributes, a newline in a name that needs a definition, a directory
//    older than the epoch on disk, several filesystems.
// Owner names never reach mksquashfs: with a tar uname it looks the name up in the HOST's
// /etc/passwd (Alpine's daemon, uid 2, became Debian's daemon, 1). Owners are the manifest's numbers.
//
// Reproducible: mksquashfs 4.5.1 is reproducible by default; SOURCE_DATE_EPOCH (in the environment)
// clamps every time, pseudo definitions carry it explicitly. Never pass -mkfs-time/-all-time as
// well: 4.5.1 aborts when both are set.
import { availableParallelism, tmpdir } from 'node:os';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { NodeSpec } from '../graph/node.js';
import { readManifest, type TreeManifest } from './shared/manifest.js';
import { manifestTarStream } from './rootfs/image-tar.js';
import type { Runner } from './shared/host-runner.js';
import { epochEnv, parseSourceDateEpoch, type StampsTime } from './shared/source-date-epoch.js';
import { checkNamesAndTargets, statTree } from './squashfs/disk-check.js';
import { SquashfsError } from './squashfs/errors.js';
import { inSquashfsOrder } from './squashfs/order.js';
import { planPseudoRoute, type PseudoPlan } from './squashfs/pseudo-file.js';
import type { StageKind } from './kind.js';

export { SquashfsError, TreeMismatchError } from './squashfs/errors.js';
export { escapePseudoPath, planPseudoRoute, type PseudoPlan, type TarFallback } from './squashfs/pseudo-file.js';
export { checkNamesAndTargets, readDiskFacts, statTree, type DiskFacts, type DiskInode } from './squashfs/disk-check.js';
export { inSquashfsOrder } from './squashfs/order.js';

export const SQUASHFS_FILE = 'filesystem.squashfs';
/** The upper layer's image (stages/layer.ts), beside the base on the medium: /live/overlayfs.squashfs. */
export const SQUASHFS_UPPER_FILE = 'overlayfs.squashfs';
/** 2: pseudo route; tar stream in mksquashfs's order, numeric owners, -no-xattrs, -no-sparse, -root-time. */
export const SQUASHFS_KIND_VERSION = 2;

/**
 * zstd level, chosen by measurement (2 shared cores, -b 1M). Debian's kernel tree (400 MB,
 * 4046 files): level 1 107.1 MB 4.4 s, 3 101.8 MB 4.3 s, 6 94.2 MB 8.2 s, 9 92.3 MB 11.4 s,
 * 12 91.7 MB 16.0 s, 15 91.9 MB 36.7 s, 19 84.4 MB 132 s. The 18 MB demo rootfs: 3 11.38 MB
 * 0.11 s, 6 11.17 MB 0.14 s, 19 10.85 MB 1.75 s. Level 6 is the knee: 7 % smaller than 3,
 * while 19 buys 10 % more for 15x the time on every rootfs change.
 */
export const SQUASHFS_ZSTD_LEVEL = 6;

export type SquashfsRoute = 'pseudo' | 'tar';

export interface SquashfsSettings {
  level?: number;
  /** Sets the root directory's time (-root-time); the epoch in the environment does the rest. */
  epoch?: number;
  /** Keep extended attributes (only the tar route carries them); default: -no-xattrs. */
  xattrs?: boolean;
}

/**
 * The image settings both routes share. -tar implies -no-exports and -always-use-fragments; the
 * directory route is given them explicitly, so the two routes write the same bytes. -no-sparse
 * for the same reason: 4.5.1 records an all-zero block differently when it reads a directory
 * than when it reads a tar stream (zstd makes such a block a few bytes anyway). The root
 * directory is 0755 root:root (-tar would leave it 0777).
 */
export function squashfsSettings(settings: SquashfsSettings = {}): string[] {
  const level = settings.level ?? SQUASHFS_ZSTD_LEVEL;
  return [
    '-noappend',
    '-comp',
    'zstd',
    '-Xcompression-level',
    String(level),
    '-b',
    '1M',
    '-no-exports',
    '-always-use-fragments',
    '-no-sparse',
    ...(settings.xattrs ? [] : ['-no-xattrs']),
    '-root-mode',
    '0755',
    '-root-uid',
    '0',
    '-root-gid',
    '0',
    ...(settings.epoch === undefined ? [] : ['-root-time', String(settings.epoch)]),
    '-no-progress',
    '-quiet',
  ];
}

/** mksquashfs arguments for a tar stream on stdin (the tar route; drop '-tar' and put a directory first for the same settings by hand). */
export function mksquashfsArgs(output: string, level: number = SQUASHFS_ZSTD_LEVEL, settings: Omit<SquashfsSettings, 'level'> = {}): string[] {
  return ['-', output, '-tar', ...squashfsSettings({ ...settings, level })];
}

/** mksquashfs arguments for the pseudo route: the directory, plus the correction files when there are any. */
export function pseudoRouteArgs(rootDir: string, output: string, files: { pseudoFile?: string; actionFile?: string }, settings: SquashfsSettings = {}): string[] {
  return [
    rootDir,
    output,
    ...squashfsSettings(settings),
    ...(files.pseudoFile ? ['-pf', files.pseudoFile] : []),
    ...(files.actionFile ? ['-action-file', files.actionFile] : []),
    // Pseudo definitions whose target is missing (or present, for c/b/i) are otherwise a warning.
    '-exit-on-error',
  ];
}

export interface BuildSquashfsOptions {
  /** A rootfs output directory: root/ and manifest.json. */
  rootfsDir: string;
  output: string;
  sourceDateEpoch: number;
  level?: number;
  runner: Runner;
  /** Scratch directory for the pseudo and action files (default: a temporary directory, removed after). */
  tmpDir?: string;
  /** 'auto' (default): pseudo when the tree allows it. A forced 'pseudo' fails where it cannot be exact. */
  route?: SquashfsRoute | 'auto';
}

export interface SquashfsResult {
  bytes: number;
  seconds: number;
  route: SquashfsRoute;
  /** Why the tar route was taken (auto only). */
  reason?: string;
}

export async function buildSquashfs(options: BuildSquashfsOptions): Promise<SquashfsResult> {
  const level = options.level ?? SQUASHFS_ZSTD_LEVEL;
  if (!Number.isInteger(level) || level < 1 || level > 22) throw new SquashfsError(`zstd level ${level} is outside 1..22`);
  const started = performance.now();
  const manifest = await readManifest(join(options.rootfsDir, 'manifest.json'));
  const rootDir = join(options.rootfsDir, 'root');
  const xattrs = manifest.entries.some((entry) => entry.xattrs && Object.keys(entry.xattrs).length > 0);
  const settings: SquashfsSettings = { level, epoch: options.sourceDateEpoch, xattrs };
  const wanted = options.route ?? 'auto';

  let reason: string | undefined;
  try {
    if (wanted !== 'tar') {
      const plan = planPseudoRoute(manifest, statTree(rootDir, manifest), options.sourceDateEpoch);
      if (plan.route === 'pseudo') {
        await runPseudoRoute(rootDir, manifest, options, plan, settings);
        return await result(options.output, started, 'pseudo');
      }
      if (wanted === 'pseudo') throw new SquashfsError(`${options.rootfsDir}: the pseudo route cannot build this tree exactly: ${plan.reason}`);
      // The tar route would pack the manifest whatever the disk holds; a broken tree still fails.
      checkNamesAndTargets(rootDir, manifest);
      reason = plan.reason;
      options.runner.log(`squashfs: tar route: ${reason}`);
    }
    await runTarRoute(rootDir, manifest, options, settings);
    return await result(options.output, started, 'tar', reason);
  } catch (err) {
    await rm(options.output, { force: true });
    throw err;
  }
}

async function runPseudoRoute(rootDir: string, manifest: TreeManifest, options: BuildSquashfsOptions, plan: PseudoPlan, settings: SquashfsSettings): Promise<void> {
  const scratch = options.tmpDir ?? (await mkdtemp(join(tmpdir(), 'pipeline-squashfs-')));
  const files: { pseudoFile?: string; actionFile?: string } = {};
  try {
    if (plan.pseudoFile) writeFileSync((files.pseudoFile = join(scratch, 'squashfs.pseudo')), plan.pseudoFile);
    if (plan.actionFile) writeFileSync((files.actionFile = join(scratch, 'squashfs.actions')), plan.actionFile);
    options.runner.log(`squashfs: pseudo route: ${plan.definitions} pseudo definitions, ${plan.actions} directory actions`);
    const packing = options.runner.exec('mksquashfs', pseudoRouteArgs(rootDir, options.output, files, settings), {
      env: { SOURCE_DATE_EPOCH: String(options.sourceDateEpoch) },
    });
    // The rest of the comparison runs while mksquashfs packs; a difference discards the image.
    try {
      checkNamesAndTargets(rootDir, manifest);
    } catch (mismatch) {
      await packing.catch(() => undefined);
      throw mismatch;
    }
    await packing;
  } finally {
    if (options.tmpDir) {
      for (const file of Object.values(files)) await rm(file, { force: true });
    } else {
      await rm(scratch, { recursive: true, force: true });
    }
  }
}

async function runTarRoute(rootDir: string, manifest: TreeManifest, options: BuildSquashfsOptions, settings: SquashfsSettings): Promise<void> {
  // Numbers only (see the top of the file), in the order mksquashfs walks a directory.
  const entries = inSquashfsOrder(manifest.entries).map((entry) => ({ ...entry, uname: '', gname: '' }));
  const source = manifestTarStream({ ...manifest, entries }, rootDir, options.sourceDateEpoch);
  // A failing source does not close a pipe's destination: end it, so mksquashfs sees the end of
  // its input instead of waiting forever, and report the source's error.
  const stream = new PassThrough({ highWaterMark: 1 << 20 });
  let streamError: Error | undefined;
  source.on('error', (err) => {
    streamError = err;
    stream.end();
  });
  source.pipe(stream);
  const streamFailure = () => new SquashfsError(`${options.rootfsDir}: cannot stream the tree: ${streamError!.message}`);
  try {
    await options.runner.exec('mksquashfs', mksquashfsArgs(options.output, settings.level, settings), {
      input: stream,
      env: { SOURCE_DATE_EPOCH: String(options.sourceDateEpoch) },
    });
  } catch (err) {
    // A tree that disagrees with its manifest breaks the stream first; that is the real cause.
    throw streamError ? streamFailure() : err;
  }
  if (streamError) throw streamFailure();
}

async function result(output: string, started: number, route: SquashfsRoute, reason?: string): Promise<SquashfsResult> {
  const { size } = await stat(output);
  return { bytes: size, seconds: (performance.now() - started) / 1000, route, ...(reason ? { reason } : {}) };
}

export interface SquashfsNodeOptions extends StampsTime {
  variant: string;
  /** The rootfs node's id (or any node whose output is root/ + manifest.json: the upper layer). */
  rootfs: string;
  level?: number;
  /** Node id (default `squashfs:<variant>`). */
  id?: string;
  /** Image file name in the output (default filesystem.squashfs). */
  file?: string;
  /** Job slots (default: every core, as mksquashfs uses them all on a large tree). */
  weight?: number;
}

/** The root image as squashfs (zstd), from the rootfs tree and its manifest. */
export const SQUASHFS_STAGE: StageKind = {
  kind: 'squashfs',
  version: SQUASHFS_KIND_VERSION,
  summary: 'root image (squashfs)',
  tools: [{ name: 'mksquashfs', debianPackage: 'squashfs-tools', versionArgs: ['-version'] }],
};

/** `squashfs:<variant>`: the root image; mksquashfs uses every core, so the node weighs that much. */
export function squashfsNode(options: SquashfsNodeOptions): NodeSpec {
  const level = options.level ?? SQUASHFS_ZSTD_LEVEL;
  const file = options.file ?? SQUASHFS_FILE;
  return {
    id: options.id ?? `squashfs:${options.variant}`,
    kind: SQUASHFS_STAGE.kind,
    version: SQUASHFS_KIND_VERSION,
    deps: { rootfs: options.rootfs },
    params: { level, blockSize: '1M', compression: 'zstd', file },
    tools: ['mksquashfs'],
    env: epochEnv(options),
    weight: options.weight ?? availableParallelism(),
    description: `${file} (zstd -${level}, 1 MiB blocks) of ${options.variant}`,
    async run(ctx) {
      const result = await buildSquashfs({
        rootfsDir: ctx.dep('rootfs'),
        output: join(ctx.out, file),
        sourceDateEpoch: parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH, ctx.id),
        level,
        runner: ctx,
        tmpDir: ctx.tmp,
      });
      ctx.log(`${file}: ${result.bytes} bytes in ${result.seconds.toFixed(2)} s (${result.route} route)`);
    },
  };
}
