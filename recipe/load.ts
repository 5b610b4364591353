// Reading a recipe: recipes/<name>.rhai and the base recipes it extends (`//! extends: base.rhai`),
// parsed, and their top level evaluated with no host function reachable, which gives the `ctx`
// map and the `deps`/`build_deps` lists. What the graph needs (name, version, pinned sources,
// dependencies, license) comes from there; running acquire/build/install is the recipe node's job.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { parseRhai, RhaiEngine, RhaiError, toJs, type RhaiProgram } from '../rhai/index.js';
import { RECIPE_FUNCTIONS, RECIPES_DIR, SANDBOX_PATHS } from './api.js';
import { releaseCalls, type ReleaseCall } from './discover.js';

export { RECIPES_DIR };

export class RecipeError extends Error {
  override name = 'RecipeError';
}

/** A source the recipe declares in ctx: fetched by one node per sha256, before the sandbox starts. */
export interface PinnedSource {
  url: string;
  sha256: string;
  /** File name in the sandbox's download directory (default: the URL's last part). */
  file: string;
}

/** One file of a recipe's chain: project-relative path and text. */
export interface RecipeFile {
  path: string;
  text: string;
  program: RhaiProgram;
}

export interface Recipe {
  name: string;
  version: string;
  description?: string;
  license?: string;
  /** Project-relative: recipes/<name>.rhai. */
  path: string;
  /** The chain, bases first, the recipe itself last. */
  files: RecipeFile[];
  /** recipes/<name>/ when it exists: RECIPE_DIR in the sandbox (patches, local files). */
  dataDir?: string;
  sources: PinnedSource[];
  /** Other recipes whose output this one builds against and needs at run time. */
  deps: string[];
  /** Packages of the variant's package source that make its build root (`build-base`). */
  buildDeps: string[];
  /** Packages whose paths this recipe's output may replace. */
  replaces: string[];
  /** `ctx` as the top level left it, as JSON. */
  ctx: Record<string, unknown>;
  /** The functions the chain defines (name -> arities). */
  functions: Map<string, number[]>;
  /** The github_download_release calls acquire makes: each must be pinned by the releases lock. */
  releaseCalls: ReleaseCall[];
}

const NAME = /^[a-z0-9][a-z0-9+._-]*$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** The top level only declares: a host function called there is a mistake the loader reports. */
function declarationEngine(): RhaiEngine {
  const constants: Record<string, string | bigint> = {
    BUILD_DIR: SANDBOX_PATHS.build,
    OUT: SANDBOX_PATHS.out,
    RECIPE_DIR: SANDBOX_PATHS.recipe,
    ARCH: 'x86_64',
    NPROC: 1n,
  };
  const functions = Object.fromEntries(
    Object.keys(RECIPE_FUNCTIONS).map((name) => [
      name,
      () => {
        throw new Error(`${name}() cannot be called at the top level of a recipe: call it from acquire, build or install`);
      },
    ]),
  );
  return new RhaiEngine({ functions, constants, maxOperations: 1_000_000 });
}

/** Parses one file; a syntax error becomes a RecipeError with its location. */
export function parseRecipeFile(path: string, text: string): RecipeFile {
  try {
    return { path, text, program: parseRhai(text, path) };
  } catch (err) {
    if (err instanceof RhaiError) throw new RecipeError(err.message);
    throw err;
  }
}

/** `//! extends: base.rhai` -> the base's project-relative path (inside recipes/). */
export function extendsOf(file: RecipeFile): string | undefined {
  for (const line of file.program.moduleDoc) {
    const m = /^extends\s*:\s*(.+?)\s*$/.exec(line);
    if (!m) continue;
    const base = normalize(join(RECIPES_DIR, m[1]));
    if (!base.startsWith(`${RECIPES_DIR}/`) || !base.endsWith('.rhai')) {
      throw new RecipeError(`${file.path}: extends: ${m[1]} must name a .rhai file inside ${RECIPES_DIR}/`);
    }
    return base;
  }
  return undefined;
}

/** Reads recipes/<name>.rhai of the project and its bases. */
export async function loadRecipe(root: string, name: string): Promise<Recipe> {
  if (!NAME.test(name)) throw new RecipeError(`recipe name '${name}' must be lower-case letters, digits and + . _ -`);
  const path = `${RECIPES_DIR}/${name}.rhai`;
  if (!existsSync(join(root, path))) throw new RecipeError(`${path}: no such recipe`);
  const chain: RecipeFile[] = [];
  const seen = new Set<string>();
  for (let next: string | undefined = path; next; ) {
    if (seen.has(next)) throw new RecipeError(`${path}: extends goes round in a circle (${[...seen, next].join(' -> ')})`);
    seen.add(next);
    let text: string;
    try {
      text = await readFile(join(root, next), 'utf8');
    } catch {
      throw new RecipeError(`${chain.at(-1)?.path ?? path}: extends ${next}, which does not exist`);
    }
    const file = parseRecipeFile(next, text);
    chain.unshift(file);
    next = extendsOf(file);
  }
  const dataDir = `${RECIPES_DIR}/${name}`;
  return describeRecipe(name, chain, existsSync(join(root, dataDir)) ? dataDir : undefined);
}

