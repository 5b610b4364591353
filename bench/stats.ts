// Where benchmark results are written (and the medians they quote, from util/stats.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../fixtures/paths.js';

export { median, round } from '../util/stats.js';

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
