// Nothing a test run makes stays in the temporary directory, also when tests fail: the suite's own
// vitest setup (test/setup/) is run over a test file that makes temporary files and fails.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { projectRoot } from '../../fixtures/paths.js';

const run = promisify(execFile);

it('a failing test file leaves nothing in TMPDIR', async () => {
  // A directory of its own, so this check sees only what the inner run leaves.
  const base = await mkdtemp(join(tmpdir(), 'cleanup-check-'));
  try {
    const root = projectRoot();
    const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
    const outcome = await run(process.execPath, [vitest, 'run', '--root', root, '--config', join(root, 'test/fixtures/temp-leak/vitest.config.ts')], {
      cwd: root,
      env: { ...process.env, TMPDIR: base, PIPELINE_TEST_RUN_TMP: '' },
    }).then(
      () => 0,
      (err: { code?: number }) => err.code ?? -1,
    );
    expect(outcome).toBe(1); // the inner run saw its failing test
    expect(await readdir(base)).toEqual([]);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}, 120_000);
