// `pipeline keys init <dir>`: a test Secure Boot key set (PK, KEK, db) with the signature lists
// and signed .auth files enrollment needs, for users without their own keys. Its arguments,
// options and help are in ../definitions.ts.
import { relative } from 'node:path';
import { KeySetError, initSecureBootKeys } from '../../keys/secureboot.js';
import { EXIT, UsageError, type Command } from '../command.js';

export const keysInitCommand: Command = {
  async run(args) {
    const dir = args.positionals[0];
    let set;
    try {
      set = await initSecureBootKeys(dir, { force: args.values.force === true });
    } catch (err) {
      if (err instanceof KeySetError) throw new UsageError(err.message);
      throw err;
    }
    if (args.values.json) {
      process.stdout.write(JSON.stringify({ dir: set.dir, ownerGuid: set.ownerGuid, keys: set.keys, espFiles: set.espFiles, fingerprints: set.fingerprints }) + '\n');
    } else {
      const rel = (p: string) => relative(process.cwd(), p) || p;
      process.stdout.write(
        [
          `wrote a test Secure Boot key set to ${rel(set.dir)} (owner GUID ${set.ownerGuid})`,
          ...(['PK', 'KEK', 'db'] as const).map((n) => `  ${n.padEnd(3)}  ${rel(set.keys[n].crt)}  sha256 ${set.fingerprints[n]}`),
          `sign with ${rel(set.keys.db.key)} (db); enroll from ${Object.keys(set.espFiles).join(', ')}`,
        ].join('\n') + '\n',
      );
    }
    return EXIT.ok;
  },
};
