// Everything compiling a target reads, read once: the variant (with positions), the build
// settings, the lock, and whether the project has the variant's conventional overlay directory.
// After this, compiling is a pure function of these inputs (compile/index.ts).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ConfigError } from '../graph/errors.js';
import { lockFilePath, LockFileError, parseLock, type ApkLock } from '../stages/sources/apk/lock.js';
import { parseRpmLock, type RpmLock } from '../stages/sources/rpm/lock.js';
import { loadRecipe, RecipeError, type Recipe } from '../recipe/load.js';
import { readReleasesLock, type LockedRelease } from '../recipe/releases.js';
import { loadBuildConfig, type BuildConfig } from './config.js';
import { loadVariant, type LoadedVariant } from './variant.js';

export interface CompileInputs {
  loaded: LoadedVariant;
  config: BuildConfig;
  /** The package lock, when there is one and it is to be used (its format is the variant's source's). */
  lock?: ApkLock | RpmLock;
  /** Where the variant's lock lives (absolute), whether or not it exists. */
  lockFile: string;
  /** `variants/overlays/<name>` when the project has it (used when the variant names no overlays). */
  conventionalOverlay?: string;
  /** The caller's environment: what it may override (the signing key path). */
  env: NodeJS.ProcessEnv;
  /** The variant's recipes and the recipes they depend on, by name. */
  recipes: Map<string, Recipe>;
  /** recipes/releases.lock.yaml: release downloads pinned by `pipeline lock`. */
  releases: LockedRelease[];
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
  let lock: ApkLock | RpmLock | undefined;
  if ((options.lock ?? 'use') === 'use' && loaded.variant.packages && existsSync(lockFile)) {
    try {
      // Named relative to the project in messages: no machine's path in an error.
      const text = await readFile(lockFile, 'utf8');
      const display = relative(loaded.root, lockFile);
      lock = loaded.variant.rpm ? parseRpmLock(text, display) : parseLock(text, display);
    } catch (err) {
      if (!(err instanceof LockFileError)) throw err;
      throw new ConfigError(err.message);
    }
  }
  const conventional = `variants/overlays/${name}`;
  const recipes = await loadRecipes(loaded.root, loaded.variant.recipes ?? []);
  let releases: LockedRelease[];
  try {
    releases = recipes.size ? await readReleasesLock(loaded.root) : [];
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return {
    recipes,
    releases,
    loaded,
    config,
    lock,
    lockFile,
    conventionalOverlay: existsSync(join(loaded.root, conventional)) ? conventional : undefined,
    env,
  };
}

/** The same inputs with a lock just written (the second round of a build that had none). */
export function withLock(inputs: CompileInputs, lock: ApkLock | RpmLock): CompileInputs {
  return { ...inputs, lock };
}

/** The named recipes and, transitively, their deps; every recipe that cannot be read is reported at once. */
export async function loadRecipes(root: string, names: string[]): Promise<Map<string, Recipe>> {
  const recipes = new Map<string, Recipe>();
  const problems: string[] = [];
  const pending = [...names];
  while (pending.length) {
    const name = pending.shift()!;
    if (recipes.has(name) || problems.some((p) => p.includes(`recipes/${name}.rhai`))) continue;
    try {
      const recipe = await loadRecipe(root, name);
      recipes.set(name, recipe);
      pending.push(...recipe.deps);
    } catch (err) {
      if (!(err instanceof RecipeError)) throw err;
      problems.push(err.message);
    }
  }
  if (problems.length) throw new ConfigError(problems.join('\n'));
  return recipes;
}
