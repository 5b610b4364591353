// `pipeline lock <target>`: download the indexes, resolve the package list, write the lock.
// Its arguments, options and help are in ../definitions.ts.
import { EXIT, type Command } from '../command.js';
import { runTarget } from '../run.js';

export const lockCommand: Command = {
  async run(args) {
    const outcome = await runTarget({ args, compile: {}, targets: () => [], relock: true, lockOnly: true, publish: false });
    if (outcome.exitCode === EXIT.ok && !outcome.compiled.alpine) {
      process.stderr.write(`${outcome.compiled.loaded.variant.name} has no packages: nothing to lock\n`);
    }
    return outcome.exitCode;
  },
};
