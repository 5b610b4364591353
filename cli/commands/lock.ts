// `pipeline lock <target>`: pin the release downloads of the variant's recipes
// (recipes/releases.lock.yaml), download the indexes, resolve the package list, write the lock.
// Its arguments, options and help are in ../definitions.ts.
import { loadRecipes } from '../../compile/load.js';
import { loadVariant } from '../../compile/variant.js';
import { pinReleases } from '../../recipe/releases.js';
import { EXIT, type Command } from '../command.js';
import { runTarget } from '../run.js';

export const lockCommand: Command = {
  async run(args) {
    const loaded = await loadVariant(args.positionals[0], process.cwd());
    const recipes = await loadRecipes(loaded.root, loaded.variant.recipes ?? []);
    const calls = [...recipes.values()].flatMap((r) => r.releaseCalls);
    if (calls.length) await pinReleases(loaded.root, calls, { env: process.env, renew: true, log: (line) => process.stderr.write(`${line}\n`) });
    const outcome = await runTarget({ args, compile: {}, targets: () => [], relock: true, lockOnly: true, publish: false });
    if (outcome.exitCode === EXIT.ok && !outcome.compiled.packages) {
      process.stderr.write(`${outcome.compiled.loaded.variant.name} has no packages: nothing to lock\n`);
    }
    return outcome.exitCode;
  },
};
