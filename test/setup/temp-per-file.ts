// vitest setupFiles: each test file gets a TMPDIR of its own inside the run's, removed when the
// file ends, pass or fail, so no test leaves anything in /tmp (or in the run's directory while
// the run goes on), whatever the test made there: its own directories, the projects it built,
// what the processes it started wrote.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const run = process.env.PIPELINE_TEST_RUN_TMP;
if (run) {
  const dir = mkdtempSync(join(run, 'file-'));
  process.env.TMPDIR = dir;
  afterAll(() => {
    process.env.TMPDIR = run;
    rmSync(dir, { recursive: true, force: true });
  });
}
