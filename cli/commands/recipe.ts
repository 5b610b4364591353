// `pipeline recipe new NAME`, `pipeline recipe check [NAME...]`, and the drafts a model fills:
// `pipeline recipe llm REQUEST`, `pipeline recipe draft NAME --from TEXT`. Their arguments,
// options and help are in ../definitions.ts.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { locate, loadBuildConfig } from '../../compile/config.js';
import { findProjectRoot } from '../../compile/variant.js';
import type { DraftBackend } from '../../recipe/llm/draft.js';
import { RECIPES_DIR } from '../../recipe/api.js';
import { checkRecipes, recipeNames } from '../../recipe/check.js';
import { RecipeError } from '../../recipe/load.js';
import { recipeScaffold } from '../../recipe/scaffold.js';
import { EXIT, UsageError, type Command, type ParsedArgs } from '../command.js';

const NAME = /^[a-z0-9][a-z0-9+._-]*$/;
/** Prompt and answer of a draft fit in this many tokens (the model's own context may cap it lower). */
const DRAFT_CONTEXT = 8192;

export const recipeNewCommand: Command = {
  async run(args) {
    const name = args.positionals[0];
    if (!NAME.test(name)) throw new UsageError(`recipe name '${name}' must be lower-case letters, digits and + . _ - (it names recipes/<name>.rhai)`);
    const root = findProjectRoot(process.cwd());
    const file = `${RECIPES_DIR}/${name}.rhai`;
    if (existsSync(join(root, file)) && args.values.force !== true) throw new UsageError(`${file} exists: pass --force to replace it`);
    await mkdir(join(root, RECIPES_DIR), { recursive: true });
    await writeFile(join(root, file), recipeScaffold(name));
    process.stdout.write(`wrote ${file}: fill in the TODOs (version, url, sha256, license), then \`pipeline recipe check ${name}\`\n`);
    return EXIT.ok;
  },
};

export const recipeCheckCommand: Command = {
  async run(args) {
    const root = findProjectRoot(process.cwd());
    const names = args.positionals.length ? args.positionals : recipeNames(root);
    if (names.length === 0) {
      process.stderr.write(`no recipes in ${RECIPES_DIR}/: make one with \`pipeline recipe new NAME\`\n`);
      return EXIT.ok;
    }
    let results;
    try {
      results = await checkRecipes(root, names);
    } catch (err) {
      if (err instanceof RecipeError) throw new UsageError(err.message);
      throw err;
    }
    if (args.values.json) {
      process.stdout.write(
        JSON.stringify(results.map((r) => ({ file: r.file, ok: r.problems.length === 0, name: r.recipe?.name, version: r.recipe?.version, problems: r.problems }))) + '\n',
      );
    } else {
      for (const r of results) {
        if (r.problems.length) {
          for (const p of r.problems) process.stdout.write(`${p}\n`);
        } else if (r.recipe) {
          const sources = r.recipe.sources.length + r.recipe.releaseCalls.length;
          const base = r.recipe.files.length > 1 ? `, extends ${r.recipe.files.slice(0, -1).map((f) => f.path).join(', ')}` : '';
          process.stdout.write(`${r.file}: ok (${r.recipe.name} ${r.recipe.version}, ${sources} source${sources === 1 ? '' : 's'} pinned${base})\n`);
        } else {
          process.stdout.write(`${r.file}: ok (a base: no ctx of its own)\n`);
        }
      }
      const bad = results.filter((r) => r.problems.length).length;
      process.stderr.write(`${results.length} recipe file${results.length === 1 ? '' : 's'} checked, ${bad} with problems\n`);
    }
    return results.some((r) => r.problems.length) ? EXIT.failed : EXIT.ok;
  },
};

export const recipeLlmCommand: Command = {
  async run(args) {
    const request = args.positionals[0];
    if (!request?.trim()) throw new UsageError('say what to package, e.g. pipeline recipe llm "htop 3.3.0, the process viewer"');
    return draftCommand(args, 'recipe llm', request);
  },
};

export const recipeDraftCommand: Command = {
  async run(args) {
    const name = args.positionals[0];
    const from = args.values.from;
    if (typeof from !== 'string' || !from.trim()) throw new UsageError(`--from "<description>" says what recipes/${name}.rhai should build (e.g. --from "htop 3.3.0, the process viewer")`);
    if (!NAME.test(name) || name === 'base') {
      throw new UsageError(`recipe name '${name}' must be lower-case letters, digits and + . _ - (it names recipes/<name>.rhai), and not base`);
    }
    return draftCommand(args, 'recipe draft', from, name);
  },
};

