// How the image helpers (FAT, GPT, ISO extraction) run host tools: through the node's
// ctx.exec inside the engine (logged, hermetic), through execa in tests and scripts.
import { execa } from 'execa';
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

/** Runs tools found on PATH with this process's environment. */
export const hostExec: ExecTool = async (tool, args, options = {}) => {
  const result = await execa(tool, args, {
    cwd: options.cwd,
    input: options.input,
    env: TOOL_ENV,
    reject: false,
  });
  if (result.failed) {
    throw new ToolFailedError(
      `${result.command} failed (${result.exitCode !== undefined ? `exit code ${result.exitCode}` : result.shortMessage}): ` +
        `${String(result.stderr).trim() || String(result.stdout).trim() || 'no output'}`,
    );
  }
  return { stdout: String(result.stdout) };
};

/** Runs declared tools through the engine (the node must list them in `tools`). */
export function contextExec(ctx: RunContext): ExecTool {
  return async (tool, args, options = {}) =>
    ctx.exec(tool, args, { cwd: options.cwd, input: options.input, env: TOOL_ENV, captureStdout: true });
}
