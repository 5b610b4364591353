// `pipeline lock <target>`: download the indexes, resolve the package list, write the lock.
import { EXIT, type CommandDef } from '../command.js';
import { runTarget } from '../run.js';
import { runOptions, sourceOptions } from './build.js';

export const lockCommand: CommandDef = {
  name: 'lock',
  summary: "resolve a variant's packages against its repositories and write variants/<name>.lock.yaml",
  details:
    'Always downloads the indexes anew (verifying their signatures). Builds then use the lock and download no\n' +
    'index; fetch nodes are keyed on each package\'s identity and checksum, so variants share them.',
  args: [{ name: 'target', description: 'variant name or path to a variant file' }],
  options: [...runOptions, ...sourceOptions.filter((o) => o.name !== 'update-lock')],
  async run(args) {
    const outcome = await runTarget({ args, compile: {}, targets: () => [], relock: true, lockOnly: true, publish: false });
    if (outcome.exitCode === EXIT.ok && !outcome.compiled.alpine) {
      process.stderr.write(`${outcome.compiled.loaded.variant.name} has no packages: nothing to lock\n`);
    }
    return outcome.exitCode;
  },
};
