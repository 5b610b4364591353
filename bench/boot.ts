// Boot-test benchmark (issues 6, 9): per scenario, wall seconds and QEMU CPU seconds from QEMU
// start to the shell marker (medians of 3 forced reruns; CPU time is what the budgets count), the
// longest silence in CPU seconds (what the silence budget must exceed), and the wall time of
// `pipeline test demo` cold (fresh cache: build and boot everything) against cached.
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDemoMirror } from '../fixtures/build-mirror.js';
import { projectRoot } from '../fixtures/paths.js';
import { demoProject } from '../fixtures/demo-project.js';
import { median, round, writeResult } from './stats.js';

const run = promisify(execFile);
const PIPELINE = join(projectRoot(), 'bin', 'pipeline.js');
const SCENARIOS = ['uefi', 'bios', 'uefi-disk', 'bios-disk', 'secure-boot', 'slot-b'];

interface TestsEvent {
  event: 'tests';
  results: {
    id: string;
    markers: { name: string; seconds: number; cpuSeconds: number }[];
    seconds: number;
    starvedSeconds: number;
    longestSilence?: { cpuSeconds: number; wallSeconds: number; endedBy: string };
  }[];
}

/** Per scenario: the samples of each figure. */
type Samples = Record<string, Record<string, number[]>>;

function medians(samples: Samples): Record<string, Record<string, number>> {
  return Object.fromEntries(
    Object.entries(samples).map(([id, figures]) => [id, Object.fromEntries(Object.entries(figures).map(([name, values]) => [name, round(median(values))]))]),
  );
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
  try {
    const flag = ['--mirror', `demo=${mirror.root}`];
    const cold = await pipelineTest(flag, project);
    const cached: number[] = [];
    for (let r = 0; r < 3; r++) cached.push((await pipelineTest(flag, project)).ms);

    const samples: Samples = {};
    const silences: Record<string, { cpuSeconds: number; wallSeconds: number; endedBy: string }> = {};
    for (let r = 0; r < repeats; r++) {
      for (const scenario of SCENARIOS) {
        const { tests } = await pipelineTest(['--scenario', scenario, '--no-cache', ...flag], project);
        for (const result of tests.results) {
          // The shell for the scenarios that reach one, the refusal for the tampered UKI.
          const marker = result.markers.find((m) => m.name === 'shell') ?? result.markers.find((m) => m.name === 'refused');
          if (!marker) continue;
          const figures = (samples[result.id] ??= { seconds: [], cpuSeconds: [], starvedSeconds: [], longestSilenceCpuSeconds: [] });
          figures.seconds.push(marker.seconds);
          figures.cpuSeconds.push(marker.cpuSeconds);
          figures.starvedSeconds.push(result.starvedSeconds);
          figures.longestSilenceCpuSeconds.push(result.longestSilence?.cpuSeconds ?? 0);
          const silence = result.longestSilence;
          if (silence && silence.cpuSeconds > (silences[result.id]?.cpuSeconds ?? -1)) silences[result.id] = silence;
        }
      }
    }

    const result = {
      repeats,
      accel: 'tcg',
      toShellMedian: medians(samples),
      longestSilenceSeen: silences,
      pipelineTestColdMs: round(cold.ms),
      pipelineTestCachedMedianMs: round(median(cached)),
      coldScenarios: cold.tests.results.length,
    };
    const path = await writeResult('boot', result);
    console.log(JSON.stringify(result, null, 2));
    console.log(`written to ${path}`);
    return result;
  } finally {
    await rm(project, { recursive: true, force: true });
  }
}
