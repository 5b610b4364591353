// `pipeline keys init`: a usable key set, private keys 0600, no silent overwrite.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cli, tempProject } from '../engine/helpers.js';

const run = promisify(execFile);

describe('pipeline keys init', () => {
  it('writes PK/KEK/db keys, certificates, signature lists and .auth files, and refuses to overwrite', async () => {
    const root = await tempProject();
    const r = await cli(['keys', 'init', 'sb', '--json'], root);
    expect(r.code).toBe(0);
    const set = JSON.parse(r.stdout);
    expect(Object.keys(set.espFiles).sort()).toEqual(['loader/keys/auto/KEK.auth', 'loader/keys/auto/PK.auth', 'loader/keys/auto/db.auth']);
    for (const name of ['PK', 'KEK', 'db']) {
      expect((await stat(join(root, 'sb', `${name}.key`))).mode & 0o777).toBe(0o600);
      const { stdout } = await run('openssl', ['x509', '-in', join(root, 'sb', `${name}.crt`), '-noout', '-fingerprint', '-sha256']);
      expect(stdout.replace(/[:\s]/g, '').toLowerCase()).toContain(set.fingerprints[name]);
    }
    const again = await cli(['keys', 'init', 'sb'], root);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('refusing to overwrite it without --force');
    expect((await cli(['keys', 'init', 'sb', '--force'], root)).code).toBe(0);
  });
});
