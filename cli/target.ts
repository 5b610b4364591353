// Commands that only look (graph, explain) compile the target, with its boot tests, and open the
// session the same way.
import { compileTarget, type CompiledTarget } from '../compile/index.js';
import { loadCompileInputs } from '../compile/load.js';
import type { Session } from '../graph/session.js';
import { validateGraph, type Graph } from '../graph/validate.js';
import type { ParsedArgs } from './command.js';
import { UsageError } from './command.js';
import { openSession } from './run.js';

export async function openTarget(args: ParsedArgs): Promise<{ compiled: CompiledTarget; graph: Graph; session: Session }> {
  const target = args.positionals[0];
  if (!target) throw new UsageError('missing <target>: a variant name or a path to a variant file');
  const inputs = await loadCompileInputs(target, { mirrorFlags: (args.values.mirror as string[] | undefined) ?? [], configFile: args.values.config as string | undefined });
  // Boot tests included: nodes whose firmware or keys are missing show it as their problem.
  const compiled = await compileTarget(inputs, { tests: true });
  const graph = validateGraph(compiled.nodes);
  const session = await openSession(compiled.loaded.root, args);
  return { compiled, graph, session };
}
