// Engine benchmark: a synthetic graph of 2,000 nodes, cold build, no-op rebuild and
// one-leaf-changed rebuild (medians), the engine's overhead per cached node, and peak memory,
// including a run that stores a 1 GiB output (hashing and publishing must stream); and the
// start-up of the command itself as a whole process (--help, --version, a no-op demo build:
// engine-startup.ts).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { LEAVES, NODES } from './engine-worker.js';
import { benchStartup } from './engine-startup.js';
import { median, round, writeResult } from './stats.js';

const run = promisify(execFile);
const WORKER = fileURLToPath(new URL('./engine-worker.js', import.meta.url));

interface Run {
  /** Wall time of the whole process (start-up, loading, build). */
  processMs: number;
  ms: number;
  built: number;
  cached: number;
  maxRssMiB: number;
}

async function measure(project: string, scenario: string, arg = ''): Promise<Run> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, [WORKER, project, scenario, arg], { maxBuffer: 1 << 20 });
  return { ...(JSON.parse(stdout) as Omit<Run, 'processMs'>), processMs: performance.now() - started };
}

async function freshProject(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pipeline-bench-'));
  await mkdir(join(dir, 'inputs'));
  for (let i = 0; i < LEAVES; i++) await writeFile(join(dir, 'inputs', `${i}.txt`), `input number ${i}\n`);
  return dir;
}

export async function benchEngine(repeats = 5): Promise<object> {
  const cold: Run[] = [];
  const noop: Run[] = [];
  const leaf: Run[] = [];
  for (let r = 0; r < repeats; r++) {
    const project = await freshProject();
    cold.push(await measure(project, 'cold'));
    noop.push(await measure(project, 'noop'));
    await writeFile(join(project, 'inputs', '7.txt'), `edited ${r}\n`);
    leaf.push(await measure(project, 'leaf'));
    await rm(project, { recursive: true, force: true });
  }
  const bigProject = await freshProject();
  const big = await measure(bigProject, 'big', '1024');
  await rm(bigProject, { recursive: true, force: true });

  const startup = await benchStartup();

  const noopMs = median(noop.map((r) => r.ms));
  const result = {
    nodes: NODES,
    repeats,
    coldMs: round(median(cold.map((r) => r.ms))),
    noopMs: round(noopMs),
    noopProcessMs: round(median(noop.map((r) => r.processMs))),
    oneLeafChangedMs: round(median(leaf.map((r) => r.ms))),
    oneLeafChangedRebuilt: leaf[0].built,
    overheadPerCachedNodeMs: round(noopMs / NODES, 3),
    peakRssMiB: { cold: round(Math.max(...cold.map((r) => r.maxRssMiB))), noop: round(Math.max(...noop.map((r) => r.maxRssMiB))), oneGiBOutput: round(big.maxRssMiB) },
    oneGiBOutputMs: round(big.ms),
    targets: { noopMs: '< 1000', overheadPerCachedNodeMs: '< 1' },
    startup,
  };
  const path = await writeResult('engine', result);
  console.log(JSON.stringify(result, null, 2));
  console.log(`written to ${path}`);
  return result;
}
