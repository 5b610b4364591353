// `pipeline graph <target>`: the DAG, without running anything, each node marked cached, stale
// or never built.
import { planGraph } from '../../graph/plan.js';
import { GRAPH_FORMATS, renderPlan, type GraphFormat } from '../../graph/render.js';
import { EXIT, UsageError, type CommandDef } from '../command.js';
import { cacheDirOption } from '../common-options.js';
import { sourceOptions } from './build.js';
import { openTarget } from '../target.js';

export const graphCommand: CommandDef = {
  name: 'graph',
  summary: 'show the build graph of a variant without running it, with each node cached, stale or never built',
  args: [{ name: 'target', description: 'variant name or path to a variant file' }],
  options: [
    { name: 'format', type: 'string', value: 'FORMAT', description: `output format: ${GRAPH_FORMATS.join(', ')} (default: text)` },
    cacheDirOption,
    ...sourceOptions.filter((o) => o.name !== 'update-lock'),
  ],
  async run(args) {
    const format = (args.values.format as string | undefined) ?? 'text';
    if (!GRAPH_FORMATS.includes(format as GraphFormat)) throw new UsageError(`--format must be one of ${GRAPH_FORMATS.join(', ')}, got '${format}'`);
    const { graph, session } = await openTarget(args);
    try {
      const plan = await planGraph(session, graph);
      process.stdout.write(renderPlan(plan, format as GraphFormat) + '\n');
    } finally {
      await session.close();
    }
    return EXIT.ok;
  },
};
