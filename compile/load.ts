// Everything compiling a target reads, read once: the variant (with positions), the build
// settings, the lock, and whether the project has the variant's conventional overlay directory.
// After this, compiling is a pure function of these inputs (compile/index.ts).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ConfigError } from '../graph/errors.js';
import { lockFilePath, LockFileError, parseLock, type ApkLock } from '../stages/sources/apk/lock.js';
import { loadBuildConfig, type BuildConfig } from './config.js';
import { loadVariant, type LoadedVariant } from './variant.js';

export interface CompileInputs {
  loaded: LoadedVariant;
  config: BuildConfig;
  /** The package lock, when there is one and it is to be used. */
  lock?: ApkLock;
  /** Where the variant's lock lives (absolute), whether or not it exists. */
  lockFile: string;
  /** `variants/overlays/<name>` when the project has it (used when the variant names no overlays). */
  conventionalOverlay?: string;
  /** The caller's environment: what it may override (the signing key path). */
  env: NodeJS.ProcessEnv;
}

/** 'ignore' reads no lock, as when a new one is being made. */
export type LockMode = 'use' | 'ignore';

export interface LoadOptions {
  cwd?: string;
  /** --config FILE */
  configFile?: string;
  /** --mirror NAME=URL flags. */
  mirrorFlags?: string[];
  lock?: LockMode;
  env?: NodeJS.ProcessEnv;
}

export async function loadCompileInputs(target: string, options: LoadOptions = {}): Promise<CompileInputs> {
  const env = options.env ?? process.env;
  const loaded = await loadVariant(target, options.cwd ?? process.cwd());
  const config = await loadBuildConfig({ root: loaded.root, file: options.configFile, mirrorFlags: options.mirrorFlags, env });
  const name = loaded.variant.name;
  const lockFile = lockFilePath(loaded.root, name);
  let lock: ApkLock | undefined;
  if ((options.lock ?? 'use') === 'use' && loaded.variant.packages && existsSync(lockFile)) {
    try {
      // Named relative to the project in messages: no machine's path in an error.
      lock = parseLock(await readFile(lockFile, 'utf8'), relative(loaded.root, lockFile));
    } catch (err) {
      if (!(err instanceof LockFileError)) throw err;
      throw new ConfigError(err.message);
    }
  }
  const conventional = `variants/overlays/${name}`;
  return {
    loaded,
    config,
    lock,
    lockFile,
    conventionalOverlay: existsSync(join(loaded.root, conventional)) ? conventional : undefined,
    env,
  };
}

/** The same inputs with a lock just written (the second round of a build that had none). */
export function withLock(inputs: CompileInputs, lock: ApkLock): CompileInputs {
  return { ...inputs, lock };
}
