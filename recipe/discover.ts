// The github_download_release calls a recipe's acquire(ctx) makes, found by running it with every
// other host function inert: the arguments usually come from ctx, so reading the text is not enough.
import { RhaiEngine, type HostFunction, type RhaiProgram } from '../rhai/index.js';
import { RECIPE_FUNCTIONS, SANDBOX_PATHS } from './api.js';

export interface ReleaseCall {
  repo: string;
  version: string;
  pattern: string;
}

export function releaseCalls(programs: RhaiProgram[]): ReleaseCall[] {
  const calls: ReleaseCall[] = [];
  const inert: Record<string, HostFunction> = {};
  for (const name of Object.keys(RECIPE_FUNCTIONS)) inert[name] = () => (name.startsWith('is_') || name === 'exists' ? false : name === 'glob_list' ? [] : name === 'shell_status' ? 0n : '');
  inert.github_download_release = ([repo, version, pattern]) => {
    calls.push({ repo: String(repo), version: String(version), pattern: String(pattern) });
    return `${SANDBOX_PATHS.build}/release`;
  };
  const engine = new RhaiEngine({
    functions: inert,
    constants: { BUILD_DIR: SANDBOX_PATHS.build, OUT: SANDBOX_PATHS.out, RECIPE_DIR: SANDBOX_PATHS.recipe, ARCH: 'x86_64', NPROC: 1n },
    maxOperations: 1_000_000,
  });
  for (const program of programs) engine.run(program);
  if (engine.hasFunction('acquire', 1)) engine.call('acquire', [engine.getGlobal('ctx')]);
  return calls;
}
