// `pipeline keys init <dir>`: a test Secure Boot key set (PK, KEK, db) with the signature lists
// and signed .auth files enrollment needs, for users without their own keys.
import { relative } from 'node:path';
import { KeySetError, initSecureBootKeys } from '../../keys/secureboot.js';
import { EXIT, UsageError, type CommandDef } from '../command.js';
import { jsonOption } from '../common-options.js';

export const keysInitCommand: CommandDef = {
  name: 'keys init',
  summary: 'make a test Secure Boot key set (PK, KEK, db: keys, certificates, .esl and .auth files) in a directory',
  details:
    'The db key signs UKIs and systemd-boot (point a variant\'s signing section at db.crt and db.key, or set\n' +
    'PIPELINE_SECUREBOOT_KEY to db.key). The .auth files go to loader/keys/auto/ on an ESP, where systemd-boot\n' +
    'enrolls them (secure-boot-enroll). Private keys are written mode 0600. These are test keys: keep real keys offline.',
  args: [{ name: 'dir', description: 'directory to create the key set in' }],
  options: [{ name: 'force', type: 'boolean', description: 'replace an existing key set (its private keys are lost)' }, jsonOption],
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
