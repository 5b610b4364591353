// filesystem.squashfs from a rootfs output. The tree is fed to `mksquashfs - OUT -tar` as a tar
// stream written from the manifest (stages/rootfs/image-tar.ts), so owners, setuid bits, device
// nodes and hardlinks are the manifest's, without root and without chown.
//
// Reproducible: mksquashfs 4.5.1 sorts nothing it is not given in order, and the stream is in
// manifest order; SOURCE_DATE_EPOCH (in the environment) clamps every time. Never pass
// -mkfs-time/-all-time as well: 4.5.1 aborts when both are set.
import { availableParallelism } from 'node:os';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { NodeSpec } from '../graph/node.js';
import { readManifest } from './manifest.js';
import { manifestTarStream } from './rootfs/image-tar.js';
import type { Runner } from './host-runner.js';
import { parseSourceDateEpoch } from './source-date-epoch.js';

export const SQUASHFS_FILE = 'filesystem.squashfs';
export const SQUASHFS_KIND_VERSION = 1;

/**
 * zstd level, chosen by measurement (2 shared cores, -b 1M). Debian's kernel tree (400 MB,
 * 4046 files): level 1 107.1 MB 4.4 s, 3 101.8 MB 4.3 s, 6 94.2 MB 8.2 s, 9 92.3 MB 11.4 s,
 * 12 91.7 MB 16.0 s, 15 91.9 MB 36.7 s, 19 84.4 MB 132 s. The 18 MB demo rootfs: 3 11.38 MB
 * 0.11 s, 6 11.17 MB 0.14 s, 19 10.85 MB 1.75 s. Level 6 is the knee: 7 % smaller than 3,
 * while 19 buys 10 % more for 15x the time on every rootfs change.
 */
export const SQUASHFS_ZSTD_LEVEL = 6;

export class SquashfsError extends Error {
  override name = 'SquashfsError';
}

/** mksquashfs arguments for a tar stream on stdin (root dir 0755 root:root; -tar leaves it 0777). */
export function mksquashfsArgs(output: string, level: number = SQUASHFS_ZSTD_LEVEL): string[] {
  return [
    '-',
    output,
    '-tar',
    '-noappend',
    '-comp',
    'zstd',
    '-Xcompression-level',
    String(level),
    '-b',
    '1M',
    '-root-mode',
    '0755',
    '-root-uid',
    '0',
    '-root-gid',
    '0',
    '-no-progress',
    '-quiet',
  ];
}

export interface BuildSquashfsOptions {
  /** A rootfs output directory: root/ and manifest.json. */
  rootfsDir: string;
  output: string;
  sourceDateEpoch: number;
  level?: number;
  runner: Runner;
}

export async function buildSquashfs(options: BuildSquashfsOptions): Promise<{ bytes: number; seconds: number }> {
  const level = options.level ?? SQUASHFS_ZSTD_LEVEL;
  if (!Number.isInteger(level) || level < 1 || level > 22) throw new SquashfsError(`zstd level ${level} is outside 1..22`);
  const started = performance.now();
  const manifest = await readManifest(join(options.rootfsDir, 'manifest.json'));
  const source = manifestTarStream(manifest, join(options.rootfsDir, 'root'), options.sourceDateEpoch);
  // A failing source does not close a pipe's destination: end it, so mksquashfs sees the end of
  // its input instead of waiting forever, and report the source's error.
  const stream = new PassThrough({ highWaterMark: 1 << 20 });
  let streamError: Error | undefined;
  source.on('error', (err) => {
    streamError = err;
    stream.end();
  });
  source.pipe(stream);
  try {
    await options.runner.exec('mksquashfs', mksquashfsArgs(options.output, level), {
      input: stream,
      env: { SOURCE_DATE_EPOCH: String(options.sourceDateEpoch) },
    });
  } catch (err) {
    await rm(options.output, { force: true });
    // A tree that disagrees with its manifest breaks the stream first; that is the real cause.
    if (streamError) throw new SquashfsError(`${options.rootfsDir}: cannot stream the tree: ${streamError.message}`);
    throw err;
  }
  if (streamError) {
    await rm(options.output, { force: true });
    throw new SquashfsError(`${options.rootfsDir}: cannot stream the tree: ${(streamError as Error).message}`);
  }
  const { size } = await stat(options.output);
  return { bytes: size, seconds: (performance.now() - started) / 1000 };
}