/** Evaluates the chain's top level and reads what the graph needs from it. */
export function describeRecipe(name: string, chain: RecipeFile[], dataDir?: string): Recipe {
  const self = chain.at(-1)!;
  const engine = declarationEngine();
  try {
    for (const file of chain) engine.run(file.program);
  } catch (err) {
    if (err instanceof RhaiError) throw new RecipeError(err.message);
    throw err;
  }
  const where = self.path;
  const ctxValue = engine.getGlobal('ctx');
  const ctx = ctxValue === undefined ? undefined : toJs(ctxValue);
  if (!ctx || typeof ctx !== 'object' || Array.isArray(ctx)) throw new RecipeError(`${where}: the recipe must define \`let ctx = #{ name: ..., version: ... }\``);
  const fields = ctx as Record<string, unknown>;
  const text = (key: string, required: boolean): string | undefined => {
    const value = fields[key];
    if (value === undefined || value === null) {
      if (required) throw new RecipeError(`${where}: ctx.${key} is missing`);
      return undefined;
    }
    if (typeof value !== 'string' || value === '') throw new RecipeError(`${where}: ctx.${key} must be a non-empty string`);
    return value;
  };
  const ctxName = text('name', true)!;
  if (ctxName !== name) throw new RecipeError(`${where}: ctx.name is '${ctxName}', but the file is named ${name}.rhai`);
  const list = (key: string): string[] => {
    const value = engine.getGlobal(key) !== undefined ? toJs(engine.getGlobal(key)) : fields[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new RecipeError(`${where}: ${key} must be an array of strings`);
    return value as string[];
  };
  const functions = new Map<string, number[]>();
  for (const file of chain) for (const fn of file.program.functions) functions.set(fn.name, [...new Set([...(functions.get(fn.name) ?? []), fn.params.length])]);
  for (const phase of ['acquire', 'build', 'install']) {
    if (!functions.has(phase) && phase === 'install') throw new RecipeError(`${where}: the recipe defines no install(ctx): nothing would reach the system`);
  }
  return {
    name,
    version: text('version', true)!,
    description: text('description', false),
    license: text('license', false),
    path: self.path,
    files: chain,
    dataDir,
    sources: pinnedSources(fields, where),
    deps: list('deps'),
    buildDeps: list('build_deps'),
    replaces: list('replaces'),
    ctx: fields,
    functions,
    releaseCalls: chain.some((f) => f.text.includes('github_download_release')) ? discover(chain, where) : [],
  };
}

/** `ctx.url` + `ctx.sha256`, or `ctx.sources: [#{ url, sha256, file? }]`. */
function pinnedSources(ctx: Record<string, unknown>, where: string): PinnedSource[] {
  const given: unknown[] = [];
  if (ctx.url !== undefined || ctx.sha256 !== undefined) given.push({ url: ctx.url, sha256: ctx.sha256, file: ctx.file });
  if (ctx.sources !== undefined) {
    if (!Array.isArray(ctx.sources)) throw new RecipeError(`${where}: ctx.sources must be an array of #{ url, sha256 } maps`);
    given.push(...ctx.sources);
  }
  return given.map((raw, i) => {
    const label = ctx.sources !== undefined && !(i === 0 && ctx.url !== undefined) ? `ctx.sources[${i}]` : 'ctx';
    const s = (raw ?? {}) as Record<string, unknown>;
    if (typeof s.url !== 'string' || s.url === '') throw new RecipeError(`${where}: ${label}.url must be the source's URL`);
    if (typeof s.sha256 !== 'string' || !SHA256.test(s.sha256.toLowerCase())) {
      throw new RecipeError(`${where}: ${label}.sha256 must be the source's sha256 (64 hex digits): every download is pinned`);
    }
    const file = typeof s.file === 'string' && s.file ? s.file : decodeURIComponent(new URL(s.url, 'file:///').pathname.split('/').pop() || 'source');
    if (!/^[\w.+-][\w.+@-]*$/.test(file)) throw new RecipeError(`${where}: ${label}: '${file}' is not a plain file name (set file:)`);
    return { url: s.url, sha256: s.sha256.toLowerCase(), file };
  });
}

function discover(chain: RecipeFile[], where: string): ReleaseCall[] {
  try {
    return releaseCalls(chain.map((f) => f.program));
  } catch (err) {
    throw new RecipeError(`${where}: cannot tell which releases acquire(ctx) downloads: ${err instanceof RhaiError ? err.message : (err as Error).message}`);
  }
}
