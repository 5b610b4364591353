// `pipeline explain <target> <node-id>`: why a node will run, or why it ran last time.
import { ConfigError } from '../../graph/errors.js';
import { explainNode, renderExplanation } from '../../graph/explain.js';
import { planGraph } from '../../graph/plan.js';
import { closest } from '../../util/did-you-mean.js';
import { closure } from '../../graph/validate.js';
import { EXIT, UsageError, type CommandDef } from '../command.js';
import { cacheDirOption, jsonOption } from '../common-options.js';
import { sourceOptions } from './build.js';
import { openTarget } from '../target.js';

export const explainCommand: CommandDef = {
  name: 'explain',
  summary: 'say why a node will run (or why it ran last time): what in its inputs changed, down to the first cause',
  details:
    'Compares the node\'s key material (files, parameters, tools, environment, kind version, dependency outputs)\n' +
    'with its last recorded build, and follows changed dependencies down to the change that started it.',
  args: [
    { name: 'target', description: 'variant name or path to a variant file' },
    { name: 'node-id', description: "a node id as `pipeline graph` shows it (e.g. 'squashfs:demo')" },
  ],
  options: [jsonOption, cacheDirOption, ...sourceOptions.filter((o) => o.name !== 'update-lock')],
  async run(args) {
    const id = args.positionals[1];
    if (!id) throw new UsageError('missing <node-id>; `pipeline graph <target>` lists the node ids');
    const { graph, session } = await openTarget(args);
    try {
      if (!graph.nodes.has(id)) {
        const near = closest(id, [...graph.nodes.keys()]);
        throw new ConfigError(`no node '${id}' in the graph of ${args.positionals[0]}${near ? `; did you mean '${near}'?` : ''} (\`pipeline graph ${args.positionals[0]}\` lists them)`);
      }
      const plan = await planGraph(session, graph, closure(graph, [id]));
      const explanation = explainNode(id, plan);
      process.stdout.write((args.values.json ? JSON.stringify(explanation) : renderExplanation(explanation)) + '\n');
    } finally {
      await session.close();
    }
    return EXIT.ok;
  },
};
