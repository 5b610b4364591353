// Build settings that belong to the machine or the user rather than to a variant: today, where
// each named mirror is. Sources, strongest first: --mirror NAME=URL, the config file
// (--config FILE, else $PIPELINE_CONFIG, else pipeline.config.yaml in the project root if it
// exists), the variant's own `mirrors` defaults.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../graph/errors.js';
import { checkAgainstSchema, type Schema } from './schema-check.js';
import { YamlSource } from './yaml-source.js';

export const CONFIG_FILE = 'pipeline.config.yaml';

const CONFIG_SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mirrors: {
      type: 'object',
      additionalProperties: { type: 'string', minLength: 1 },
      description: 'mirror name -> URL, file URL or project-relative path',
    },
    remote_cache: {
      type: 'object',
      additionalProperties: false,
      description: "a shared cache on Bazel's HTTP cache protocol (bazel-remote, nginx WebDAV)",
      properties: {
        url: { type: 'string', pattern: '^https?://', description: 'base URL; /ac/ and /cas/ go below it' },
        read_only: { type: 'boolean', description: 'never write (pull request jobs)' },
        required: { type: 'boolean', description: 'a remote fault fails the build instead of a warning' },
        timeout_seconds: { type: 'number', minimum: 1, description: 'per request: connecting, and any silence while transferring (default 30)' },
        concurrency: { type: 'integer', minimum: 1, maximum: 64, description: 'requests at once (default 4)' },
        retries: { type: 'integer', minimum: 0, maximum: 10, description: 'retries of a transient fault, with backoff (default 2)' },
        token_env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'environment variable holding a bearer token' },
        signing_key: { type: 'string', minLength: 1, description: 'Ed25519 private key (PEM) that signs uploaded entries, project-relative' },
        signing_key_env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'environment variable holding that key as PEM (default PIPELINE_CACHE_SIGNING_KEY)' },
        trusted_keys: { type: 'array', items: { type: 'string', pattern: '^ed25519:[A-Za-z0-9+/]{43}=$' }, description: 'signers whose entries are used (ed25519:<base64>); the signing key is trusted too' },
      },
    },
    llm: {
      type: 'object',
      additionalProperties: false,
      description: 'the OpenAI-compatible server `pipeline recipe llm` and `recipe draft` ask (llama-server, ollama)',
      properties: {
        url: { type: 'string', pattern: '^https?://', description: 'base URL, with or without /v1 (over $PIPELINE_LLM_URL)' },
        model: { type: 'string', minLength: 1, description: 'the model name the server should use' },
      },
    },
  },
};

/** `llm:` in the config file: the server recipe drafting asks. */
export interface LlmConfig {
  url?: string;
  model?: string;
}

/** `remote_cache:` in the config file, as written. */
export interface RemoteCacheConfig {
  url?: string;
  read_only?: boolean;
  required?: boolean;
  timeout_seconds?: number;
  concurrency?: number;
  retries?: number;
  token_env?: string;
  signing_key?: string;
  signing_key_env?: string;
  trusted_keys?: string[];
}

export interface BuildConfig {
  /** Mirror name -> location, from the config file and the command line (command line wins). */
  mirrors: Record<string, string>;
  /** Where each mirror location came from, for messages. */
  mirrorOrigins: Record<string, string>;
  /** The remote cache block, and the file it came from. */
  remoteCache?: RemoteCacheConfig;
  /** The llm block (recipe drafting). */
  llm?: LlmConfig;
  file?: string;
}

export interface ConfigInputs {
  root: string;
  /** --config FILE */
  file?: string;
  /** --mirror NAME=URL, as given. */
  mirrorFlags?: string[];
  env?: NodeJS.ProcessEnv;
}

export async function loadBuildConfig(inputs: ConfigInputs): Promise<BuildConfig> {
  const config: BuildConfig = { mirrors: {}, mirrorOrigins: {} };
  const explicit = inputs.file ?? inputs.env?.PIPELINE_CONFIG;
  const file = explicit ? resolve(explicit) : join(inputs.root, CONFIG_FILE);
  if (explicit || existsSync(file)) {
    const source = await YamlSource.read(file, explicit ?? CONFIG_FILE);
    const value = (source.value() ?? {}) as { mirrors?: Record<string, string>; remote_cache?: RemoteCacheConfig; llm?: LlmConfig };
    checkAgainstSchema(value, CONFIG_SCHEMA, source);
    config.remoteCache = value.remote_cache;
    config.llm = value.llm;
    config.file = source.file;
    for (const [name, url] of Object.entries(value.mirrors ?? {})) {
      config.mirrors[name] = url;
      config.mirrorOrigins[name] = source.file;
    }
  }
  for (const flag of inputs.mirrorFlags ?? []) {
    const m = /^([a-z0-9-]+)=(.+)$/.exec(flag);
    if (!m) throw new ConfigError(`--mirror takes NAME=URL (e.g. --mirror alpine=http://127.0.0.1:8080/alpine), got '${flag}'`);
    config.mirrors[m[1]] = m[2];
    config.mirrorOrigins[m[1]] = '--mirror';
  }
  return config;
}

/** The scheme of a location that names a mirror whose URL is not known yet. */
export const MIRROR_SCHEME = 'mirror://';

/** `mirror://<name>/<path>`: how locks and keys name a repository, whatever mirror serves it. */
export function mirrorLocation(mirror: string, path: string): string {
  return `${MIRROR_SCHEME}${mirror}/${path.replace(/^\/+/, '')}`;
}

/**
 * Turns `mirror://<name>/<path>` into a real location with the configured mirrors; a mirror with
 * no known location stays symbolic, and a download from it fails with an error saying how to
 * give one (only when a download is needed: a locked, cached build never asks).
 */
export function locate(location: string, mirrors: Record<string, string>): string {
  if (!location.startsWith(MIRROR_SCHEME)) return location;
  const rest = location.slice(MIRROR_SCHEME.length);
  const slash = rest.indexOf('/');
  const name = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash + 1);
  const base = mirrors[name];
  if (!base) return location;
  return path ? `${base.replace(/\/+$/, '')}/${path}` : base;
}
