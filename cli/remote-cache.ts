// Turns the remote cache's sources (flags, environment, `remote_cache:` in pipeline.config.yaml)
// into a store layered over the local one. Strongest first: --no-remote-cache, the flags,
// $PIPELINE_REMOTE_CACHE, the config file. Keys and tokens are read here and never printed.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { loadBuildConfig, type BuildConfig, type RemoteCacheConfig } from '../compile/config.js';
import { ConfigError } from '../graph/errors.js';
import type { LocalStore } from '../graph/local-store.js';
import { RemoteStore, type RemoteCacheSettings } from '../graph/remote/remote-store.js';
import { pemNeedle, type Secret } from '../graph/remote/secret-guard.js';
import { parsePublicId, signingKeyFromPem, type SigningKey } from '../graph/remote/signed-entry.js';
import type { Store } from '../graph/store.js';
import type { ParsedArgs } from './command.js';

export const DEFAULT_TOKEN_ENV = 'PIPELINE_CACHE_TOKEN';
export const DEFAULT_SIGNING_KEY_ENV = 'PIPELINE_CACHE_SIGNING_KEY';

/**
 * The remote store factory for a session, or undefined when no remote cache is configured.
 * `config`: the build settings the command already read (else pipeline.config.yaml is read here).
 */
export async function remoteStoreFor(
  root: string,
  args: ParsedArgs,
  config?: BuildConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<((local: LocalStore) => Store) | undefined> {
  if (args.values['no-remote-cache'] === true) return undefined;
  config ??= await loadBuildConfig({ root, file: args.values.config as string | undefined, env });
  const settings = remoteSettings(root, args, config.remoteCache ?? {}, env);
  return settings ? (local) => new RemoteStore(local, settings) : undefined;
}

export function remoteSettings(root: string, args: ParsedArgs, config: RemoteCacheConfig, env: NodeJS.ProcessEnv): RemoteCacheSettings | undefined {
  const url = (args.values['remote-cache'] as string | undefined) ?? env.PIPELINE_REMOTE_CACHE ?? config.url;
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`the remote cache URL '${url}' is not a URL (expected http://host:port/path)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`the remote cache URL must be http:// or https://, got '${parsed.protocol}'`);
  if (parsed.username || parsed.password) throw new ConfigError('the remote cache URL carries credentials; give a bearer token through remote_cache.token_env instead (URLs end up in logs)');

  const secrets: Secret[] = [];
  const tokenEnv = config.token_env ?? DEFAULT_TOKEN_ENV;
  const token = env[tokenEnv] || undefined;
  if (token) secrets.push({ name: `the cache token ($${tokenEnv})`, bytes: Buffer.from(token) });

  const signingKey = readSigningKey(root, config, env, secrets);
  const trusted = new Map<string, KeyObject>();
  const trustedLines = [...(config.trusted_keys ?? []), ...(env.PIPELINE_CACHE_TRUSTED_KEYS ?? '').split(/[\s,]+/).filter(Boolean)];
  for (const line of trustedLines) {
    try {
      trusted.set(line, parsePublicId(line));
    } catch (err) {
      throw new ConfigError(`remote_cache.trusted_keys: ${(err as Error).message}`);
    }
  }
  if (signingKey) trusted.set(signingKey.publicId, signingKey.publicKey);
  if (trusted.size === 0) {
    throw new ConfigError(
      'the remote cache has no trusted signer, so no entry could be used: list public keys under remote_cache.trusted_keys ' +
        '(or $PIPELINE_CACHE_TRUSTED_KEYS), or give a signing key (`pipeline cache keys init` makes one)',
    );
  }
  return {
    url: url.replace(/\/+$/, ''),
    token,
    timeoutMs: Math.round((config.timeout_seconds ?? 30) * 1000),
    concurrency: config.concurrency ?? 4,
    retries: config.retries ?? 2,
    readOnly: args.values['remote-cache-read-only'] === true || config.read_only === true,
    required: args.values['remote-cache-required'] === true || config.required === true,
    signingKey,
    trusted,
    secrets,
  };
}

/** remote_cache.signing_key (a project-relative file), else the key in $PIPELINE_CACHE_SIGNING_KEY (PEM or a path). */
function readSigningKey(root: string, config: RemoteCacheConfig, env: NodeJS.ProcessEnv, secrets: Secret[]): SigningKey | undefined {
  let pem: string | undefined;
  let origin: string;
  if (config.signing_key) {
    const path = isAbsolute(config.signing_key) ? config.signing_key : join(root, config.signing_key);
    origin = `remote_cache.signing_key ${config.signing_key}`;
    if (!existsSync(path)) throw new ConfigError(`${origin} does not exist (make one with \`pipeline cache keys init\`)`);
    pem = readFileSync(path, 'utf8');
  } else {
    const name = config.signing_key_env ?? DEFAULT_SIGNING_KEY_ENV;
    const value = env[name];
    if (!value) return undefined;
    origin = `$${name}`;
    if (value.includes('-----BEGIN')) pem = value;
    else if (existsSync(value)) pem = readFileSync(value, 'utf8');
    else throw new ConfigError(`${origin} is neither a PEM private key nor the path of one`);
  }
  let key: SigningKey;
  try {
    key = signingKeyFromPem(pem, origin);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const needle = pemNeedle(pem);
  if (needle) secrets.push({ name: 'the cache signing key', bytes: needle });
  return key;
}
