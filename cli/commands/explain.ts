// `pipeline explain <target> <node-id>`: why a node will run, or why it ran last time.
// Its arguments, options and help are in ../definitions.ts.
import { ConfigError } from '../../graph/errors.js';
import { explainNode, renderExplanation } from '../../graph/explain.js';
import { planGraph } from '../../graph/plan.js';
import { closest } from '../../util/did-you-mean.js';
import { closure } from '../../graph/validate.js';
import { EXIT, UsageError, type Command } from '../command.js';
import { openTarget } from '../target.js';

export const explainCommand: Command = {
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
