// A recipe's acquire, build and install, run in a process of its own (`node runner.js JOB.json`):
// the interpreter is synchronous, so running it in the engine's process would stall every other
// node while a compiler runs. The job names the recipe files, the sandbox's directories and the
// fetched sources; the result (or the error, with the Rhai call stack) is written to JOB.result.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RhaiEngine, RhaiError, toJs, type RhaiValue } from '../rhai/index.js';
import { RECIPE_PHASES, SANDBOX_PATHS } from './api.js';
import { hostFunctions, type FetchedRelease, type FetchedSource } from './host-functions.js';
import { parseRecipeFile } from './load.js';
import { prepareSandbox, sandboxEnv, writesOutsideSandboxDirs, type SandboxTools } from './sandbox.js';

export interface RecipeJob {
  name: string;
  /** The chain, bases first: project-relative path and text. */
  files: { path: string; text: string }[];
  /** The build root (lower layer of the sandbox). */
  lower: string;
  /** Work directory: the sandbox's build/, out/, recipe/ and overlay live here. */
  work: string;
  sources: FetchedSource[];
  releases: FetchedRelease[];
  tools: SandboxTools;
  epoch: number;
  nproc: number;
  arch: string;
  maxOperations: number;
}

export interface RecipeJobResult {
  ok: boolean;
  /** The ctx after install, as JSON. */
  ctx?: unknown;
  /** What went wrong, with the recipe's location and the Rhai call stack. */
  error?: string;
  phases: { phase: string; seconds: number; skipped: boolean }[];
}

export const RUNNER_SCRIPT = fileURLToPath(import.meta.url);

export function runRecipeJob(job: RecipeJob, log: (line: string) => void): RecipeJobResult {
  const phases: RecipeJobResult['phases'] = [];
  const sandbox = { lower: job.lower, work: job.work, tools: job.tools, env: sandboxEnv(job), onOutput: (text: string) => process.stdout.write(text) };
  prepareSandbox(sandbox);
  const dirs = { build: `${job.work}/build`, out: `${job.work}/out`, recipe: `${job.work}/recipe` };
  const engine = new RhaiEngine({
    functions: hostFunctions({ dirs, sandbox, sources: job.sources, releases: job.releases, log }),
    constants: { BUILD_DIR: SANDBOX_PATHS.build, OUT: SANDBOX_PATHS.out, RECIPE_DIR: SANDBOX_PATHS.recipe, ARCH: job.arch, NPROC: BigInt(job.nproc) },
    maxOperations: job.maxOperations,
  });
  try {
    for (const file of job.files) engine.run(parseRecipeFile(file.path, file.text).program);
    let ctx: RhaiValue = engine.getGlobal('ctx');
    for (const { phase, probe } of RECIPE_PHASES) {
      const started = performance.now();
      if (engine.hasFunction(probe, 1) && engine.call(probe, [ctx]) === true) {
        log(`${phase}: skipped (${probe} says done)`);
        phases.push({ phase, seconds: 0, skipped: true });
        continue;
      }
      if (!engine.hasFunction(phase, 1)) continue;
      log(`${phase}: started`);
      const returned = engine.call(phase, [ctx]);
      // Maps pass by value: a phase hands on its changes by returning the map.
      if (returned instanceof Map) ctx = returned;
      const seconds = (performance.now() - started) / 1000;
      log(`${phase}: done in ${seconds.toFixed(1)} s`);
      phases.push({ phase, seconds, skipped: false });
    }
    const outside = writesOutsideSandboxDirs(sandbox);
    if (outside.length > 0) {
      throw new Error(
        `the build wrote outside ${SANDBOX_PATHS.build}, ${SANDBOX_PATHS.out} and ${SANDBOX_PATHS.tmp}: ${outside.join(', ')}. ` +
          `Only what is installed under $OUT reaches the system (install with DESTDIR=$OUT or into $OUT/...)`,
      );
    }
    return { ok: true, ctx: toJs(ctx), phases };
  } catch (err) {
    const message = err instanceof RhaiError ? err.format() : (err as Error).message;
    return { ok: false, error: message, phases };
  }
}

if (process.argv[1] === RUNNER_SCRIPT) {
  const jobFile = process.argv[2];
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as RecipeJob;
  const result = runRecipeJob(job, (line) => process.stdout.write(`[recipe ${job.name}] ${line}\n`));
  writeFileSync(`${jobFile}.result.json`, JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}
