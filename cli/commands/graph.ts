// `pipeline graph <target>...` (or --all): the DAG, without running anything, each node marked
// cached, stale or never built. Several targets make one graph, a node they share shown once.
// Its arguments, options and help are in ../definitions.ts.
import { planGraph } from '../../graph/plan.js';
import { GRAPH_FORMATS, renderPlan, type GraphFormat } from '../../graph/render.js';
import { EXIT, UsageError, type Command } from '../command.js';
import { openTargets } from '../target.js';

export const graphCommand: Command = {
  async run(args) {
    const format = (args.values.format as string | undefined) ?? 'text';
    if (!GRAPH_FORMATS.includes(format as GraphFormat)) throw new UsageError(`--format must be one of ${GRAPH_FORMATS.join(', ')}, got '${format}'`);
    const { graph, session } = await openTargets(args);
    try {
      const plan = await planGraph(session, graph);
      process.stdout.write(renderPlan(plan, format as GraphFormat) + '\n');
    } finally {
      await session.close();
    }
    return EXIT.ok;
  },
};
