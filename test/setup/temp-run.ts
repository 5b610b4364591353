// vitest globalSetup: the whole run gets one temporary directory (TMPDIR for every worker and
// every process the tests start), removed at the end, pass or fail. A run that was killed left
// its directory behind: the next run removes those of runs whose process is gone.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../../util/process.js';

const PREFIX = 'pipeline-tests-';
const OWNER = 'owner.pid';


async function removeAbandoned(base: string): Promise<void> {
  for (const name of await readdir(base).catch(() => [] as string[])) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(await readFile(join(base, name, OWNER), 'utf8').catch(() => '0'));
    if (!pid || !processAlive(pid)) await rm(join(base, name), { recursive: true, force: true });
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  const base = tmpdir();
  await removeAbandoned(base);
  const run = await mkdtemp(join(base, PREFIX));
  await writeFile(join(run, OWNER), String(process.pid));
  process.env.TMPDIR = run;
  process.env.PIPELINE_TEST_RUN_TMP = run;
  return async () => {
    process.env.TMPDIR = base;
    await rm(run, { recursive: true, force: true });
  };
}
