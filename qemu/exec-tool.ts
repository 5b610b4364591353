// How the image helpers (FAT, GPT, ISO extraction) run host tools: through the node's
// ctx.exec inside the engine (logged, hermetic), through execa in tests and scripts.
import { hostRunner } from '../stages/shared/host-runner.js';
import type { RunContext } from '../graph/node.js';

export interface ToolRunOptions {
  cwd?: string;
  /** Text for stdin (sfdisk reads its script there). */
  input?: string;
}

export type ExecTool = (tool: string, args: string[], options?: ToolRunOptions) => Promise<{ stdout: string }>;

export class ToolFailedError extends Error {
  override name = 'ToolFailedError';
}

/** mtools refuses FAT images whose geometry it finds odd unless told not to check. */
const TOOL_ENV = { MTOOLS_SKIP_CHECK: '1' };

const host = hostRunner({ env: TOOL_ENV });

/** Runs tools found on PATH, outside the engine (tests and scripts). */
export const hostExec: ExecTool = async (tool, args, options = {}) => {
  try {
    return await host.exec(tool, args, { cwd: options.cwd, input: options.input, captureStdout: true });
  } catch (err) {
    throw new ToolFailedError((err as Error).message);
  }
};

/** Runs declared tools through the engine (the node must list them in `tools`). */
export function contextExec(ctx: RunContext): ExecTool {
  return async (tool, args, options = {}) =>
    ctx.exec(tool, args, { cwd: options.cwd, input: options.input, env: TOOL_ENV, captureStdout: true });
}
