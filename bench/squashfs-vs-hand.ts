// The squashfs node against the same mksquashfs run by hand on the same tree: the time budget
// of the node (`npm run bench -- demo` quotes it; test/squashfs checks the images agree).
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Runner } from '../stages/shared/host-runner.js';
import { buildSquashfs, SQUASHFS_ZSTD_LEVEL, squashfsSettings, type SquashfsRoute } from '../stages/squashfs.js';
import { median } from '../util/stats.js';

export interface SquashfsBenchmark {
  level: number;
  runs: number;
  route: SquashfsRoute;
  /** buildSquashfs, median of the runs. */
  nodeSeconds: number;
  /** The same settings run by hand on the tree directory (`-all-root`, no corrections), median. */
  handSeconds: number;
  ratio: number;
  nodeBytes: number;
  handBytes: number;
}

/**
 * Times buildSquashfs against mksquashfs on the directory with the same settings, alternating,
 * medians of `runs` each. The by-hand image differs in owners (all root) and device nodes (none):
 * it is the time budget.
 */
export async function benchmarkSquashfs(options: {
  rootfsDir: string;
  workDir: string;
  sourceDateEpoch: number;
  runner: Runner;
  level?: number;
  runs?: number;
  route?: SquashfsRoute | 'auto';
}): Promise<SquashfsBenchmark> {
  const level = options.level ?? SQUASHFS_ZSTD_LEVEL;
  const runs = options.runs ?? 5;
  await mkdir(options.workDir, { recursive: true });
  const nodeOut = join(options.workDir, 'node.squashfs');
  const handOut = join(options.workDir, 'hand.squashfs');
  const node: number[] = [];
  const hand: number[] = [];
  let route: SquashfsRoute = 'tar';
  const handArgs = [join(options.rootfsDir, 'root'), handOut, ...squashfsSettings({ level }), '-all-root'];
  for (let run = 0; run < runs; run++) {
    const built = await buildSquashfs({
      rootfsDir: options.rootfsDir,
      output: nodeOut,
      sourceDateEpoch: options.sourceDateEpoch,
      level,
      runner: options.runner,
      tmpDir: options.workDir,
      route: options.route,
    });
    node.push(built.seconds);
    route = built.route;
    const started = performance.now();
    await options.runner.exec('mksquashfs', handArgs, { env: { SOURCE_DATE_EPOCH: String(options.sourceDateEpoch) } });
    hand.push((performance.now() - started) / 1000);
  }
  const nodeSeconds = median(node);
  const handSeconds = median(hand);
  const nodeBytes = (await stat(nodeOut)).size;
  const handBytes = (await stat(handOut)).size;
  return { level, runs, route, nodeSeconds, handSeconds, ratio: nodeSeconds / handSeconds, nodeBytes, handBytes };
}

