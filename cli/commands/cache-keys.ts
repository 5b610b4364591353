// `pipeline cache keys init [DIR]`: the Ed25519 key pair that signs remote cache entries.
// Its arguments, options and help are in ../definitions.ts.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { publicIdOf } from '../../graph/remote/signed-entry.js';
import { EXIT, UsageError, type Command } from '../command.js';

export const CACHE_KEY_FILE = 'cache-signing.pem';

export const cacheKeysInitCommand: Command = {
  async run(args) {
    const dir = resolve(args.positionals[0] ?? 'keys');
    const file = join(dir, CACHE_KEY_FILE);
    const shown = relative(process.cwd(), file) || file;
    if (existsSync(file) && args.values.force !== true) throw new UsageError(`${shown} exists; pass --force to replace it (readers then need the new public key)`);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    await mkdir(dir, { recursive: true });
    // Written 0600 from the first byte: never readable by others, not even briefly.
    await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await chmod(file, 0o600);
    const publicId = publicIdOf(publicKey);
    if (args.values.json) process.stdout.write(JSON.stringify({ key: file, public: publicId }) + '\n');
    else {
      process.stdout.write(
        [
          `wrote ${shown} (private: keep it out of version control; in CI give it as $PIPELINE_CACHE_SIGNING_KEY)`,
          'readers trust it with, in pipeline.config.yaml:',
          '  remote_cache:',
          '    trusted_keys:',
          `      - ${publicId}`,
        ].join('\n') + '\n',
      );
    }
    return EXIT.ok;
  },
};
