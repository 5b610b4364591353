// `pipeline build <target>`: compile the variant, run the graph, publish the artifacts.
// Its arguments, options and help are in ../definitions.ts.
import type { Command } from '../command.js';
import { runTarget } from '../run.js';

export const buildCommand: Command = {
  async run(args) {
    const outcome = await runTarget({ args, compile: {}, targets: (c) => c.buildTargets, relock: args.values['update-lock'] === true });
    return outcome.exitCode;
  },
};
