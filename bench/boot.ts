// Boot-test benchmark (issue 6): seconds from QEMU start to the shell marker per scenario (median
// of 3 forced reruns), and the wall time of `pipeline test demo` cold (fresh cache: build and boot
// everything) against cached (nothing changed: every result comes from the cache).
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDemoMirror } from '../test/fixtures/build-mirror.js';
import { projectRoot } from '../test/fixtures/paths.js';
import { demoProject } from '../test/system/demo-project.js';
import { median, round, writeResult } from './stats.js';

const run = promisify(execFile);
const PIPELINE = join(projectRoot(), 'bin', 'pipeline.js');
const SCENARIOS = ['uefi', 'bios', 'uefi-disk', 'bios-disk', 'secure-boot', 'slot-b'];

interface TestsEvent {
  event: 'tests';
  results: { id: string; markers: { name: string; seconds: number }[]; seconds: number }[];
}

async function pipelineTest(args: string[], cwd: string): Promise<{ ms: number; tests: TestsEvent }> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, [PIPELINE, 'test', 'demo', '--json', ...args], { cwd, maxBuffer: 64 << 20 });
  const ms = performance.now() - started;
  const tests = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((e) => e.event === 'tests') as TestsEvent;
  return { ms, tests };
}

export async function benchBoot(repeats = 3): Promise<object> {
  const mirror = await ensureDemoMirror();
  const project = await demoProject('pipeline-bench-boot-');
  const flag = ['--mirror', `demo=${mirror.root}`];

  const cold = await pipelineTest(flag, project);
  const cached: number[] = [];
  for (let r = 0; r < 3; r++) cached.push((await pipelineTest(flag, project)).ms);

  const toShell: Record<string, number[]> = {};
  const refused: number[] = [];
  for (let r = 0; r < repeats; r++) {
    for (const scenario of SCENARIOS) {
      const { tests } = await pipelineTest(['--scenario', scenario, '--no-cache', ...flag], project);
      for (const result of tests.results) {
        const shell = result.markers.find((m) => m.name === 'shell');
        if (shell) (toShell[result.id] ??= []).push(shell.seconds);
        const refusal = result.markers.find((m) => m.name === 'refused');
        if (refusal) refused.push(refusal.seconds);
      }
    }
  }
  await rm(join(project, 'out'), { recursive: true, force: true });

  const result = {
    repeats,
    accel: 'tcg',
    secondsToShellMedian: Object.fromEntries(Object.entries(toShell).map(([id, s]) => [id, round(median(s))])),
    secondsToAccessDeniedMedian: refused.length ? round(median(refused)) : null,
    pipelineTestColdMs: round(cold.ms),
    pipelineTestCachedMedianMs: round(median(cached)),
    coldScenarios: cold.tests.results.length,
  };
  const path = await writeResult('boot', result);
  console.log(JSON.stringify(result, null, 2));
  console.log(`written to ${path}`);
  return result;
}
