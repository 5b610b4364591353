// How the ESP and ISO builds run host tools: nodes pass ctx.exec (declared tools, hermetic
// environment, logged); tests and scripts pass runImageToolOnHost, which runs the tool from PATH
// in a similarly clean environment.
import { tmpdir } from 'node:os';
import { hostRunner } from '../host-runner.js';

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

const host = hostRunner({ env: { HOME: tmpdir() } });

export const runImageToolOnHost: ImageToolRunner = async (tool, args, options = {}) => {
  try {
    return await host.exec(tool, args, { cwd: options.cwd, env: options.env });
  } catch (err) {
    throw new ImageToolError((err as Error).message);
  }
};
