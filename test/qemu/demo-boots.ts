// The product, booted once per test run: the demo ISO built by the pipeline's own stages and
// booted by its own boot-test nodes (`pipeline test demo`), shared by every test file that checks
// a scenario. vitest runs test files in parallel processes; they meet in
// the run's temporary directory, demo-boots/ (a project copy, its cache, the results), and take
// turns under a lock, so each scenario boots once per run however many files ask for it. Each
// run starts afresh (a run's directory goes once its vitest process is gone), so a changed boot
// engine is always the one exercised.
import { existsSync } from 'node:fs';
import { cp, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SCENARIOS } from '../../compile/tests.js';
import type { Scenario } from '../../compile/variant.js';
import type { BootTestResult } from '../../qemu/boot-test.js';
import { cli, jsonEvents } from '../engine/helpers.js';
import { ensureDemoMirror } from '../../fixtures/build-mirror.js';
import { fixturesDir, projectRoot } from '../../fixtures/paths.js';
import { demoProject } from '../../fixtures/demo-project.js';
import { processAlive } from '../../util/process.js';

export { SCENARIOS };

export interface DemoNode {
  status: string;
  /** The node's output directory in the shared cache (result.json, serial.log for a boot test). */
  outputDir?: string;
  /** The node's log of the run that built it. */
  log?: string;
}

export interface DemoBoot extends BootTestResult {
  id: string;
  status: string;
}

export interface DemoBoots {
  /** The shared demo project: read it, never change it (copy it to change the variant). */
  project: string;
  cacheDir: string;
  /** `--mirror demo=...` for this machine's demo mirror. */
  mirrorFlag: string;
  /** The demo ISO as the pipeline built it, in the cache (never rewritten, unlike out/demo/demo.iso). */
  iso: string;
  /** Every node of the runs so far, by id. */
  nodes: Record<string, DemoNode>;
  /** Every boot-test result so far, by node id (`test:demo:bios`, ...). */
  results: Record<string, DemoBoot>;
}

interface SharedState extends Omit<DemoBoots, 'project' | 'cacheDir'> {
  scenarios: Scenario[];
  /** A failed `pipeline test`: every later caller fails with it instead of booting again. */
  failure?: string;
}

/** The demo booted in these scenarios (all by default), each once per test run. */
export async function demoBoots(scenarios: readonly Scenario[] = SCENARIOS): Promise<DemoBoots> {
  await requireFreshBuild();
  // The run's own temporary directory when there is one (test/setup/temp-run.ts removes it when
  // the run ends); else out/fixtures, where a finished run's directory goes at the next start.
  const runTmp = process.env.PIPELINE_TEST_RUN_TMP;
  const root = runTmp ? runTmp : join(fixturesDir(), 'demo-boots');
  if (!runTmp) await removeFinishedRuns(root);
  const runDir = join(root, runTmp ? 'demo-boots' : `run-${process.ppid}`);
  await mkdir(runDir, { recursive: true });
  return withLock(join(runDir, 'lock'), async () => {
    const project = join(runDir, 'project');
    const cacheDir = join(runDir, 'cache');
    const stateFile = join(runDir, 'state.json');
    let state: SharedState;
    if (existsSync(stateFile)) {
      state = JSON.parse(await readFile(stateFile, 'utf8')) as SharedState;
    } else {
      await copyDemoProject(project);
      state = { scenarios: [], mirrorFlag: `demo=${(await ensureDemoMirror()).root}`, iso: '', nodes: {}, results: {} };
    }
    if (state.failure) throw new Error(state.failure);
    const missing = scenarios.filter((s) => !state.scenarios.includes(s));
    if (missing.length) {
      const args = ['test', 'demo', '--json', '--cache-dir', cacheDir, '--mirror', state.mirrorFlag, ...missing.flatMap((s) => ['--scenario', s])];
      const run = await cli(args, project);
      const events = run.stdout.trim() ? jsonEvents(run.stdout) : [];
      for (const e of events) {
        if (e.event === 'node') {
          const output = e.output as string | undefined;
          state.nodes[e.id as string] = { status: e.status as string, outputDir: output && join(cacheDir, 'cas', output), log: e.log as string | undefined };
        } else if (e.event === 'tests') {
          for (const r of e.results as DemoBoot[]) state.results[r.id] = r;
        }
      }
      const isoNode = state.nodes['iso:demo'];
      if (isoNode?.outputDir) state.iso = join(isoNode.outputDir, 'demo.iso');
      if (run.code !== 0) state.failure = `the shared \`pipeline ${args.join(' ')}\` (in ${project}) exited with ${run.code}:\n${run.stderr}`;
      state.scenarios.push(...missing);
      await writeFile(stateFile, JSON.stringify(state, null, 2));
      if (state.failure) throw new Error(state.failure);
    }
    return { project, cacheDir, mirrorFlag: state.mirrorFlag, iso: state.iso, nodes: state.nodes, results: state.results };
  });
}

/** A copy of the demo project under out/fixtures (demoProject makes it in $TMPDIR; move it out at once). */
async function copyDemoProject(dest: string): Promise<void> {
  const temp = await demoProject('pipeline-demo-boots-');
  try {
    await rm(dest, { recursive: true, force: true });
    await cp(temp, dest, { recursive: true });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/** A run's directory stays until its vitest process has gone (later files of the run need it). */
async function removeFinishedRuns(root: string): Promise<void> {
  const entries = await readdir(root).catch(() => [] as string[]);
  for (const entry of entries) {
    const pid = Number(/^run-(\d+)$/.exec(entry)?.[1]);
    if (pid && !processAlive(pid)) await rm(join(root, entry), { recursive: true, force: true });
  }
}


/** One holder at a time across processes: the lock file holds the holder's pid; a dead holder's lock is taken over. */
async function withLock<T>(path: string, body: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await readFile(path, 'utf8').catch(() => ''));
      if (holder && !processAlive(holder)) await rm(path, { force: true });
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await body();
  } finally {
    await rm(path, { force: true });
  }
}

/** `pipeline` runs from dist/: booting a stale build would test yesterday's code. */
async function requireFreshBuild(): Promise<void> {
  const root = projectRoot();
  for (const dir of ['qemu', 'stages', 'compile', 'graph', 'cli']) {
    for (const file of await readdir(join(root, dir), { recursive: true })) {
      if (!file.endsWith('.ts')) continue;
      const source = await stat(join(root, dir, file));
      const built = await stat(join(root, 'dist', dir, file.replace(/\.ts$/, '.js'))).catch(() => undefined);
      if (!built || built.mtimeMs < source.mtimeMs) {
        throw new Error(`dist/${dir}/${file.replace(/\.ts$/, '.js')} is older than ${dir}/${file}: run \`npx tsc -p tsconfig.json\` first (npm test does)`);
      }
    }
  }
}
