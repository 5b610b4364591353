// `pipeline recipe check`: every recipe parsed, its calls checked against the recipe API and its
// own functions, its top level evaluated (ctx, deps, build_deps), its downloads pinned; each
// problem with file:line:col. Nothing is built and nothing is downloaded.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRhai, parseRhai, RhaiEngine, RhaiError, toJs, type RhaiProgram } from '../rhai/index.js';
import { RECIPE_CONSTANTS, RECIPE_FUNCTIONS, RECIPES_DIR, SANDBOX_PATHS } from './api.js';
import { releaseKey } from './host-functions.js';
import { extendsOf, loadRecipe, parseRecipeFile, RecipeError, type Recipe } from './load.js';
import { readReleasesLock, RELEASES_LOCK } from './releases.js';

export interface RecipeCheck {
  file: string;
  /** Set for a recipe (a file with a ctx); a base has none. */
  recipe?: Recipe;
  problems: string[];
}

/** Names of recipes/*.rhai. */
export function recipeNames(root: string): string[] {
  const dir = join(root, RECIPES_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.rhai'))
    .map((f) => f.slice(0, -'.rhai'.length))
    .sort();
}

function defines(program: RhaiProgram, name: string): boolean {
  return program.functions.some((f) => f.name === name);
}

/** A file is a base when it sets no ctx: only syntax and calls are checked. */
function isBase(text: string): boolean {
  return !/^\s*let\s+ctx\s*=/m.test(text);
}

export async function checkRecipes(root: string, names: string[]): Promise<RecipeCheck[]> {
  const releases = await readReleasesLock(root).catch((err: Error) => {
    throw new RecipeError(err.message);
  });
  const pinned = new Set(releases.map((r) => releaseKey(r.repo, r.version, r.pattern)));
  const known = new Set(recipeNames(root));
  const results: RecipeCheck[] = [];
  for (const name of names) {
    const file = `${RECIPES_DIR}/${name}.rhai`;
    const result: RecipeCheck = { file, problems: [] };
    results.push(result);
    let text: string;
    try {
      text = await readFile(join(root, file), 'utf8');
    } catch {
      result.problems.push(`${file}: no such recipe${known.size ? ` (recipes: ${[...known].join(', ')})` : ''}`);
      continue;
    }
    // Syntax and calls, per file of the chain (a base is checked with the functions of its own bases).
    let program: RhaiProgram;
    try {
      program = parseRhai(text, file);
    } catch (err) {
      result.problems.push(err instanceof RhaiError ? err.message : String(err));
      continue;
    }
    const chainFunctions = new Map<string, number[]>(Object.entries(RECIPE_FUNCTIONS));
    try {
      let current: RhaiProgram | undefined = program;
      let path = file;
      const seen = new Set([file]);
      while (current) {
        for (const fn of current.functions) chainFunctions.set(fn.name, [...(chainFunctions.get(fn.name) ?? []), fn.params.length]);
        const base = extendsOf({ path, text: '', program: current });
        if (!base || seen.has(base)) break;
        seen.add(base);
        path = base;
        current = existsSync(join(root, base)) ? parseRhai(await readFile(join(root, base), 'utf8'), base) : undefined;
      }
    } catch (err) {
      result.problems.push(err instanceof RhaiError || err instanceof RecipeError ? err.message : String(err));
    }
    for (const p of checkRhai(program, { functions: chainFunctions, constants: new Set(RECIPE_CONSTANTS) })) {
      result.problems.push(`${p.file}:${p.line}:${p.col}: ${p.message}`);
    }
    if (isBase(text)) continue;
    if (!defines(program, 'install') && !extendsOf({ path: file, text, program })) result.problems.push(`${file}: defines no install(ctx): nothing would reach the system`);
    try {
      const recipe = await loadRecipe(root, name);
      result.recipe = recipe;
      for (const dep of recipe.deps) if (!known.has(dep)) result.problems.push(`${file}: deps names '${dep}', which has no recipes/${dep}.rhai`);
      for (const call of recipe.releaseCalls) {
        if (!pinned.has(releaseKey(call.repo, call.version, call.pattern))) {
          result.problems.push(`${file}: github_download_release(${call.repo}, ${call.version}, ${call.pattern}) is unpinned: \`pipeline lock\` records its URL and sha256 in ${RELEASES_LOCK}`);
        }
      }
    } catch (err) {
      if (!(err instanceof RecipeError)) throw err;
      // A sha256 that is no digest (a draft's or the scaffold's TODO): say which source is unpinned.
      const unpinned = /\.sha256 must be/.test(err.message) ? await unpinnedSources(root, file).catch(() => []) : [];
      for (const message of unpinned.length ? unpinned : [err.message]) if (!result.problems.includes(message)) result.problems.push(message);
    }
  }
  return results;
}

const SHA256 = /^[0-9a-f]{64}$/i;

/**
 * `<file>: <url> is unpinned: ctx.sha256 is a TODO` for each source of the recipe whose sha256 is
 * not 64 hex digits. Evaluates the chain's top level with no host function reachable, as the
 * loader does.
 */
async function unpinnedSources(root: string, file: string): Promise<string[]> {
  const chain = [];
  const seen = new Set<string>();
  for (let next: string | undefined = file; next && !seen.has(next); ) {
    seen.add(next);
    const recipeFile = parseRecipeFile(next, await readFile(join(root, next), 'utf8'));
    chain.unshift(recipeFile);
    next = extendsOf(recipeFile);
  }
  const engine = new RhaiEngine({
    functions: Object.fromEntries(Object.keys(RECIPE_FUNCTIONS).map((name) => [name, () => { throw new Error(`${name}() at the top level`); }])),
    constants: { BUILD_DIR: SANDBOX_PATHS.build, OUT: SANDBOX_PATHS.out, RECIPE_DIR: SANDBOX_PATHS.recipe, ARCH: 'x86_64', NPROC: 1n },
    maxOperations: 1_000_000,
  });
  for (const f of chain) engine.run(f.program);
  const ctxValue = engine.getGlobal('ctx');
  const ctx = (ctxValue === undefined ? {} : toJs(ctxValue)) as Record<string, unknown>;
  const sources: [string, unknown][] = [];
  if (ctx.url !== undefined || ctx.sha256 !== undefined) sources.push(['ctx', ctx]);
  if (Array.isArray(ctx.sources)) ctx.sources.forEach((s, i) => sources.push([`ctx.sources[${i}]`, s]));
  const out: string[] = [];
  for (const [label, raw] of sources) {
    const s = (raw ?? {}) as Record<string, unknown>;
    if (typeof s.url !== 'string' || (typeof s.sha256 === 'string' && SHA256.test(s.sha256))) continue;
    const value = typeof s.sha256 === 'string' ? s.sha256 : undefined;
    const what = value !== undefined && !/^\s*TODO/i.test(value) ? `: ${JSON.stringify(value.slice(0, 80))} is not 64 hex digits` : '';
    out.push(`${file}: ${s.url} is unpinned: ${label}.sha256 is a TODO${what} (put the sha256 of the file at the url there: sha256sum FILE)`);
  }
  return out;
}
