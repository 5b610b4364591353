// One measured engine run in a fresh process (so peak memory is this run's alone):
//   node dist/bench/engine-worker.js <project> <cold|noop|leaf|big> [leaf-index]
// Prints {ms, built, cached, maxRssMiB} as JSON.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from '../graph/build.js';
import type { NodeSpec } from '../graph/node.js';
import { Session } from '../graph/session.js';

export const NODES = 2000;
export const LEAVES = 200;

/** A seeded, layered DAG: 200 leaves read a file each; every other node combines two earlier nodes. */
export function syntheticGraph(): NodeSpec[] {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const nodes: NodeSpec[] = [];
  for (let i = 0; i < LEAVES; i++) {
    nodes.push({
      id: `leaf:${i}`,
      kind: 'leaf',
      version: 1,
      files: [`inputs/${i}.txt`],
      async run(ctx) {
        await writeFile(join(ctx.out, 'v'), (await readFile(ctx.file(`inputs/${i}.txt`), 'utf8')).toUpperCase());
      },
    });
  }
  for (let i = LEAVES; i < NODES; i++) {
    const a = Math.floor(rand() * i);
    const b = Math.floor(rand() * i);
    const deps: Record<string, string> = a === b ? { a: nodes[a].id } : { a: nodes[a].id, b: nodes[b].id };
    nodes.push({
      id: `mix:${i}`,
      kind: 'mix',
      version: 1,
      deps,
      params: { i },
      async run(ctx) {
        const { readFile } = await import('node:fs/promises');
        const parts = await Promise.all(Object.keys(deps).map((d) => readFile(join(ctx.dep(d), 'v'), 'utf8')));
        await writeFile(join(ctx.out, 'v'), `${i}:${parts.map((p) => p.length).join(',')}:${parts.join('').slice(0, 64)}`);
      },
    });
  }
  return nodes;
}

/** One node that writes a large file with a real tool: the store must hash and move it in bounded memory. */
function bigGraph(sizeMiB: number): NodeSpec[] {
  return [
    {
      id: 'big',
      kind: 'big',
      version: 1,
      tools: ['head'],
      params: { sizeMiB },
      async run(ctx) {
        await ctx.exec('head', ['-c', `${sizeMiB}M`, '/dev/urandom'], { stdoutFile: join(ctx.out, 'blob') });
      },
    },
  ];
}

async function main() {
  const [project, scenario, arg] = process.argv.slice(2);
  const session = await Session.open({ root: project });
  const nodes = scenario === 'big' ? bigGraph(Number(arg)) : syntheticGraph();
  const started = performance.now();
  const result = await build(session, nodes, { jobs: 2, force: scenario === 'big' });
  const ms = performance.now() - started;
  await session.close();
  let built = 0;
  let cached = 0;
  for (const o of result.outcomes.values()) {
    if (o.status === 'built') built++;
    if (o.status === 'cached') cached++;
  }
  if (!result.ok) throw new Error('benchmark build failed');
  process.stdout.write(JSON.stringify({ ms, built, cached, maxRssMiB: await peakRssMiB() }) + '\n');
}

/**
 * This process's peak resident memory: VmHWM, which starts afresh at exec. getrusage's maxrss
 * does not: it keeps the high-water mark of the forked copy of the parent, so a bench process
 * that had grown (another benchmark before this one) showed as this process's peak.
 */
async function peakRssMiB(): Promise<number> {
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(await readFile('/proc/self/status', 'utf8'));
  if (!kib) throw new Error('no VmHWM in /proc/self/status');
  return Number(kib[1]) / 1024;
}

if (process.argv[1]?.endsWith('engine-worker.js')) await main();
