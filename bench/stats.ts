// Numbers for benchmarks: medians (these machines are noisy), and where results are written.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../test/fixtures/paths.js';

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Writes bench/results/<name>.json with the command that produced it and the machine it ran on. */
export async function writeResult(name: string, result: object): Promise<string> {
  const dir = join(projectRoot(), 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const os = await import('node:os');
  const path = join(dir, `${name}.json`);
  const record = {
    bench: name,
    command: `npm run bench -- ${name}`,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    ...result,
  };
  await writeFile(path, JSON.stringify(record, null, 2) + '\n');
  return path;
}
