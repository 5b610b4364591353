// Start-up of the `pipeline` command as a whole process (issue #9, item 8), part of the engine
// benchmark: `--help`, `--version` and a no-op build of the demo (everything cached), run as a
// user runs them (`node bin/pipeline.js ...`, no npx), next to `node -e 0` (Node's own start, the
// floor) and to the same no-op build from tsc's output without the bundle (dist/cli/main.js), to
// show what bundling is worth. The commands take turns, round after round, so a noisy machine
// slows all of them alike; the first round only warms the page cache and is not counted. Besides
// the medians, each command's time above Node's own start in the same round (median of the
// differences): the part that is ours, steadier than the whole when the machine is busy.
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDemoMirror } from '../fixtures/build-mirror.js';
import { projectRoot } from '../fixtures/paths.js';
import { demoProject } from '../fixtures/demo-project.js';
import { median, round } from './stats.js';

const run = promisify(execFile);

export const STARTUP_TARGETS = { helpMs: '< 150', versionMs: '< 150', noopDemoBuildMs: '< 300' };

export interface StartupResult {
  rounds: number;
  /** Median wall time of each whole process, ms. */
  nodeStartMs: number;
  helpMs: number;
  versionMs: number;
  noopDemoBuildMs: number;
  noopDemoBuildUnbundledMs: number;
  /** Median over rounds of (the command - node -e 0 in the same round), ms. */
  aboveNodeStartMs: { help: number; version: number; noopDemoBuild: number; noopDemoBuildUnbundled: number };
  commands: Record<string, string>;
  targets: typeof STARTUP_TARGETS;
}

export async function benchStartup(rounds = 21): Promise<StartupResult> {
  const root = projectRoot();
  const bin = join(root, 'bin', 'pipeline.js');
  const mirror = await ensureDemoMirror();
  const project = await demoProject('pipeline-bench-startup-');
  const build = ['build', 'demo', '--mirror', `demo=${mirror.root}`];
  // Lock and build once: every later build is a no-op.
  await run(process.execPath, [bin, ...build], { cwd: project, maxBuffer: 64 << 20 });

  const commands: Record<string, string[]> = {
    nodeStartMs: ['-e', '0'],
    helpMs: [bin, '--help'],
    versionMs: [bin, '--version'],
    noopDemoBuildMs: [bin, ...build],
    noopDemoBuildUnbundledMs: [join(root, 'dist', 'cli', 'main.js'), ...build],
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, args] of Object.entries(commands)) {
      const started = performance.now();
      await run(process.execPath, args, { cwd: project, maxBuffer: 64 << 20 });
      if (r > 0) times[name].push(performance.now() - started);
    }
  }
  await rm(project, { recursive: true, force: true });
  const m = (name: string) => round(median(times[name]));
  const above = (name: string) => round(median(times[name].map((t, i) => t - times.nodeStartMs[i])));
  return {
    rounds: rounds - 1,
    nodeStartMs: m('nodeStartMs'),
    helpMs: m('helpMs'),
    versionMs: m('versionMs'),
    noopDemoBuildMs: m('noopDemoBuildMs'),
    noopDemoBuildUnbundledMs: m('noopDemoBuildUnbundledMs'),
    aboveNodeStartMs: { help: above('helpMs'), version: above('versionMs'), noopDemoBuild: above('noopDemoBuildMs'), noopDemoBuildUnbundled: above('noopDemoBuildUnbundledMs') },
    commands: Object.fromEntries(
      Object.entries(commands).map(([name, args]) => [name, ['node', ...args].join(' ').replaceAll(root + '/', '').replace(mirror.root, 'out/fixtures/alpine')]),
    ),
    targets: STARTUP_TARGETS,
  };
}
