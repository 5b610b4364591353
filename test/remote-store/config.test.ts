// Where the remote cache's settings come from (flags, environment, pipeline.config.yaml), what
// is refused with a clear error, and `pipeline cache keys init`.
import { statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { remoteSettings, remoteStoreFor } from '../../cli/remote-cache.js';
import { ConfigError } from '../../graph/errors.js';
import { signingKeyFromPem } from '../../graph/remote/signed-entry.js';
import { cli, tempProject } from '../engine/helpers.js';

const args = (values: Record<string, string | boolean> = {}) => ({ values, positionals: [] });

describe('pipeline cache keys init', () => {
  it('writes a 0600 Ed25519 key, prints the line readers trust, and refuses to overwrite without --force', async () => {
    const project = await tempProject();
    const made = await cli(['cache', 'keys', 'init'], project);
    expect(made.code, made.stderr).toBe(0);
    const file = join(project, 'keys/cache-signing.pem');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = signingKeyFromPem(await readFile(file, 'utf8'), file);
    expect(made.stdout).toContain(`      - ${key.publicId}`);
    expect(made.stdout).toMatch(/keep it out of version control/);
    const again = await cli(['cache', 'keys', 'init'], project);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/keys\/cache-signing.pem exists; pass --force/);
    const forced = await cli(['cache', 'keys', 'init', '--force', '--json'], project);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout).public).not.toBe(key.publicId);
  });
});

describe('remote cache settings', () => {
  it('flag over environment over config file; the token and keys are read, never shown', async () => {
    const project = await tempProject();
    await cli(['cache', 'keys', 'init'], project);
    await writeFile(
      join(project, 'pipeline.config.yaml'),
      'remote_cache:\n  url: http://127.0.0.1:1/from-config\n  read_only: true\n  timeout_seconds: 2.5\n  signing_key: keys/cache-signing.pem\n  token_env: MY_TOKEN\n',
    );
    const env = { MY_TOKEN: 's3cret-token', PIPELINE_REMOTE_CACHE: 'http://127.0.0.1:2/from-env/' };
    const config = { url: 'http://127.0.0.1:1/from-config', read_only: true, timeout_seconds: 2.5, signing_key: 'keys/cache-signing.pem', token_env: 'MY_TOKEN' };
    expect(remoteSettings(project, args(), config, env)).toMatchObject({ url: 'http://127.0.0.1:2/from-env', readOnly: true, timeoutMs: 2500, token: 's3cret-token' });
    const flagged = remoteSettings(project, args({ 'remote-cache': 'http://127.0.0.1:3/flag', 'remote-cache-required': true }), config, env)!;
    expect(flagged).toMatchObject({ url: 'http://127.0.0.1:3/flag', required: true });
    // Its own key is trusted; the token and the key are on the list of bytes never uploaded.
    expect([...flagged.trusted.keys()]).toEqual([flagged.signingKey!.publicId]);
    expect(flagged.secrets.map((s) => s.name)).toEqual(['the cache token ($MY_TOKEN)', 'the cache signing key']);
    expect(await remoteStoreFor(project, args({ 'no-remote-cache': true }), undefined, env)).toBeUndefined();
    expect(await remoteStoreFor(project, args(), undefined, env)).toBeTypeOf('function');
  });

  it('refuses what cannot work, saying what to do', () => {
    const bad = (config: object, env: NodeJS.ProcessEnv = {}) => () => remoteSettings('/nonexistent', args(), config, env);
    expect(bad({ url: 'http://127.0.0.1:1/c' })).toThrow(ConfigError);
    expect(bad({ url: 'http://127.0.0.1:1/c' })).toThrow(/no trusted signer, so no entry could be used: .*trusted_keys/);
    expect(bad({ url: 'ftp://127.0.0.1/c', trusted_keys: [] })).toThrow(/must be http:\/\/ or https:\/\//);
    expect(bad({ url: 'http://user:pw@127.0.0.1/c' })).toThrow(/carries credentials; give a bearer token through remote_cache.token_env/);
    expect(bad({ url: 'http://127.0.0.1/c', trusted_keys: ['ed25519:AAAA'] })).toThrow(/remote_cache.trusted_keys: 'ed25519:AAAA' is not an Ed25519 public key/);
    expect(bad({ url: 'http://127.0.0.1/c', signing_key: 'keys/missing.pem' })).toThrow(/remote_cache.signing_key keys\/missing.pem does not exist \(make one with `pipeline cache keys init`\)/);
    expect(bad({ url: 'http://127.0.0.1/c' }, { PIPELINE_CACHE_SIGNING_KEY: 'not a key' })).toThrow(/\$PIPELINE_CACHE_SIGNING_KEY is neither a PEM private key nor the path of one/);
  });

  it('the config file block is checked against its schema with file and line', async () => {
    const project = await tempProject({ 'pipeline.config.yaml': 'remote_cache:\n  url: http://127.0.0.1:1/c\n  concurency: 4\n' });
    await expect(remoteStoreFor(project, args(), undefined, {})).rejects.toThrow(/pipeline.config.yaml:3.*concurency.*(concurrency|not allowed|unknown)/s);
  });
});
