// `pipeline build <target>`: compile the variant, run the graph, publish the artifacts.
import { join, relative } from 'node:path';
import { build, type BuildOptions, type BuildResult } from '../../graph/build.js';
import type { BuildEvent, EventSink } from '../../graph/events.js';
import { Session } from '../../graph/session.js';
import { TraceRecorder } from '../../graph/trace.js';
import { validateGraph } from '../../graph/validate.js';
import { compileTarget } from '../../compile/index.js';
import { publishArtifacts } from '../artifacts.js';
import { EXIT, type CommandDef, type ParsedArgs } from '../command.js';
import { cacheDirFrom, cacheDirOption, jobsFrom, jobsOption, jsonOption } from '../common-options.js';
import { failureReport } from '../reporters/failure.js';
import { duration } from '../reporters/format.js';
import { plainReporter } from '../reporters/plain.js';
import { TtyReporter } from '../reporters/tty.js';
import { interruptController } from '../signals.js';

export const buildOptions = [
  jobsOption,
  { name: 'keep-going', type: 'boolean', description: 'after a failure, let independent nodes finish' },
  { name: 'no-cache', type: 'boolean', description: 'rerun every node even when the cache has it (results are still stored)' },
  jsonOption,
  { name: 'trace', type: 'string', value: 'FILE', description: 'write a Chrome trace-event JSON profile (open it in Perfetto)' },
  cacheDirOption,
] as const satisfies CommandDef['options'];

export const buildCommand: CommandDef = {
  name: 'build',
  summary: 'build a variant: run every node that is not cached, then copy the artifacts to out/<variant>/',
  args: [{ name: 'target', description: 'variant name or path to a variant file' }],
  options: [...buildOptions],
  async run(args) {
    const outcome = await runBuild(args, {});
    return outcome.exitCode;
  },
};

export interface RunBuildOptions {
  /** Force these nodes to rerun (e.g. `pipeline test --no-cache` on test nodes). */
  force?: BuildOptions['force'];
}

export async function runBuild(args: ParsedArgs, extra: RunBuildOptions): Promise<{ exitCode: number; result?: BuildResult; artifacts: Record<string, string> }> {
  const target = args.positionals[0];
  const compiled = await compileTarget(target);
  const { root, variant } = compiled.loaded;
  // A broken graph is reported before the cache directory is even created.
  const graph = validateGraph(compiled.nodes);
  const session = await Session.open({ root, cacheDir: cacheDirFrom(args) });
  const json = args.values.json === true;
  const sinks: EventSink[] = [];
  let tty: TtyReporter | undefined;
  if (json) sinks.push((e) => process.stdout.write(JSON.stringify(e) + '\n'));
  else if (process.stderr.isTTY) sinks.push((tty = new TtyReporter(process.stderr)).onEvent);
  else sinks.push(plainReporter((line) => process.stderr.write(line + '\n')));
  const trace = args.values.trace ? new TraceRecorder() : undefined;
  if (trace) sinks.push(trace.onEvent);
  const emit = (e: BuildEvent) => sinks.forEach((s) => s(e));

  const interrupt = interruptController(() => process.stderr.write('\ninterrupted: stopping running nodes (Ctrl-C again to exit at once)\n'));
  let result: BuildResult;
  try {
    result = await build(session, graph, {
      jobs: jobsFrom(args),
      keepGoing: args.values['keep-going'] === true,
      force: args.values['no-cache'] === true ? true : extra.force,
      signal: interrupt.signal,
      onEvent: emit,
    });
  } finally {
    interrupt.dispose();
    tty?.stop();
    await session.close();
  }
  if (trace) await trace.write(args.values.trace as string);

  const artifacts = result.ok ? await publishArtifacts(join(root, 'out', variant.name), compiled.artifacts, result.outcomes) : {};
  const counts = { built: 0, cached: 0, failed: 0, skipped: 0 };
  for (const o of result.outcomes.values()) counts[o.status]++;
  emit({ event: 'summary', ...counts, ms: result.ms, artifacts });

  if (!result.ok) process.stderr.write(failureReport(result, root) + '\n');
  if (!json) {
    const verdict = result.ok ? 'built' : result.interrupted ? 'interrupted' : 'FAILED';
    process.stderr.write(
      `${variant.name} ${verdict} in ${duration(result.ms)}: ${counts.built} built, ${counts.cached} cached, ${counts.failed} failed, ${counts.skipped} skipped\n`,
    );
    for (const [name, path] of Object.entries(artifacts)) process.stdout.write(`${name}: ${relative(process.cwd(), path) || path}\n`);
  }
  const exitCode = result.ok ? EXIT.ok : result.interrupted ? EXIT.interrupted : EXIT.failed;
  return { exitCode, result, artifacts };
}
