// Commands that only look (graph, explain) compile the target and open the session the same way.
// They show the boot-test nodes too when the firmware to key them on is installed.
import { compileTarget, type CompiledTarget } from '../compile/index.js';
import { ConfigError } from '../graph/errors.js';
import { Session } from '../graph/session.js';
import { PIPELINE_FILE_ROOTS } from '../stages/pipeline-files.js';
import { toolHints } from '../stages/host-tools.js';
import { validateGraph, type Graph } from '../graph/validate.js';
import type { ParsedArgs } from './command.js';
import { cacheDirFrom } from './common-options.js';
import { UsageError } from './command.js';

export async function openTarget(args: ParsedArgs): Promise<{ compiled: CompiledTarget; graph: Graph; session: Session }> {
  const target = args.positionals[0];
  if (!target) throw new UsageError('missing <target>: a variant name or a path to a variant file');
  const base = { mirrorFlags: (args.values.mirror as string[] | undefined) ?? [], configFile: args.values.config as string | undefined };
  let compiled: CompiledTarget;
  try {
    compiled = await compileTarget(target, { ...base, tests: true });
  } catch (err) {
    // Without firmware (or enrollment keys) the boot tests cannot be keyed: show the rest.
    if (!(err instanceof ConfigError)) throw err;
    compiled = await compileTarget(target, base);
  }
  const graph = validateGraph(compiled.nodes);
  const session = await Session.open({ root: compiled.loaded.root, cacheDir: cacheDirFrom(args), toolHints: toolHints(), fileRoots: PIPELINE_FILE_ROOTS });
  return { compiled, graph, session };
}