/** --timeout SECONDS in ms, or undefined. */
function timeoutMs(args: ParsedArgs): number | undefined {
  const given = args.values.timeout;
  if (given === undefined) return undefined;
  const seconds = Number(given);
  if (typeof given !== 'string' || !Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout takes a number of seconds, got '${String(given)}'`);
  return Math.round(seconds * 1000);
}

async function draftCommand(args: ParsedArgs, command: string, request: string, name?: string): Promise<number> {
  const root = findProjectRoot(process.cwd());
  const force = args.values.force === true;
  const json = args.values.json === true;
  const modelFile = args.values.model as string | undefined;
  const urlFlag = args.values['llm-url'] as string | undefined;
  if (modelFile !== undefined && urlFlag !== undefined) throw new UsageError('--model runs a local model, --llm-url asks a server: give one of them');
  const timeout = timeoutMs(args);
  const fileOf = (n: string) => `${RECIPES_DIR}/${n}.rhai`;
  if (name && existsSync(join(root, fileOf(name))) && !force) throw new UsageError(`${fileOf(name)} exists: pass --force to replace it`);
  const config = await loadBuildConfig({ root, env: process.env });

  const failed = (message: string, problems: string[] = []): number => {
    if (json) process.stdout.write(JSON.stringify({ ok: false, error: message.split('\n')[0], problems }) + '\n');
    process.stderr.write(`pipeline ${command}: ${message}\nnothing was written\n`);
    return EXIT.failed;
  };

  // The backend: a GGUF model in this process, or a server.
  let backend: DraftBackend;
  let source: string;
  let dispose = async () => {};
  if (modelFile !== undefined) {
    const { generateJson, loadLocalModel } = await import('../../recipe/llm/local-model.js');
    let model;
    try {
      model = await loadLocalModel(resolve(modelFile), { contextSize: DRAFT_CONTEXT });
    } catch (err) {
      return failed((err as Error).message);
    }
    const loaded = model;
    source = `local model ${modelFile}${loaded.name ? ` (${loaded.name})` : ''}`;
    dispose = () => loaded.dispose();
    backend = (p) => generateJson(loaded, { system: p.system, user: p.user, schema: p.schema as never, maxTokens: p.maxTokens, seed: 0 });
  } else {
    const { DEFAULT_LLM_URL, generateJsonRemote } = await import('../../recipe/llm/openai-backend.js');
    const url = urlFlag ?? (process.env.PIPELINE_LLM_URL || undefined) ?? config.llm?.url ?? DEFAULT_LLM_URL;
    const model = (args.values['llm-model'] as string | undefined) ?? config.llm?.model ?? 'default';
    source = `${model} at ${url}`;
    // The schema goes whole: llama-server turns its patterns into a grammar; a server that does
    // not is checked by validateSkeleton, which names a broken pattern in the retry.
    backend = (p) => generateJsonRemote({ url, model, system: p.system, user: p.user, schema: p.schema, maxTokens: p.maxTokens, timeoutMs: timeout, seed: 0, validate: false });
  }

  const { draftRecipe, DraftError, sha256OfUrl } = await import('../../recipe/llm/draft.js');
  const fetchSha256 = async (url: string): Promise<string | undefined> => {
    const real = locate(url, config.mirrors);
    if (!/^https?:\/\//.test(real)) throw new Error(url.startsWith('mirror://') ? `${url}: the mirror has no http(s) location configured` : `${url}: not an http(s) URL`);
    return sha256OfUrl(real, { timeoutMs: timeout ?? 120_000 });
  };
  let draft;
  try {
    draft = await draftRecipe({ request, name, backend, fetchSha256: args.values['no-download'] === true ? undefined : fetchSha256, root });
  } catch (err) {
    if (err instanceof DraftError) return failed(err.message, err.problems);
    return failed((err as Error).message);
  } finally {
    await dispose();
  }

  const file = fileOf(draft.name);
  if (existsSync(join(root, file)) && !force) throw new UsageError(`${file} exists: pass --force to replace it (the draft was not written)`);
  await mkdir(join(root, RECIPES_DIR), { recursive: true });
  await writeFile(join(root, file), draft.text);
  const next = `pipeline recipe check ${draft.name}`;
  if (json) {
    process.stdout.write(
      JSON.stringify({
        ok: true,
        file,
        name: draft.name,
        version: draft.skeleton.version,
        build_system: draft.skeleton.build_system,
        sha256: draft.sha256 ?? null,
        review: draft.review,
        attempts: draft.attempts,
        tokens: draft.tokens,
        ms: Math.round(draft.ms),
        next,
      }) + '\n',
    );
  } else {
    const s = draft.skeleton;
    process.stdout.write(
      [
        `wrote ${file}: ${s.name} ${s.version} (${s.build_system}), drafted by ${source} in ${draft.attempts} attempt${draft.attempts === 1 ? '' : 's'} (${draft.tokens} tokens, ${(draft.ms / 1000).toFixed(1)} s); nothing was built`,
        'review before building:',
        ...draft.review.map((r) => `  - ${r}`),
        `then: ${next}`,
        '',
      ].join('\n'),
    );
  }
  return EXIT.ok;
}
