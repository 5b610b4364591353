import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests start real processes (mksquashfs, xorriso, QEMU): give them room.
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Suites share out/fixtures; run files one at a time per worker pool slot.
    pool: 'forks',
    // Temporary files: one directory per run, one inside it per test file, each removed when
    // done, pass or fail (test/setup/).
    globalSetup: ['test/setup/temp-run.ts'],
    setupFiles: ['test/setup/temp-per-file.ts'],
  },
});
