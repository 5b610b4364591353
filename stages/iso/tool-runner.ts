// How the ESP and ISO builds run host tools: nodes pass ctx.exec (declared tools, hermetic
// environment, logged); tests and scripts pass runImageToolOnHost, which runs the tool from PATH
// in a similarly clean environment.
import { tmpdir } from 'node:os';
import { execa } from 'execa';

export type ImageTool = 'mkfs.fat' | 'mmd' | 'mcopy' | 'xorriso';

export interface ImageToolOptions {
  /** Extra environment (SOURCE_DATE_EPOCH, MTOOLS_*). */
  env?: Record<string, string>;
  cwd?: string;
}

/** Runs a host tool; a non-zero exit must throw. */
export type ImageToolRunner = (tool: ImageTool, args: string[], options?: ImageToolOptions) => Promise<unknown>;

export class ImageToolError extends Error {
  override name = 'ImageToolError';
}

export const runImageToolOnHost: ImageToolRunner = async (tool, args, options = {}) => {
  const result = await execa(tool, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8', TZ: 'UTC', HOME: tmpdir(), ...options.env },
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    all: true,
  });
  if (result.failed) {
    const why = result.exitCode !== undefined ? `exit code ${result.exitCode}` : result.shortMessage;
    throw new ImageToolError(`${tool} ${args.join(' ')} failed (${why}):\n${String(result.all ?? '').trim()}`);
  }
  return result;
};
