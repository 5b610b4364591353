// A ToolRunner for use outside the engine (tests, benchmarks): runs the tool from PATH.
import { execa } from 'execa';
import type { ToolRunner } from './build.js';

export const runHostTool: ToolRunner = async (tool, args, options = {}) => {
  const child = execa(tool, args, {
    stdin: options.input ? 'pipe' : 'ignore',
    stdout: options.stdoutFile ? { file: options.stdoutFile } : 'pipe',
    stderr: 'pipe',
    env: { LC_ALL: 'C.UTF-8' },
  });
  options.input?.pipe(child.stdin!);
  await child;
};