export interface SquashfsNodeOptions {
  variant: string;
  /** The rootfs node's id. */
  rootfs: string;
  level?: number;
}

/** `squashfs:<variant>`: the root image; mksquashfs uses every core, so the node weighs that much. */
export function squashfsNode(options: SquashfsNodeOptions): NodeSpec {
  const level = options.level ?? SQUASHFS_ZSTD_LEVEL;
  return {
    id: `squashfs:${options.variant}`,
    kind: 'squashfs',
    version: SQUASHFS_KIND_VERSION,
    deps: { rootfs: options.rootfs },
    params: { level, blockSize: '1M', compression: 'zstd', file: SQUASHFS_FILE },
    tools: ['mksquashfs'],
    env: { SOURCE_DATE_EPOCH: true },
    weight: availableParallelism(),
    description: `${SQUASHFS_FILE} (zstd -${level}, 1 MiB blocks) of ${options.variant}`,
    async run(ctx) {
      const result = await buildSquashfs({
        rootfsDir: ctx.dep('rootfs'),
        output: join(ctx.out, SQUASHFS_FILE),
        sourceDateEpoch: parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH, ctx.id),
        level,
        runner: ctx,
      });
      ctx.log(`${SQUASHFS_FILE}: ${result.bytes} bytes in ${result.seconds.toFixed(2)} s`);
    },
  };
}

export interface SquashfsBenchmark {
  level: number;
  /** buildSquashfs: manifest -> tar stream -> mksquashfs -tar. */
  nodeSeconds: number;
  /** The same mksquashfs settings run by hand on the tree directory (`-all-root`). */
  handSeconds: number;
  ratio: number;
  nodeBytes: number;
  handBytes: number;
}

/**
 * Times the node's way against mksquashfs on the directory, best of `runs` each, alternating.
 * The by-hand image differs in owners (all root) and device nodes (none): it is the time budget.
 */
export async function benchmarkSquashfs(options: {
  rootfsDir: string;
  workDir: string;
  sourceDateEpoch: number;
  runner: Runner;
  level?: number;
  runs?: number;
}): Promise<SquashfsBenchmark> {
  const level = options.level ?? SQUASHFS_ZSTD_LEVEL;
  await mkdir(options.workDir, { recursive: true });
  const nodeOut = join(options.workDir, 'node.squashfs');
  const handOut = join(options.workDir, 'hand.squashfs');
  let nodeSeconds = Infinity;
  let handSeconds = Infinity;
  for (let run = 0; run < (options.runs ?? 3); run++) {
    const node = await buildSquashfs({ rootfsDir: options.rootfsDir, output: nodeOut, sourceDateEpoch: options.sourceDateEpoch, level, runner: options.runner });
    nodeSeconds = Math.min(nodeSeconds, node.seconds);
    const started = performance.now();
    const args = mksquashfsArgs(handOut, level).filter((arg) => arg !== '-tar');
    args[0] = join(options.rootfsDir, 'root');
    await options.runner.exec('mksquashfs', [...args, '-all-root'], { env: { SOURCE_DATE_EPOCH: String(options.sourceDateEpoch) } });
    handSeconds = Math.min(handSeconds, (performance.now() - started) / 1000);
  }
  const nodeBytes = (await stat(nodeOut)).size;
  const handBytes = (await stat(handOut)).size;
  return { level, nodeSeconds, handSeconds, ratio: nodeSeconds / handSeconds, nodeBytes, handBytes };
}
