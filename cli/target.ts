// Commands that only look (graph, explain) compile the target and open the session the same way.
import { compileTarget, type CompiledTarget } from '../compile/index.js';
import { Session } from '../graph/session.js';
import { validateGraph, type Graph } from '../graph/validate.js';
import type { ParsedArgs } from './command.js';
import { cacheDirFrom } from './common-options.js';
import { UsageError } from './command.js';

export async function openTarget(args: ParsedArgs): Promise<{ compiled: CompiledTarget; graph: Graph; session: Session }> {
  const target = args.positionals[0];
  if (!target) throw new UsageError('missing <target>: a variant name or a path to a variant file');
  const compiled = await compileTarget(target);
  const graph = validateGraph(compiled.nodes);
  const session = await Session.open({ root: compiled.loaded.root, cacheDir: cacheDirFrom(args) });
  return { compiled, graph, session };
}
