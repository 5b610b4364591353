// `pipeline build <target>...` (or --all): compile the variants, run their graph (one graph: nodes
// they share run once), publish each variant's artifacts. Its arguments, options and help are in
// ../definitions.ts.
import type { Command } from '../command.js';
import { runTargets } from '../run.js';

export const buildCommand: Command = {
  async run(args) {
    const outcome = await runTargets({ args, compile: {}, targets: (c) => c.buildTargets, relock: args.values['update-lock'] === true });
    return outcome.exitCode;
  },
};
